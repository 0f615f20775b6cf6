// _METADATA, the pytree metadata of an item (orbax-format.md §3).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ckptcat/checkpoint.h"

namespace ckptcat::orbax {

struct TreeEntry {
  KeyPath key_path;        // rebuilt from key_metadata, never from the keypath string
  std::string value_type;  // verbatim
  bool skip_deserialize = false;
  std::optional<Shape> write_shape;
};

struct TreeMetadataFile {
  std::vector<TreeEntry> entries;  // file order, strict-prefix entries dropped (§3.5)
  TreeFlags flags;
  size_t dropped_prefix_entries = 0;
};

// Parses the text of a _METADATA file. Throws Error kInvalid naming `file` for
// invalid JSON, a missing tree_metadata or malformed entries.
TreeMetadataFile parse_tree_metadata(std::string_view text, const std::string& file);

// How a leaf is reported (§3.3, §3.4, §6.1).
LeafKind leaf_kind(const std::string& value_type, bool skip_deserialize);

}  // namespace ckptcat::orbax
