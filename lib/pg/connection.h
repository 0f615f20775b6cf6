// Plain libpq, wrapped: a connection, query results and COPY FROM STDIN, each
// an RAII handle; every failure is a PgError (a ckptcat::Error of code
// kCatalog) carrying the server's message and SQLSTATE. The connection string
// is never repeated in messages (it may hold a password): errors name the
// target as "database D on H as U" instead.
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "ckptcat/error.h"

namespace ckptcat::pg {

class PgError : public Error {
 public:
  PgError(std::string message, std::string sqlstate, std::string target)
      : Error(Code::kCatalog, std::move(message), std::move(target)),
        sqlstate_(std::move(sqlstate)) {}
  // Five-character SQLSTATE ("40P01"), or "" for client-side failures.
  const std::string& sqlstate() const noexcept { return sqlstate_; }
  // Deadlock or serialization failure: the transaction may simply be retried.
  bool retryable() const noexcept { return sqlstate_ == "40P01" || sqlstate_ == "40001"; }

 private:
  std::string sqlstate_;
};

struct ResultDeleter {
  void operator()(PGresult* r) const noexcept { PQclear(r); }
};

class Result {
 public:
  explicit Result(PGresult* r) : r_(r) {}
  int rows() const { return PQntuples(r_.get()); }
  int columns() const { return PQnfields(r_.get()); }
  bool is_null(int row, int column) const { return PQgetisnull(r_.get(), row, column) != 0; }
  std::string_view text(int row, int column) const {
    return {PQgetvalue(r_.get(), row, column),
            static_cast<size_t>(PQgetlength(r_.get(), row, column))};
  }
  int64_t int64(int row, int column) const;
  // Rows a command touched (INSERT, DELETE, ...), 0 for others.
  uint64_t affected() const;
  PGresult* get() const noexcept { return r_.get(); }

 private:
  std::unique_ptr<PGresult, ResultDeleter> r_;
};

class Connection {
 public:
  class Copy;
  // `conninfo`: a postgresql:// URI or "key=value ..." string; unset fields
  // come from the PG* environment variables, as in psql.
  explicit Connection(const std::string& conninfo);
  Connection(Connection&&) noexcept = default;
  Connection& operator=(Connection&&) noexcept = default;

  // "database D on H as U": names the server in messages, without secrets.
  const std::string& target() const noexcept { return target_; }

  // Runs one or more statements; throws PgError on failure.
  Result exec(const std::string& sql, const char* what);
  // One statement with text parameters ($1, $2, ...; nullopt is NULL).
  Result exec_params(const std::string& sql, std::initializer_list<std::optional<std::string>> params,
                     const char* what);
  std::string quote_literal(std::string_view text);

  PGconn* get() const noexcept { return conn_.get(); }

 private:
  friend class Copy;
  [[noreturn]] void fail(const PGresult* result, const char* what);
  struct ConnDeleter {
    void operator()(PGconn* c) const noexcept { PQfinish(c); }
  };
  std::unique_ptr<PGconn, ConnDeleter> conn_;
  std::string target_;
};

// Rows for COPY ... FROM STDIN (text format), buffered and sent in large
// pieces. field() escapes backslash, tab, newline and carriage return.
class Connection::Copy {
 public:
  Copy(Connection& connection, const std::string& copy_sql, const char* what);
  ~Copy();  // an unfinished COPY is cancelled (the transaction then fails)
  Copy(const Copy&) = delete;
  Copy& operator=(const Copy&) = delete;

  void field(std::string_view text);
  void null();
  void end_row();
  // Sends the rest and ends the COPY; returns the rows the server stored.
  uint64_t finish();

 private:
  static constexpr size_t kFlushBytes = 1 << 20;
  void flush();
  Connection& connection_;
  const char* what_;
  std::string buffer_;
  bool first_in_row_ = true;
  bool open_ = true;
};

// Whether `text` names a PostgreSQL database rather than a SQLite file: a
// postgresql:// or postgres:// URI.
bool is_postgres_uri(std::string_view text) noexcept;

}  // namespace ckptcat::pg
