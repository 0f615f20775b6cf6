// Test PostgreSQL server (pg_server.h).
#include "pg_server.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "connection.h"

namespace ckptcat::testing {
namespace fs = std::filesystem;
namespace {

// The account the server runs as: postgres (or nobody) when we are root.
const passwd* server_account() {
  if (geteuid() != 0) return nullptr;
  if (const passwd* pw = getpwnam("postgres")) return pw;
  return getpwnam("nobody");
}

// Runs `argv` (as the server account when root), output into `log`; returns
// the exit status.
int run_as_server(const std::vector<std::string>& argv, const fs::path& log) {
  const passwd* account = server_account();
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    // Privileges first: the log must belong to the server's account.
    if (account && (setgroups(0, nullptr) != 0 || setgid(account->pw_gid) != 0 ||
                    setuid(account->pw_uid) != 0))
      _exit(126);
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    const int null = open("/dev/null", O_RDONLY);
    if (null >= 0) dup2(null, 0);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string slurp(const fs::path& file) {
  std::ifstream in(file);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

fs::path pg_bin_dir() {
  const char* env = std::getenv("CKPTCAT_PG_BIN");
  return env && *env ? fs::path(env) : fs::path("/usr/lib/postgresql/15/bin");
}

PgServer::PgServer(const fs::path& bin_dir) : bin_dir_(bin_dir) {
  char pattern[] = "/tmp/ckptcat-pg-XXXXXX";  // short: a socket path has ~100 bytes
  if (!mkdtemp(pattern)) throw std::runtime_error("cannot create a temporary folder");
  dir_ = pattern;
  if (const passwd* account = server_account())
    if (chown(dir_.c_str(), account->pw_uid, account->pw_gid) != 0)
      throw std::runtime_error("cannot hand " + dir_.string() + " to user " + account->pw_name);
  const fs::path log = dir_ / "server.log";
  if (run_as_server({(bin_dir_ / "initdb").string(), "-D", (dir_ / "data").string(), "-A",
                     "trust", "-U", "ckptcat", "-E", "UTF8", "--locale=C", "--no-sync",
                     "--no-instructions"},
                    log) != 0)
    throw std::runtime_error("initdb failed:\n" + slurp(log));
  const std::string options = "-c listen_addresses='' -c unix_socket_directories='" +
                              dir_.string() +
                              "' -c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                              "-c max_connections=40 -c shared_buffers=64MB";
  if (run_as_server({(bin_dir_ / "pg_ctl").string(), "-D", (dir_ / "data").string(), "-l",
                     log.string(), "-o", options, "-w", "-t", "60", "start"},
                    log) != 0)
    throw std::runtime_error("pg_ctl start failed:\n" + slurp(log));
  running_ = true;
}

PgServer::~PgServer() {
  if (running_)
    run_as_server({(bin_dir_ / "pg_ctl").string(), "-D", (dir_ / "data").string(), "-m",
                   "immediate", "-w", "stop"},
                  dir_ / "server.log");
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

std::string PgServer::conninfo(const std::string& dbname) const {
  return "host=" + dir_.string() + " dbname=" + dbname + " user=ckptcat";
}

std::string PgServer::create_database() {
  const std::string name = "case" + std::to_string(++databases_);
  pg::Connection admin(conninfo("postgres"));
  admin.exec("CREATE DATABASE " + name, "creating a test database");
  return conninfo(name);
}

namespace {
std::string missing;  // why there is no server
}

const std::string& pg_skip_reason() { return missing; }

PgServer* pg_server_or_skip() {
  static std::unique_ptr<PgServer> server;
  if (!server && missing.empty()) {
    const fs::path bin = pg_bin_dir();
    if (!fs::exists(bin / "initdb") || !fs::exists(bin / "pg_ctl"))
      missing = "PostgreSQL server binaries not found in " + bin.string() +
                " (install postgresql-15, or set CKPTCAT_PG_BIN): case skipped";
    else
      server = std::make_unique<PgServer>(bin);
  }
  if (!server) {
    std::cerr << "SKIP: " << missing << '\n';
    return nullptr;
  }
  return server.get();
}

}  // namespace ckptcat::testing
