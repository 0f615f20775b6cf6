// A child process the robustness tests can signal: the ckptcat binary
// ($CKPTCAT_BIN, set by tests/robustness/meson.build) started with its output
// going to files, then killed or waited for.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace ckptcat::testing {

// $CKPTCAT_BIN; the test fails (exit 1) with a message when it is unset.
std::filesystem::path ckptcat_binary();

class ChildProcess {
 public:
  // Starts `program args...` with stdin /dev/null and stdout/stderr into
  // `output_prefix`.out / .err.
  ChildProcess(const std::filesystem::path& program, const std::vector<std::string>& args,
               const std::filesystem::path& output_prefix);
  ~ChildProcess();  // kills (SIGKILL) and reaps a child still running
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  // The exit status once the child has ended (128 + signal when killed),
  // nullopt while it runs.
  std::optional<int> poll();
  int wait();
  void kill(int signal);
  std::string out() const;
  std::string err() const;

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
  std::filesystem::path out_, err_;
};

// Runs `ckptcat args...` to completion; returns the exit status and fills
// `out` / `err` when given.
int run_ckptcat(const std::vector<std::string>& args, std::string* out = nullptr,
                std::string* err = nullptr);

}  // namespace ckptcat::testing
