// libpq wrappers (connection.h).
#include "connection.h"

#include <charconv>
#include <cstdlib>
#include <vector>

namespace ckptcat::pg {
namespace {

// libpq's messages on one line: "...failed: Connection refused\n\tIs the
// server running..." becomes "...failed: Connection refused; Is the server...".
std::string trimmed(const std::string& text) {
  std::string out;
  for (char ch : text) {
    if (ch == '\n') out += "; ";
    else if (ch != '\t') out += ch;
  }
  while (!out.empty() && (out.back() == ' ' || out.back() == ';')) out.pop_back();
  return out;
}

// "database D on H as U" from the parsed connection string (and PG* variables),
// never including the password.
std::string describe(const std::string& conninfo) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
  if (!options) {
    std::string message = error ? trimmed(error) : "cannot parse it";
    PQfreemem(error);
    throw PgError("invalid PostgreSQL connection string: " + message, "", "");
  }
  std::string dbname, host, port, user;
  for (PQconninfoOption* o = options; o->keyword; ++o) {
    const std::string keyword = o->keyword;
    const char* value = o->val ? o->val : o->envvar ? std::getenv(o->envvar) : nullptr;
    if (!value) continue;
    if (keyword == "dbname") dbname = value;
    else if (keyword == "host" || (keyword == "hostaddr" && host.empty())) host = value;
    else if (keyword == "port") port = value;
    else if (keyword == "user") user = value;
  }
  PQconninfoFree(options);
  std::string out = "PostgreSQL database " + (dbname.empty() ? std::string("(default)") : dbname);
  out += " on " + (host.empty() ? std::string("the default socket") : host);
  if (!port.empty()) out += ":" + port;
  if (!user.empty()) out += " as " + user;
  return out;
}

}  // namespace

int64_t Result::int64(int row, int column) const {
  const std::string_view t = text(row, column);
  int64_t value = 0;
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), value);
  if (ec != std::errc() || end != t.data() + t.size())
    throw Error(Error::Code::kCatalog, "PostgreSQL returned \"" + std::string(t) +
                                           "\" where an integer was expected");
  return value;
}

uint64_t Result::affected() const {
  const char* n = PQcmdTuples(r_.get());
  return n && *n ? std::stoull(n) : 0;
}

bool is_postgres_uri(std::string_view text) noexcept {
  return text.starts_with("postgresql://") || text.starts_with("postgres://");
}

Connection::Connection(const std::string& conninfo) : target_(describe(conninfo)) {
  conn_.reset(PQconnectdb(conninfo.c_str()));
  if (!conn_) throw PgError("cannot connect: out of memory", "", target_);
  if (PQstatus(conn_.get()) != CONNECTION_OK)
    throw PgError("cannot connect: " + trimmed(PQerrorMessage(conn_.get())), "", target_);
  // Messages in a stable form; no NOTICE chatter on stderr.
  PQsetNoticeProcessor(conn_.get(), [](void*, const char*) {}, nullptr);
  exec("SET client_encoding = 'UTF8'; SET client_min_messages = warning", "setting up the session");
}

void Connection::fail(const PGresult* result, const char* what) {
  std::string message = result ? PQresultErrorMessage(result) : "";
  if (message.empty()) message = PQerrorMessage(conn_.get());
  const char* state = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  throw PgError(std::string(what) + ": " + trimmed(message), state ? state : "", target_);
}

Result Connection::exec(const std::string& sql, const char* what) {
  Result result(PQexec(conn_.get(), sql.c_str()));
  const auto status = PQresultStatus(result.get());
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) fail(result.get(), what);
  return result;
}

Result Connection::exec_params(const std::string& sql,
                               std::initializer_list<std::optional<std::string>> params,
                               const char* what) {
  std::vector<const char*> values;
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  Result result(PQexecParams(conn_.get(), sql.c_str(), static_cast<int>(values.size()), nullptr,
                             values.data(), nullptr, nullptr, 0));
  const auto status = PQresultStatus(result.get());
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) fail(result.get(), what);
  return result;
}

std::string Connection::quote_literal(std::string_view text) {
  char* quoted = PQescapeLiteral(conn_.get(), text.data(), text.size());
  if (!quoted) fail(nullptr, "quoting a value");
  std::string out(quoted);
  PQfreemem(quoted);
  return out;
}

Connection::Copy::Copy(Connection& connection, const std::string& copy_sql, const char* what)
    : connection_(connection), what_(what) {
  Result result(PQexec(connection_.get(), copy_sql.c_str()));
  if (PQresultStatus(result.get()) != PGRES_COPY_IN) {
    open_ = false;
    connection_.fail(result.get(), what_);
  }
  buffer_.reserve(kFlushBytes + 4096);
}

Connection::Copy::~Copy() {
  if (!open_) return;
  PQputCopyEnd(connection_.get(), "cancelled by ckptcat");
  while (PGresult* r = PQgetResult(connection_.get())) PQclear(r);
}

void Connection::Copy::field(std::string_view text) {
  if (!first_in_row_) buffer_ += '\t';
  first_in_row_ = false;
  for (char ch : text) {
    switch (ch) {
      case '\\': buffer_ += "\\\\"; break;
      case '\t': buffer_ += "\\t"; break;
      case '\n': buffer_ += "\\n"; break;
      case '\r': buffer_ += "\\r"; break;
      default: buffer_ += ch;
    }
  }
}

void Connection::Copy::null() {
  if (!first_in_row_) buffer_ += '\t';
  first_in_row_ = false;
  buffer_ += "\\N";
}

void Connection::Copy::end_row() {
  buffer_ += '\n';
  first_in_row_ = true;
  if (buffer_.size() >= kFlushBytes) flush();
}

void Connection::Copy::flush() {
  if (buffer_.empty()) return;
  if (PQputCopyData(connection_.get(), buffer_.data(), static_cast<int>(buffer_.size())) != 1) {
    open_ = false;
    connection_.fail(nullptr, what_);
  }
  buffer_.clear();
}

uint64_t Connection::Copy::finish() {
  flush();
  open_ = false;
  if (PQputCopyEnd(connection_.get(), nullptr) != 1) connection_.fail(nullptr, what_);
  Result result(PQgetResult(connection_.get()));
  while (PGresult* r = PQgetResult(connection_.get())) PQclear(r);
  if (PQresultStatus(result.get()) != PGRES_COMMAND_OK) connection_.fail(result.get(), what_);
  return result.affected();
}

}  // namespace ckptcat::pg
