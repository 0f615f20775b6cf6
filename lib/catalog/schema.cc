// Schema versioning: PRAGMA application_id marks a ckptcat catalog, PRAGMA
// user_version is the number of migrations applied. Each pending migration runs
// in its own IMMEDIATE transaction together with the re-creation of the views
// and the new user_version, so a catalog is always at a whole version.
#include "schema.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <sqlite3.h>

#include <chrono>
#include <thread>

#include "ckptcat/error.h"
#include "schema_sql.h"

namespace ckptcat::catalog_detail {
namespace {

int64_t pragma_int(SQLite::Database& db, const char* pragma) {
  return db.execAndGet(std::string("PRAGMA ") + pragma).getInt64();
}

[[noreturn]] void refuse(const std::string& path, const std::string& why) {
  throw Error(Error::Code::kCatalog, why, path);
}

// Throws unless the file is empty or a ckptcat catalog this build can use.
void check_identity(SQLite::Database& db, const std::string& path, int64_t app_id,
                    int64_t version) {
  const int latest = latest_schema_version();
  if (app_id == 0 && version == 0) {
    if (db.execAndGet("SELECT count(*) FROM sqlite_schema").getInt64() != 0)
      refuse(path, "not a ckptcat catalog: the database has tables but no ckptcat application_id");
    return;
  }
  if (app_id != kApplicationId)
    refuse(path, "not a ckptcat catalog: application_id is " + std::to_string(app_id) +
                     ", expected " + std::to_string(kApplicationId));
  if (version > latest)
    refuse(path, "catalog schema version " + std::to_string(version) +
                     " is newer than this ckptcat supports (schema version " +
                     std::to_string(latest) + "); use a newer ckptcat");
}

// Turning a new file into WAL needs an exclusive lock, and SQLite answers
// SQLITE_BUSY at once, without calling the busy handler, while another process
// is opening the same new catalog: retry until the busy timeout has passed.
void enable_wal(SQLite::Database& db, int busy_timeout_ms) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::milliseconds(busy_timeout_ms);
  while (true) {
    try {
      db.execAndGet("PRAGMA journal_mode = WAL");  // returns "memory" for :memory:
      return;
    } catch (const SQLite::Exception& e) {
      if ((e.getErrorCode() & 0xff) != SQLITE_BUSY || Clock::now() >= deadline) throw;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace

int latest_schema_version() noexcept { return catalog_schema::kMigrationCount; }

void prepare_connection(SQLite::Database& db, const std::string& path, bool read_only,
                        int busy_timeout_ms) {
  db.setBusyTimeout(busy_timeout_ms);
  db.exec("PRAGMA foreign_keys = ON");
  if (!read_only) {
    enable_wal(db, busy_timeout_ms);
    db.exec("PRAGMA synchronous = NORMAL");      // WAL: durable at checkpoints, never corrupt
  }
  check_identity(db, path, pragma_int(db, "application_id"), pragma_int(db, "user_version"));
  const int latest = latest_schema_version();
  if (pragma_int(db, "user_version") == latest) return;
  if (read_only)
    refuse(path, "catalog schema version " + std::to_string(pragma_int(db, "user_version")) +
                     " is older than this ckptcat's (" + std::to_string(latest) +
                     "); open it once for writing to upgrade it");

  for (int i = 0; i < catalog_schema::kMigrationCount; ++i) {
    const auto& migration = catalog_schema::kMigrations[i];
    SQLite::Transaction txn(db, SQLite::TransactionBehavior::IMMEDIATE);
    // Another process may have migrated while we waited for the lock.
    const int64_t app_id = pragma_int(db, "application_id");
    const int64_t version = pragma_int(db, "user_version");
    check_identity(db, path, app_id, version);
    if (version >= migration.version) continue;  // txn rolls back: nothing written
    try {
      db.exec(migration.sql);
      db.exec(catalog_schema::kViews);
    } catch (const SQLite::Exception& e) {
      refuse(path, "schema migration " + std::to_string(migration.version) + " (" +
                       migration.name + ") failed: " + e.what());
    }
    db.exec("PRAGMA application_id = " + std::to_string(kApplicationId));
    db.exec("PRAGMA user_version = " + std::to_string(migration.version));
    txn.commit();
  }
}

}  // namespace ckptcat::catalog_detail
