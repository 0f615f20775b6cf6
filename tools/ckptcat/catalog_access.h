// Opening the catalog for a command and finding what a command-line argument
// names in it: a checkpoint folder or an item folder, as given (absolute or
// relative to the current folder).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ckptcat/catalog.h"
#include "ckptcat/pull.h"

namespace ckptcat::cli {

// Opens `path`: read-only for queries (it must exist: a missing catalog is a
// UsageError suggesting `ckptcat import`), read-write (created when absent)
// for import. Throws ckptcat::Error for a file that is not a usable catalog.
// Says once on stderr when a read-only catalog is read as immutable
// (CatalogAccess::kImmutable: its folder is read-only).
//
// A postgresql:// URI names a shared catalog (ckptcat push): queries read it
// through an in-memory copy of what `scope` asks for (ckptcat/pull.h), so
// every command runs the same code on both engines. Writing commands refuse it.
Catalog open_catalog(const std::string& path, bool writable, const PullScope& scope = {});

// The scope a command needs to resolve `args` (checkpoint or item folders):
// those directories and their parents, with leaves.
PullScope scope_for_targets(const std::vector<std::string>& args);

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
