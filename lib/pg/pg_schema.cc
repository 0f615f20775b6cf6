// Schema versioning on PostgreSQL (pg_schema.h).
#include "pg_schema.h"

#include "pg_schema_sql.h"

namespace ckptcat::pg {
namespace {

constexpr const char* kSchemaLock = "SELECT pg_advisory_xact_lock(7236776041219106164)";  // "ckptcat" + "pg"

[[noreturn]] void refuse(Connection& c, const std::string& why) { throw PgError(why, "", c.target()); }

}  // namespace

int latest_schema_version() noexcept { return pg_schema::kMigrationCount; }

int schema_version(Connection& c) {
  const Result has_table = c.exec(
      "SELECT to_regclass('ckptcat_schema') IS NOT NULL, "
      "(SELECT count(*) FROM pg_tables WHERE schemaname = current_schema())",
      "reading the catalog schema version");
  if (has_table.text(0, 0) == "t") {
    const Result v =
        c.exec("SELECT version FROM ckptcat_schema WHERE application = 'ckptcat'",
               "reading the catalog schema version");
    if (v.rows() != 1) refuse(c, "not a ckptcat catalog: table ckptcat_schema has no version row");
    return static_cast<int>(v.int64(0, 0));
  }
  if (has_table.int64(0, 1) != 0)
    refuse(c, "not a ckptcat catalog: the database's schema has tables but no ckptcat_schema");
  return 0;
}

void ensure_schema(Connection& c) {
  const int latest = latest_schema_version();
  if (schema_version(c) == latest) return;
  c.exec("BEGIN", "creating the catalog schema");
  try {
    c.exec(kSchemaLock, "locking the catalog schema");
    const int version = schema_version(c);  // another pusher may have done it meanwhile
    if (version > latest)
      refuse(c, "catalog schema version " + std::to_string(version) +
                    " is newer than this ckptcat supports (schema version " +
                    std::to_string(latest) + "); use a newer ckptcat");
    for (int i = version; i < pg_schema::kMigrationCount; ++i) {
      const auto& m = pg_schema::kMigrations[i];
      c.exec(m.sql, ("schema migration " + std::to_string(m.version) + " (" + m.name + ")").c_str());
    }
    if (version < latest) {
      c.exec(pg_schema::kViews, "creating the catalog views");
      c.exec("INSERT INTO ckptcat_schema(application, version) VALUES ('ckptcat', " +
                 std::to_string(latest) +
                 ") ON CONFLICT (application) DO UPDATE SET version = EXCLUDED.version",
             "recording the schema version");
    }
    c.exec("COMMIT", "creating the catalog schema");
  } catch (...) {
    PQclear(PQexec(c.get(), "ROLLBACK"));  // best effort; the error is what matters
    throw;
  }
}

void require_schema(Connection& c) {
  const int version = schema_version(c);
  const int latest = latest_schema_version();
  if (version == 0) refuse(c, "no ckptcat catalog in this database (create one with: ckptcat push)");
  if (version > latest)
    refuse(c, "catalog schema version " + std::to_string(version) +
                  " is newer than this ckptcat supports (schema version " +
                  std::to_string(latest) + "); use a newer ckptcat");
  if (version < latest)
    refuse(c, "catalog schema version " + std::to_string(version) +
                  " is older than this ckptcat's (" + std::to_string(latest) +
                  "); push into it once to upgrade it");
}

}  // namespace ckptcat::pg
