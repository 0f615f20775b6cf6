#include "child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "shared_data.h"

namespace ckptcat::testing {

std::filesystem::path ckptcat_binary() {
  const char* bin = std::getenv("CKPTCAT_BIN");
  if (bin == nullptr || *bin == '\0') {
    std::fprintf(stderr, "CKPTCAT_BIN is not set (meson sets it to the built ckptcat)\n");
    std::exit(1);
  }
  return bin;
}

ChildProcess::ChildProcess(const std::filesystem::path& program,
                           const std::vector<std::string>& args,
                           const std::filesystem::path& output_prefix)
    : out_(output_prefix.string() + ".out"), err_(output_prefix.string() + ".err") {
  std::vector<std::string> argv_storage{program.string()};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_ = ::fork();
  if (pid_ < 0) {
    std::perror("fork");
    std::exit(1);
  }
  if (pid_ == 0) {
    const int in = ::open("/dev/null", O_RDONLY);
    const int out = ::open(out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = ::open(err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || out < 0 || err < 0) ::_exit(126);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
}

ChildProcess::~ChildProcess() {
  if (!status_) {
    kill(SIGKILL);
    wait();
  }
}

namespace {
int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}
}  // namespace

std::optional<int> ChildProcess::poll() {
  if (status_) return status_;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) status_ = decode_status(status);
  return status_;
}

int ChildProcess::wait() {
  if (status_) return *status_;
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0) {
  }
  status_ = decode_status(status);
  return *status_;
}

void ChildProcess::kill(int signal) {
  if (!status_) ::kill(pid_, signal);
}

std::string ChildProcess::out() const { return read_file(out_); }
std::string ChildProcess::err() const { return read_file(err_); }

int run_ckptcat(const std::vector<std::string>& args, std::string* out, std::string* err) {
  TempDir tmp;
  ChildProcess child(ckptcat_binary(), args, tmp.path() / "ckptcat");
  const int status = child.wait();
  if (out) *out = child.out();
  if (err) *err = child.err();
  return status;
}

}  // namespace ckptcat::testing
