// Runs the built ckptcat binary ($CKPTCAT_BIN, set by tests/tool/meson.build)
// as a child process and captures its exit code, stdout and stderr.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

namespace ckptcat::testing {

struct ToolResult {
  int exit_code = -1;  // the exit status; 128 + signal when killed
  std::string out;
  std::string err;
};

// Runs `ckptcat args...` to completion (stdin is /dev/null).
ToolResult run_tool(const std::vector<std::string>& args);

// The same with stderr on a pseudo-terminal (what a user at a terminal sees).
ToolResult run_tool_stderr_tty(const std::vector<std::string>& args);

// Starts `ckptcat args...` without waiting; finish() waits and collects.
class ToolProcess {
 public:
  // `stderr_tty`: stderr is a pseudo-terminal instead of a file.
  explicit ToolProcess(const std::vector<std::string>& args, bool stderr_tty = false);
  ~ToolProcess();
  ToolProcess(const ToolProcess&) = delete;
  ToolProcess& operator=(const ToolProcess&) = delete;
  ToolResult finish();

 private:
  pid_t pid_ = -1;
  int tty_master_ = -1;
  std::filesystem::path out_, err_;
};

// Lines of a text, without their newlines (a last empty line is dropped).
std::vector<std::string> lines_of(const std::string& text);

// Whether some line of `text` matches the ECMAScript regex `pattern` (searched,
// not anchored: use ^ and $).
bool has_line(const std::string& text, const std::string& pattern);

// The number written before `word` in `text`, commas dropped ("1,200 GETs"
// gives 1200 for "GETs"); -1 when there is none.
long number_before(const std::string& text, const std::string& word);

}  // namespace ckptcat::testing
