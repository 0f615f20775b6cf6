// A folder that child processes cannot write, as on a read-only share, for
// tests of reading a catalog there. Permission bits do not stop root
// (CAP_DAC_OVERRIDE), and tests run as root in CI, so as root the children
// run as an unprivileged user (uid and gid 65534, "nobody") and the folder and
// its files are made readable but not writable by others; as any other user
// the folder and its files lose their write bits while the object lives.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace ckptcat::testing {

struct ProgramResult {
  int exit_code = -1;  // the exit status; 128 + signal when killed
  std::string out;
  std::string err;
};

// Runs a program (argv[0] found on $PATH when it has no '/') as the test's own
// user, capturing its stdout and stderr; stdin is /dev/null.
ProgramResult run_program(const std::vector<std::string>& argv);

class ReadOnlyFolder {
 public:
  explicit ReadOnlyFolder(std::filesystem::path folder);
  ~ReadOnlyFolder();  // gives the folder and its files their modes back
  ReadOnlyFolder(const ReadOnlyFolder&) = delete;
  ReadOnlyFolder& operator=(const ReadOnlyFolder&) = delete;

  // "" when a child truly cannot write the folder (checked by trying), else
  // why not: tests skip their read-only cases with this message.
  const std::string& unavailable() const { return unavailable_; }
  // Whether a test must skip its read-only cases: true, after a "SKIP:" line
  // on stderr saying why, when unavailable() is not empty.
  bool skip_cases() const;

  // Runs `body` in a child process without write access to the folder and
  // returns its exit status (what body returned; 128 + signal when killed).
  int run(const std::function<int()>& body) const;

  // run_program() in such a child.
  ProgramResult run_program(const std::vector<std::string>& argv) const;

  // A copy of the executable `program` that the child can run (the original
  // may lie below a folder only root can enter); made once per program.
  static std::string runnable_copy(const std::string& program);

 private:
  std::filesystem::path folder_;
  std::vector<std::pair<std::filesystem::path, std::filesystem::perms>> saved_modes_;
  std::string unavailable_;
};

}  // namespace ckptcat::testing
