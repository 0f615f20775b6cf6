// How a catalog file is opened (connection.h).
//
// A WAL database is read through its WAL index, the `-shm` file beside it,
// which even a read-only connection must create when it is absent. In a
// folder the reader cannot write (a read-only share) that fails with
// SQLITE_READONLY_DIRECTORY (or SQLITE_CANTOPEN when a `-wal` is there), on
// the first statement, not at open. SQLite's `immutable=1` URI parameter reads
// the main file alone, without locks or WAL index: right for a catalog nobody
// writes meanwhile, wrong when a `-wal` holds committed changes (they would be
// silently missing), so that case is refused instead.
#include "connection.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <sqlite3.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cctype>
#include <filesystem>
#include <fstream>

#include "ckptcat/error.h"

namespace ckptcat::catalog_detail {
namespace {

namespace fs = std::filesystem;

// True when the file header says WAL (file format read and write versions 2).
bool has_wal_header(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::array<char, 20> header{};
  if (!in.read(header.data(), header.size())) return false;
  return header[18] == 2 && header[19] == 2;
}

// "file:///abs/path?immutable=1", the path percent-encoded (it may hold '?',
// '#' or '%', which a URI would otherwise take as its own).
std::string immutable_uri(const std::string& path) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string uri = "file://";
  for (unsigned char c : fs::absolute(path).lexically_normal().string()) {
    if (std::isalnum(c) || c == '/' || c == '.' || c == '_' || c == '-' || c == '~') {
      uri += static_cast<char>(c);
    } else {
      uri += '%';
      uri += kHex[c >> 4];
      uri += kHex[c & 15];
    }
  }
  return uri + "?immutable=1";
}

bool denied(const char* path) {
  return ::access(path, W_OK) != 0 && (errno == EACCES || errno == EPERM || errno == EROFS);
}

// Why `path` cannot be written (file or folder not writable), or "".
std::string why_not_writable(const std::string& path) {
  if (denied(path.c_str())) return "the catalog file is read-only";
  std::error_code ec;
  const fs::path folder = fs::absolute(path, ec).parent_path();
  if (ec) return "";
  if (!fs::exists(folder, ec)) return "its folder " + folder.string() + " does not exist";
  if (denied(folder.c_str()))
    return "its folder " + folder.string() +
           " is read-only (SQLite writes its -wal and -shm files beside the catalog)";
  return "";
}

SQLite::Database open_read_only(const std::string& path, const CatalogOptions& options,
                                CatalogAccess& access) {
  SQLite::Database db(path, SQLite::OPEN_READONLY | SQLite::OPEN_NOMUTEX,
                      options.busy_timeout_ms);
  try {
    db.execAndGet("SELECT count(*) FROM sqlite_schema");  // reads the WAL index, if any
    access = CatalogAccess::kReadOnly;
    return db;
  } catch (const SQLite::Exception& e) {
    const int code = e.getErrorCode() & 0xff;
    if ((code != SQLITE_READONLY && code != SQLITE_CANTOPEN) || !has_wal_header(path)) throw;
  }
  std::error_code ec;
  const std::string wal = path + "-wal";
  if (const auto wal_bytes = fs::file_size(wal, ec); !ec && wal_bytes > 0)
    throw Error(Error::Code::kCatalog,
                "cannot read the catalog: " + wal + " holds changes not yet in the catalog file, "
                "and SQLite can read them only where it can create " + path +
                "-shm (the folder is read-only); copy " + path +
                "-shm along with it, or share a copy made by `ckptcat publish`",
                path);
  SQLite::Database immutable(immutable_uri(path),
                             SQLite::OPEN_READONLY | SQLite::OPEN_URI | SQLite::OPEN_NOMUTEX,
                             options.busy_timeout_ms);
  immutable.execAndGet("SELECT count(*) FROM sqlite_schema");
  access = CatalogAccess::kImmutable;
  return immutable;
}

}  // namespace

SQLite::Database open_connection(const std::string& path, const CatalogOptions& options,
                                 CatalogAccess& access) {
  if (options.read_only) return open_read_only(path, options, access);
  if (path != ":memory:" && !path.empty()) {
    if (const std::string why = why_not_writable(path); !why.empty())
      throw Error(Error::Code::kCatalog, "cannot write to the catalog: " + why, path);
  }
  access = CatalogAccess::kReadWrite;
  return SQLite::Database(path,
                          SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_NOMUTEX,
                          options.busy_timeout_ms);
}

}  // namespace ckptcat::catalog_detail
