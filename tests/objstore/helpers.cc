#include "helpers.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <stdexcept>
#include <thread>

namespace ckptcat::testing {
namespace fs = std::filesystem;
namespace {

std::string env_or(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}

std::vector<char*> c_args(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  return args;
}

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

fs::path s3_dir() { return env_or("CKPTCAT_S3_DIR", "tests/s3"); }

ProcessResult run_process(const std::vector<std::string>& argv, const std::string& input) {
  int to_child[2], from_child[2];
  if (pipe2(to_child, O_CLOEXEC) != 0 || pipe2(from_child, O_CLOEXEC) != 0)
    throw std::runtime_error("pipe failed");
  auto args = c_args(argv);
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    dup2(to_child[0], 0);
    dup2(from_child[1], 1);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(to_child[0]);
  close(from_child[1]);
  // Inputs are small (a JSON request): they fit the pipe's buffer.
  signal(SIGPIPE, SIG_IGN);
  if (!input.empty() && write(to_child[1], input.data(), input.size()) < 0) {
    // The child exited early; its status says why.
  }
  close(to_child[1]);
  ProcessResult result;
  char buffer[4096];
  ssize_t got;
  while ((got = read(from_child[0], buffer, sizeof buffer)) > 0) result.out.append(buffer, got);
  close(from_child[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  result.status = decode_status(status);
  return result;
}

std::optional<std::string> python_with_boto3(std::string* why) {
  const std::string python = env_or("CKPTCAT_PYTHON", "python3");
  const auto probe = run_process({python, "-c", "import boto3, botocore"});
  if (probe.status != 0) {
    if (why) *why = python + " cannot import boto3 and botocore (tools/bootstrap installs python3-boto3)";
    return std::nullopt;
  }
  return python;
}

void skip_case(const std::string& what, const std::string& why) {
  std::cerr << "SKIP: " << what << ": " << why << "\n";
}

std::optional<std::string> S3rver::unavailable() {
  if (!fs::exists(s3_dir() / "node_modules" / ".bin" / "s3rver"))
    return "no s3rver in " + (s3_dir() / "node_modules").string() + " (tools/bootstrap runs npm ci there)";
  if (run_process({"node", "--version"}).status != 0) return "node is not installed";
  std::string why;
  if (!python_with_boto3(&why)) return why;
  return std::nullopt;
}

S3rver::S3rver(const std::vector<std::string>& buckets) {
  const fs::path log = data_dir_.path() / "server.log";
  // Created here, so that it can be read before the server writes to it.
  const int out = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (out < 0) throw std::runtime_error("cannot create " + log.string());
  std::vector<std::string> argv = {(s3_dir() / "node_modules" / ".bin" / "s3rver").string(),
                                   "-d", (data_dir_.path() / "data").string(), "-a", "127.0.0.1", "-p", "0"};
  for (const auto& bucket : buckets) {
    argv.push_back("--configure-bucket");
    argv.push_back(bucket);
  }
  auto args = c_args(argv);
  pid_ = fork();
  if (pid_ < 0) {
    close(out);
    throw std::runtime_error("fork failed");
  }
  if (pid_ == 0) {
    // Paged listings need the legacy provider (s3rver's continuation tokens).
    setenv("NODE_OPTIONS", "--openssl-legacy-provider", 1);
    dup2(out, 1);
    dup2(out, 2);
    const int null = open("/dev/null", O_RDONLY);
    dup2(null, 0);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(out);
  // data_dir_ (a TempDir) is removed as the constructor throws.
  auto give_up = [&](const std::string& why) {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    throw std::runtime_error(why);
  };
  // s3rver prints "S3rver listening on 127.0.0.1:PORT" once it accepts.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    const std::string text = read_file(log);
    const std::string marker = "listening on 127.0.0.1:";
    if (auto at = text.find(marker); at != std::string::npos) {
      port_ = std::atoi(text.c_str() + at + marker.size());
      if (port_ > 0) return;
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      give_up("s3rver exited at start: " + text);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  give_up("s3rver did not start within 30 s");
}

S3rver::~S3rver() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
}

void S3rver::upload(const fs::path& folder, const std::string& bucket, const std::string& prefix,
                    bool folder_markers) const {
  std::string why;
  const auto python = python_with_boto3(&why);
  if (!python) throw std::runtime_error(why);
  std::vector<std::string> argv = {*python, (s3_dir() / "upload.py").string(), endpoint(), bucket,
                                   folder.string(), prefix};
  if (folder_markers) argv.push_back("--folder-markers");
  const auto result = run_process(argv);
  if (result.status != 0) throw std::runtime_error("upload.py failed with status " + std::to_string(result.status));
}

}  // namespace ckptcat::testing
