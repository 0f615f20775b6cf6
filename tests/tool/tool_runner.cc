// Child-process runner for the tool tests (tool_runner.h).
#include "tool_runner.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <regex>
#include <sstream>
#include <stdexcept>

#include "shared_data.h"

extern char** environ;

namespace ckptcat::testing {
namespace {

std::string tool_path() {
  const char* bin = std::getenv("CKPTCAT_BIN");
  if (!bin || !*bin) throw std::runtime_error("CKPTCAT_BIN is not set (run through meson test)");
  return bin;
}

// Where captured output goes: one TempDir for the test program.
const std::filesystem::path& capture_dir() {
  static TempDir dir;
  return dir.path();
}

}  // namespace

ToolProcess::ToolProcess(const std::vector<std::string>& args, bool stderr_tty) {
  static std::atomic<int> counter{0};
  const int n = counter++;
  out_ = capture_dir() / ("out" + std::to_string(n));
  err_ = capture_dir() / ("err" + std::to_string(n));
  const std::string bin = tool_path();
  std::vector<std::string> storage{bin};
  storage.insert(storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : storage) argv.push_back(s.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (stderr_tty) {
    tty_master_ = posix_openpt(O_RDWR | O_NOCTTY);
    if (tty_master_ < 0 || grantpt(tty_master_) != 0 || unlockpt(tty_master_) != 0)
      throw std::runtime_error("cannot open a pseudo-terminal");
    posix_spawn_file_actions_addopen(&actions, 2, ptsname(tty_master_), O_RDWR | O_NOCTTY, 0);
  } else {
    posix_spawn_file_actions_addopen(&actions, 2, err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  }
  const int rc = posix_spawn(&pid_, bin.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot start " + bin + ": " + std::strerror(rc));
}

ToolProcess::~ToolProcess() {
  if (pid_ > 0) finish();
}

ToolResult ToolProcess::finish() {
  ToolResult r;
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = read_file(out_);
  if (tty_master_ >= 0) {
    // The child is gone: read what it left in the terminal, without blocking.
    fcntl(tty_master_, F_SETFL, O_NONBLOCK);
    char buf[4096];
    for (ssize_t n; (n = read(tty_master_, buf, sizeof buf)) > 0;) r.err.append(buf, static_cast<size_t>(n));
    close(tty_master_);
    tty_master_ = -1;
  } else {
    r.err = read_file(err_);
  }
  return r;
}

ToolResult run_tool(const std::vector<std::string>& args) { return ToolProcess(args).finish(); }

ToolResult run_tool_stderr_tty(const std::vector<std::string>& args) {
  return ToolProcess(args, /*stderr_tty=*/true).finish();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

bool has_line(const std::string& text, const std::string& pattern) {
  const std::regex re(pattern);
  for (const auto& line : lines_of(text))
    if (std::regex_search(line, re)) return true;
  return false;
}

long number_before(const std::string& text, const std::string& word) {
  std::smatch m;
  if (!std::regex_search(text, m, std::regex("([0-9][0-9,]*) " + word))) return -1;
  std::string digits = m[1].str();
  std::erase(digits, ',');
  return std::stol(digits);
}

}  // namespace ckptcat::testing
