// B+tree nodes (spec §7), magic 0x0CDB20DE. Body after the envelope:
//
//   height                               u8, 0 = leaf
//   data file table                      (data_file_table.h), transitive path =
//                                        base path of the reference to this node
//   num_entries                          varint32, 1..1048576
//   key_prefix_length[1..n)              varint16, bytes shared with key[i-1]
//   key_suffix_length[0..n)              varint16
//   subtree_common_prefix_length[0..n)   varint16, interior nodes only
//   key_suffix[0..n)                     bytes, concatenated
//
// key[i] = key[i-1][0:prefix[i]] + suffix[i], strictly increasing. Keys are
// relative to the node's implicit prefix P: "" for the root, and for a child
// reached through interior entry i of a node with prefix P:
// P + key[i][0:subtree_common_prefix_length[i]].
//
// Leaf (height 0) continues with:
//   value_length[i]      varint64
//   value_kind[i]        1 byte: 0 inline, 1 out of line
//   data_file_id[k]      varint, one per out-of-line entry, in entry order
//   data_file_offset[k]  varint, one per out-of-line entry
//   value[j]             the inline values, concatenated in entry order
//
// Interior (height > 0) continues with, per entry: data_file_id,
// data_file_offset, data_file_length, num_keys, num_tree_bytes,
// num_indirect_value_bytes (varints, columnar). P + key[i] is the inclusive
// lower bound of child i; the child ends where entry i+1 begins.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "data_file_table.h"
#include "version_tree.h"

namespace ckptcat::ocdbt::format {

inline constexpr uint32_t kMaxNodeEntries = 1u << 20;
inline constexpr uint64_t kMaxInlineValueBytes = 1u << 20;
// Cap on a node's keys once prefix-decompressed: prefix sharing lets a 1 MB
// body claim gigabytes of keys (65,535 bytes per 9-byte entry).
inline constexpr uint64_t kMaxNodeKeyBytes = 64u << 20;

struct LeafValue {
  uint64_t length = 0;
  // Out of line: offset in data file `file_id`. Inline: offset in the body.
  uint64_t offset = 0;
  uint64_t file_id = 0;
  bool is_inline = true;
};

struct BtreeChild {
  IndirectRef ref;
  uint64_t num_keys = 0;
  uint64_t num_tree_bytes = 0;
  uint64_t num_indirect_value_bytes = 0;
};

// A decoded node. Decoding into an existing object reuses its storage, so a
// reader walking many nodes allocates little.
struct BtreeNode {
  uint8_t height = 0;
  DataFileTable table;
  std::string key_bytes;               // the relative keys, concatenated
  std::vector<uint32_t> key_offsets;   // num_entries + 1 offsets into key_bytes
  std::vector<uint16_t> subtree_common_prefix;  // interior only
  std::vector<BtreeChild> children;             // interior only
  std::vector<LeafValue> values;                // leaf only
  std::string_view body;  // the decoded body (inline values point into it)

  size_t size() const { return key_offsets.empty() ? 0 : key_offsets.size() - 1; }
  std::string_view key(size_t i) const {
    return std::string_view(key_bytes).substr(key_offsets[i], key_offsets[i + 1] - key_offsets[i]);
  }
  std::string_view inline_value(size_t i) const { return body.substr(values[i].offset, values[i].length); }
};

// Decodes `body` (which must outlive `out.body`) into `out`. Throws
// kCorruption with the offset inside the body.
void decode_btree_node(std::string_view body, std::string_view transitive_path, BtreeNode& out);

}  // namespace ckptcat::ocdbt::format
