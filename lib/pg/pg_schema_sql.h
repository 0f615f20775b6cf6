// The SQL of schema/pg/*.sql, embedded at build time by schema/embed_sql.py.
#pragma once

namespace ckptcat::pg_schema {

struct Migration {
  int version;       // the schema version after this migration (= the SQLite one)
  const char* name;
  const char* sql;
};

extern const Migration kMigrations[];  // versions 1..kMigrationCount, in order
extern const int kMigrationCount;
extern const char* const kViews;       // re-created after every migration

}  // namespace ckptcat::pg_schema
