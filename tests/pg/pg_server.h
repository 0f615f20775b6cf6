// A real PostgreSQL server for tests: initdb into a temporary folder, started
// with a unix socket only (listen_addresses = ''), fsync off. Run as root (CI),
// the server runs as the unprivileged "postgres" user (else "nobody"); run as
// anyone else, as that user. One server per test program, started on first
// use and stopped (immediate mode) when the program ends.
//
//   PgServer* server = pg_server_or_skip();   // nullptr: the case is skipped
//   if (!server) return;
//   std::string db = server->create_database();   // a fresh database per case
#pragma once

#include <filesystem>
#include <memory>
#include <string>

namespace ckptcat::testing {

class PgServer {
 public:
  // Throws std::runtime_error when the binaries are there but the server
  // fails to start (with the server's log).
  explicit PgServer(const std::filesystem::path& bin_dir);
  ~PgServer();
  PgServer(const PgServer&) = delete;
  PgServer& operator=(const PgServer&) = delete;

  // "host=<socket folder> dbname=<name> user=ckptcat".
  std::string conninfo(const std::string& dbname) const;
  // Creates a new empty database and returns its conninfo.
  std::string create_database();
  const std::filesystem::path& socket_dir() const { return dir_; }

 private:
  std::filesystem::path bin_dir_, dir_;
  int databases_ = 0;
  bool running_ = false;
};

// Where the server binaries are: $CKPTCAT_PG_BIN, else /usr/lib/postgresql/15/bin.
std::filesystem::path pg_bin_dir();

// The program's server, started on first call; nullptr (after printing why
// on stderr) when initdb / pg_ctl are missing; pg_skip_reason() says why.
PgServer* pg_server_or_skip();
const std::string& pg_skip_reason();

// In a doctest case: the server, or the case ends here, skipped with a message.
#define CKPTCAT_PG_SERVER_OR_SKIP(var)                            \
  ::ckptcat::testing::PgServer* var = ::ckptcat::testing::pg_server_or_skip(); \
  if (!var) {                                                     \
    MESSAGE("SKIP: " << ::ckptcat::testing::pg_skip_reason());    \
    return;                                                       \
  }

}  // namespace ckptcat::testing
