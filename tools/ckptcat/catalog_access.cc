// Catalog access for commands (catalog_access.h).
#include "catalog_access.h"

#include <filesystem>
#include <iostream>

#include "ckptcat/leaf_fields.h"
#include "ckptcat/push.h"
#include "cli.h"

namespace ckptcat::cli {

namespace fs = std::filesystem;

Catalog open_catalog(const std::string& path, bool writable, const PullScope& scope) {
  if (is_postgres_uri(path)) {
    if (writable)
      throw UsageError("this command writes a local SQLite catalog; a PostgreSQL catalog is "
                       "filled with ckptcat push");
    Catalog memory(":memory:");
    pull(path, memory, scope);
    return memory;
  }
  std::error_code ec;
  if (!writable && !fs::exists(path, ec))
    throw UsageError("no catalog at " + path + " (create one with: ckptcat import --db " + path +
                     " PATH)");
  CatalogOptions options;
  options.read_only = !writable;
  Catalog catalog(path, options);
  if (catalog.access() == CatalogAccess::kImmutable)
    std::cerr << "ckptcat: note: " << path
              << ": the folder is read-only, so SQLite cannot create the WAL index (" << path
              << "-shm); reading the catalog as immutable (a change made to it meanwhile would "
                 "not be seen; `ckptcat publish` writes a copy made for sharing)\n";
  return catalog;
}

PullScope scope_for_targets(const std::vector<std::string>& args) {
  PullScope scope;
  scope.directories.emplace();
  for (const auto& arg : args) {
    const std::string path = normal_path(arg);
    scope.directories->push_back(path);
    scope.directories->push_back(fs::path(path).parent_path().string());
  }
  return scope;
}

const ItemMetadata* Target::item_metadata() const {
  if (!item) return nullptr;
  for (const auto& i : checkpoint.items)
    if (i.name == *item) return &i;
  return nullptr;
}

const std::string& Target::directory() const {
  const ItemMetadata* i = item_metadata();
  return i ? i->directory : checkpoint.directory;
}

Target resolve_target(const Catalog& catalog, const std::string& arg) {
  const std::string path = normal_path(arg);
  if (catalog.fingerprint(path)) {
    if (auto cp = catalog.load_checkpoint(path)) return Target{std::move(*cp), std::nullopt};
  }
  const fs::path p(path);
  const std::string parent = p.parent_path().string();
  const std::string name = p.filename().string();
  if (catalog.fingerprint(parent)) {
    if (auto cp = catalog.load_checkpoint(parent)) {
      Target t{std::move(*cp), name};
      if (t.item_metadata()) return t;
    }
  }
  throw UsageError(path + ": not in the catalog (neither a checkpoint nor an item of one; "
                          "see ckptcat ls)");
}

}  // namespace ckptcat::cli
