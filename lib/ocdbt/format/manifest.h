// The manifest body (spec §4), after its envelope (magic 0x0CDB3A2A):
//
//   config                     (config.h)
//   -- only when manifest_kind == single: --
//   data_file_table            (data_file_table.h), transitive path ""
//   inline_versions            version leaf entry array: the newest block,
//                              whose last entry is the latest generation
//   version_nodes              version interior entry array with entry_height:
//                              at most one spine node per height, higher first,
//                              covering the older generations
//
// The body must end right after version_nodes (or after the config for the
// numbered kind, whose versions live in manifest.<16 hex digits> files).
#pragma once

#include <string_view>
#include <vector>

#include "config.h"
#include "data_file_table.h"
#include "version_tree.h"

namespace ckptcat::ocdbt::format {

struct Manifest {
  Config config;
  DataFileTable table;
  std::vector<VersionLeafEntry> versions;         // empty for the numbered kind
  std::vector<VersionInteriorEntry> version_nodes;
  const VersionLeafEntry& latest() const { return versions.back(); }
};

Manifest decode_manifest(std::string_view body);

}  // namespace ckptcat::ocdbt::format
