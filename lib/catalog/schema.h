// Opening a catalog connection: pragmas, identification and migrations.
#pragma once

#include <cstdint>
#include <string>

namespace SQLite {
class Database;
}

namespace ckptcat::catalog_detail {

constexpr int32_t kApplicationId = 0x636B7074;  // "ckpt"

// The schema version this build writes: the last migration's.
int latest_schema_version() noexcept;

// Sets the connection pragmas (foreign keys, WAL, busy timeout) and brings the
// schema to the latest version, or throws ckptcat::Error naming `path` when the
// file is not a catalog, is newer than this build, or (read-only) is older.
void prepare_connection(SQLite::Database& db, const std::string& path, bool read_only,
                        int busy_timeout_ms);

}  // namespace ckptcat::catalog_detail
