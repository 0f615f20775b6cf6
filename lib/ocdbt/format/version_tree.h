// The version tree (spec §6): which generations exist and where each one's
// B+tree root is.
//
// Version leaf entry array (a version-tree leaf, and the manifest's
// inline_versions), columnar:
//   num_versions                    varint, 1..2^arity_log2
//   generation_number[i]            varint, non-zero, strictly increasing
//   root_height[i]                  u8
//   data_file_id[i]                 varint (index into the table)
//   data_file_offset[i]             varint
//   data_file_length[i]             varint (offset = length = 2^64-1: empty tree)
//   num_keys[i], num_tree_bytes[i], num_indirect_value_bytes[i]   varint
//   commit_time[i]                  u64le, nanoseconds since the epoch
//
// Version interior entry array (the manifest's version_nodes, and interior
// version-tree nodes), columnar:
//   num_children                    varint
//   generation_number[i]            varint: newest generation in child i, increasing
//   data_file_id[i], data_file_offset[i], data_file_length[i]   varint
//   num_generations[i]              varint
//   commit_time[i]                  u64le: earliest commit in child i (nanoseconds)
//   entry_height[i]                 u8, manifest only, strictly decreasing
//
// Version-tree node (magic 0x0CDB1234) body:
//   version_tree_arity_log2 u8, height u8 (0 = leaf, <= 63/arity_log2 - 1),
//   data file table, then a leaf array (height 0) or an interior array whose
//   children all have height - 1.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "byte_reader.h"
#include "data_file_table.h"

namespace ckptcat::ocdbt::format {

inline constexpr uint64_t kEmptyTreeMarker = ~uint64_t{0};

// (file, offset, length) of an item inside a data file.
struct IndirectRef {
  uint64_t file_id = 0;
  uint64_t offset = 0;
  uint64_t length = 0;
};

struct VersionLeafEntry {
  uint64_t generation = 0;
  uint8_t root_height = 0;
  IndirectRef root;
  uint64_t num_keys = 0;
  uint64_t num_tree_bytes = 0;
  uint64_t num_indirect_value_bytes = 0;
  uint64_t commit_time = 0;
  bool empty_tree() const {
    return root.offset == kEmptyTreeMarker && root.length == kEmptyTreeMarker;
  }
};

struct VersionInteriorEntry {
  uint64_t generation = 0;  // newest generation inside the child
  IndirectRef ref;
  uint64_t num_generations = 0;
  uint64_t commit_time = 0;  // earliest commit inside the child
  uint8_t height = 0;        // the child's height
};

// Largest height of a version-tree node for this arity.
inline unsigned max_version_tree_height(uint8_t arity_log2) { return 63 / arity_log2 - 1; }

// Decodes a leaf entry array; ids are checked against `num_files`.
std::vector<VersionLeafEntry> decode_version_leaf_entries(ByteReader& in, uint8_t arity_log2,
                                                          uint64_t num_files);

// Decodes an interior entry array. In the manifest (`in_manifest`) it carries
// the entry_height column; in a node every child has height `node_height - 1`.
std::vector<VersionInteriorEntry> decode_version_interior_entries(ByteReader& in,
                                                                  uint8_t arity_log2,
                                                                  uint64_t num_files,
                                                                  bool in_manifest,
                                                                  uint8_t node_height = 0);

struct VersionNode {
  uint8_t arity_log2 = 0;
  uint8_t height = 0;
  DataFileTable table;
  std::vector<VersionLeafEntry> versions;        // height 0
  std::vector<VersionInteriorEntry> children;    // height > 0
};

// Decodes a version-tree node body (after the envelope).
VersionNode decode_version_node(std::string_view body, std::string_view transitive_path);

}  // namespace ckptcat::ocdbt::format
