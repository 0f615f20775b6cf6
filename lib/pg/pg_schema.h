// The catalog schema in a PostgreSQL database: table ckptcat_schema holds its
// version, the same number as the SQLite catalog's user_version (migration
// NNNN of schema/pg/ matches migration NNNN of schema/).
#pragma once

#include "connection.h"

namespace ckptcat::pg {

// The schema version this build writes.
int latest_schema_version() noexcept;

// The database's schema version, 0 when it has no ckptcat schema. Throws
// PgError when the database has other tables but no ckptcat_schema
// (not a ckptcat catalog).
int schema_version(Connection& connection);

// Creates the schema in an empty database, or applies pending migrations, in
// one transaction holding an advisory lock (concurrent pushers wait, then find
// it done). Throws PgError for a database whose schema is newer than this
// build's, or that is not a ckptcat catalog.
void ensure_schema(Connection& connection);

// For readers: throws PgError unless the schema is exactly this build's.
void require_schema(Connection& connection);

}  // namespace ckptcat::pg
