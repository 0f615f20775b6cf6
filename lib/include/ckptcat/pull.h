// Reading a shared PostgreSQL catalog with the SQLite catalog's code: pull()
// copies (part of) it into a Catalog, normally a fresh in-memory one
// (Catalog(":memory:")), keeping the database's ids. Then list_checkpoints,
// load_checkpoint, find_leaves and the views work as on any local catalog;
// this is how `ckptcat ls/show/find/diff/export --db postgresql://...` run.
//
// Cost: every dedup row (few: that is what they are for), the chosen
// checkpoints with their items and problems, and their leaves when
// `leaves` is set. A directory pushed from several origins is read from the
// first origin in text order.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ckptcat/catalog.h"

namespace ckptcat {

struct PullScope {
  // Only these checkpoint directories (unknown ones are ignored); all when unset.
  std::optional<std::vector<std::string>> directories;
  // Copy leaves too. Without them, checkpoints keep their leaf counts, sizes
  // and errors (leaves in error are copied), enough for list_checkpoints().
  bool leaves = true;
};

// Throws ckptcat::Error (code kCatalog) when the database cannot be reached,
// holds no ckptcat catalog, or one of another schema version.
void pull(const std::string& conninfo, Catalog& into, const PullScope& scope = {});

}  // namespace ckptcat
