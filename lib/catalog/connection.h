// Opening the SQLite connection of a catalog: read-write (created when
// absent), read-only, or, where a read-only WAL catalog cannot get its WAL
// index, immutable.
#pragma once

#include <string>

#include "ckptcat/catalog.h"

namespace SQLite {
class Database;
}

namespace ckptcat::catalog_detail {

// Opens `path` as `options` asks and sets `access` to how it was opened.
// Read-only: when SQLite cannot create the WAL index (`-shm`) of a WAL catalog
// (its folder is read-only), reopens it with `immutable=1` instead; refuses
// when a non-empty `-wal` beside it holds changes an immutable open would
// ignore. Read-write: refuses a file or folder that is not writable, with a
// message saying which. Throws ckptcat::Error (kCatalog) naming `path`, or
// SQLite::Exception for other SQLite failures.
SQLite::Database open_connection(const std::string& path, const CatalogOptions& options,
                                 CatalogAccess& access);

}  // namespace ckptcat::catalog_detail
