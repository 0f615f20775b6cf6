// Opening the catalog for a command and finding what a command-line argument
// names in it: a checkpoint folder or an item folder, as given (absolute or
// relative to the current folder).
#pragma once

#include <optional>
#include <string>

#include "ckptcat/catalog.h"

namespace ckptcat::cli {

// Opens `path`: read-only for queries (it must exist: a missing catalog is a
// UsageError suggesting `ckptcat import`), read-write (created when absent)
// for import. Throws ckptcat::Error for a file that is not a usable catalog.
// Says once on stderr when a read-only catalog is read as immutable
// (CatalogAccess::kImmutable: its folder is read-only).
Catalog open_catalog(const std::string& path, bool writable);

// What an argument names: a whole checkpoint, or one of its items.
struct Target {
  CheckpointMetadata checkpoint;
  std::optional<std::string> item;  // item name when the argument is an item folder

  const ItemMetadata* item_metadata() const;  // the named item, or nullptr
  const std::string& directory() const;       // the folder the argument named
};

// Throws UsageError when `arg` is neither a catalogued checkpoint nor an item of one.
Target resolve_target(const Catalog& catalog, const std::string& arg);

}  // namespace ckptcat::cli
