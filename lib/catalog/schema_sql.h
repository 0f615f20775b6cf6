// The SQL of schema/*.sql, embedded at build time by schema/embed_sql.py.
#pragma once

namespace ckptcat::catalog_schema {

struct Migration {
  int version;       // the user_version the catalog has after this migration
  const char* name;  // from the file name, e.g. "initial"
  const char* sql;
};

extern const Migration kMigrations[];  // versions 1..kMigrationCount, in order
extern const int kMigrationCount;
extern const char* const kViews;       // re-created after every migration

}  // namespace ckptcat::catalog_schema
