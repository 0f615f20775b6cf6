// A compact, self-contained copy of a catalog for readers (Catalog::publish).
#pragma once

#include <string>

namespace SQLite {
class Database;
}

namespace ckptcat::catalog_detail {

// Writes the catalog open on `source` (its file is `source_path`) to
// `destination` as Catalog::publish() describes. Throws ckptcat::Error naming
// the destination, or SQLite::Exception.
void publish_copy(SQLite::Database& source, const std::string& source_path,
                  const std::string& destination, bool overwrite);

}  // namespace ckptcat::catalog_detail
