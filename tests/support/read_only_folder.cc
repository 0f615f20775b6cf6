// A folder child processes cannot write (read_only_folder.h).
#include "read_only_folder.h"

#include <fcntl.h>
#include <grp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>

#include "shared_data.h"

namespace ckptcat::testing {
namespace {

namespace fs = std::filesystem;

constexpr uid_t kReaderId = 65534;  // "nobody" on Debian; only the number matters

bool is_root() { return ::geteuid() == 0; }

// In the child: gives up root for the unprivileged reader. False on failure.
bool become_reader() {
  if (!is_root()) return true;
  return ::setgroups(0, nullptr) == 0 && ::setgid(kReaderId) == 0 && ::setuid(kReaderId) == 0;
}

int wait_for(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// A folder the reader can enter and read, for copies of programs and output.
const fs::path& shared_scratch() {
  static TempDir dir;
  static const bool opened = [] {
    fs::permissions(dir.path(), fs::perms::owner_all | fs::perms::group_read |
                                    fs::perms::group_exec | fs::perms::others_read |
                                    fs::perms::others_exec);
    return true;
  }();
  (void)opened;
  return dir.path();
}

// Runs argv in a child started by `start` (which runs its body in a child
// and returns the exit status), capturing stdout and stderr.
ProgramResult run_program_with(const std::function<int(const std::function<int()>&)>& start,
                               const std::vector<std::string>& argv) {
  static int counter = 0;
  const fs::path out = shared_scratch() / ("out" + std::to_string(counter));
  const fs::path err = shared_scratch() / ("err" + std::to_string(counter++));
  const int out_fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  const int err_fd = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  std::vector<std::string> storage(argv);
  std::vector<char*> args;
  for (auto& s : storage) args.push_back(s.data());
  args.push_back(nullptr);
  ProgramResult r;
  r.exit_code = start([&] {
    const int in_fd = ::open("/dev/null", O_RDONLY);
    if (in_fd < 0 || out_fd < 0 || err_fd < 0 || ::dup2(in_fd, 0) < 0 || ::dup2(out_fd, 1) < 0 ||
        ::dup2(err_fd, 2) < 0)
      return 126;
    ::execvp(args[0], args.data());
    const std::string why = std::string("cannot run ") + args[0] + ": " + std::strerror(errno) + "\n";
    (void)!::write(2, why.data(), why.size());
    return 127;
  });
  if (out_fd >= 0) ::close(out_fd);
  if (err_fd >= 0) ::close(err_fd);
  r.out = read_file(out);
  r.err = read_file(err);
  return r;
}

}  // namespace

ReadOnlyFolder::ReadOnlyFolder(fs::path folder) : folder_(std::move(folder)) {
  std::vector<fs::path> paths{folder_};
  for (const auto& entry : fs::recursive_directory_iterator(folder_)) paths.push_back(entry.path());
  for (const auto& path : paths) {
    const fs::perms mode = fs::status(path).permissions();
    saved_modes_.emplace_back(path, mode);
    const fs::perms write = is_root() ? fs::perms::group_write | fs::perms::others_write
                                      : fs::perms::owner_write | fs::perms::group_write |
                                            fs::perms::others_write;
    // Root: others may read (and enter) but not write; others: nobody writes.
    const fs::perms read = fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read;
    const fs::perms enter = fs::is_directory(path)
                                ? fs::perms::owner_exec | fs::perms::group_exec | fs::perms::others_exec
                                : fs::perms::none;
    fs::permissions(path, ((mode | read | enter) & ~write));
  }
  // Check by trying, as the child: create a file in the folder, open a file for writing.
  const std::string probe = (folder_ / ".write-probe").string();
  const int status = run([&] {
    if (::access(folder_.c_str(), R_OK | X_OK) != 0) return 3;
    const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd >= 0) {
      ::close(fd);
      ::unlink(probe.c_str());
      return 4;
    }
    return 0;
  });
  switch (status) {
    case 0: break;
    case 2: unavailable_ = "cannot switch to an unprivileged user (uid 65534) to read as"; break;
    case 3: unavailable_ = "the unprivileged reader cannot enter " + folder_.string(); break;
    case 4: unavailable_ = "the folder " + folder_.string() + " stays writable for a reader"; break;
    default: unavailable_ = "the probe process failed (status " + std::to_string(status) + ")";
  }
}

ReadOnlyFolder::~ReadOnlyFolder() {
  std::error_code ec;
  for (const auto& [path, mode] : saved_modes_) fs::permissions(path, mode, ec);
}

int ReadOnlyFolder::run(const std::function<int()>& body) const {
  const pid_t pid = ::fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    if (!become_reader()) ::_exit(2);
    ::_exit(body());
  }
  return wait_for(pid);
}


ProgramResult run_program(const std::vector<std::string>& argv) {
  return run_program_with(
      [](const std::function<int()>& body) {
        const pid_t pid = ::fork();
        if (pid < 0) return -1;
        if (pid == 0) ::_exit(body());
        return wait_for(pid);
      },
      argv);
}

ProgramResult ReadOnlyFolder::run_program(const std::vector<std::string>& argv) const {
  return run_program_with([this](const std::function<int()>& body) { return run(body); }, argv);
}

std::string ReadOnlyFolder::runnable_copy(const std::string& program) {
  static std::map<std::string, std::string> copies;
  auto [it, added] = copies.emplace(program, "");
  if (added) {
    const fs::path copy = shared_scratch() / ("program" + std::to_string(copies.size()) + "-" +
                                              fs::path(program).filename().string());
    fs::copy_file(program, copy);
    fs::permissions(copy, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                              fs::perms::others_read | fs::perms::others_exec);
    it->second = copy.string();
  }
  return it->second;
}

bool ReadOnlyFolder::skip_cases() const {
  if (unavailable_.empty()) return false;
  std::fprintf(stderr, "SKIP: no folder a reader cannot write here: %s\n", unavailable_.c_str());
  return true;
}

}  // namespace ckptcat::testing
