#include "btree.h"

#include <algorithm>

namespace ckptcat::ocdbt::format {
namespace {

void decode_keys(ByteReader& in, uint32_t n, bool interior, BtreeNode& out) {
  thread_local std::vector<uint16_t> prefix, suffix;
  prefix.assign(n, 0);
  suffix.resize(n);
  for (uint32_t i = 1; i < n; ++i) prefix[i] = in.varint16("key_prefix_length");
  for (uint32_t i = 0; i < n; ++i) suffix[i] = in.varint16("key_suffix_length");
  if (interior) {
    out.subtree_common_prefix.resize(n);
    for (uint32_t i = 0; i < n; ++i)
      out.subtree_common_prefix[i] = in.varint16("subtree_common_prefix_length");
  }
  out.key_offsets.resize(n + 1);
  out.key_bytes.clear();
  out.key_offsets[0] = 0;
  size_t prev_start = 0, prev_len = 0;
  for (uint32_t i = 0; i < n; ++i) {
    if (prefix[i] > prev_len)
      in.fail("key " + std::to_string(i) + ": key_prefix_length " + std::to_string(prefix[i]) +
              " exceeds the previous key's length " + std::to_string(prev_len));
    if (size_t{prefix[i]} + suffix[i] > 65535)
      in.fail("key " + std::to_string(i) + " longer than 65535 bytes");
    std::string_view s = in.bytes(suffix[i], "key_suffix");
    const size_t start = out.key_bytes.size();
    if (start + prefix[i] + suffix[i] > kMaxNodeKeyBytes)
      in.fail("node keys exceed " + std::to_string(kMaxNodeKeyBytes) + " bytes");
    if (i > 0) {
      // Strictly increasing: compare the suffix with the rest of key[i-1].
      const char* rest = out.key_bytes.data() + prev_start + prefix[i];
      const size_t rest_len = prev_len - prefix[i];
      // Usually the first suffix byte already differs, so compare inline.
      const size_t m = std::min(rest_len, s.size());
      size_t j = 0;
      while (j < m && s[j] == rest[j]) ++j;
      const bool increasing = j < m ? static_cast<uint8_t>(s[j]) > static_cast<uint8_t>(rest[j])
                                    : s.size() > rest_len;
      if (!increasing) in.fail("keys not strictly increasing at entry " + std::to_string(i));
      out.key_bytes.append(out.key_bytes, prev_start, prefix[i]);
    }
    out.key_bytes.append(s);
    prev_start = start;
    prev_len = out.key_bytes.size() - start;
    out.key_offsets[i + 1] = static_cast<uint32_t>(out.key_bytes.size());
    if (interior && out.subtree_common_prefix[i] > prev_len)
      in.fail("entry " + std::to_string(i) + ": subtree_common_prefix_length " +
              std::to_string(out.subtree_common_prefix[i]) + " exceeds the key length " +
              std::to_string(prev_len));
  }
}

uint64_t file_id(ByteReader& in, const DataFileTable& table) {
  const uint64_t id = in.varint64("data_file_id");
  if (id >= table.size())
    in.fail("data_file_id " + std::to_string(id) + " outside the table of " +
            std::to_string(table.size()) + " files");
  return id;
}

void check_extent(ByteReader& in, uint64_t offset, uint64_t length) {
  if (offset > (uint64_t{1} << 63) - 1 || length > (uint64_t{1} << 63) - 1 - offset)
    in.fail("reference offset " + std::to_string(offset) + " + length " + std::to_string(length) +
            " exceeds 2^63-1");
}

}  // namespace

void decode_btree_node(std::string_view body, std::string_view transitive_path, BtreeNode& out) {
  ByteReader in(body);
  out.body = body;
  out.height = in.u8("height");
  out.table = decode_data_file_table(in, transitive_path);
  const uint32_t n = in.varint32("num_entries");
  if (n == 0 || n > kMaxNodeEntries)
    in.fail("num_entries " + std::to_string(n) + " outside 1.." + std::to_string(kMaxNodeEntries));
  in.check_count(n, 2, "num_entries");
  const bool interior = out.height > 0;
  decode_keys(in, n, interior, out);
  if (interior) {
    out.values.clear();
    out.children.resize(n);
    for (auto& c : out.children) c.ref.file_id = file_id(in, out.table);
    for (auto& c : out.children) c.ref.offset = in.varint64("data_file_offset");
    for (auto& c : out.children) c.ref.length = in.varint64("data_file_length");
    for (auto& c : out.children) c.num_keys = in.varint64("num_keys");
    for (auto& c : out.children) c.num_tree_bytes = in.varint64("num_tree_bytes");
    for (auto& c : out.children) c.num_indirect_value_bytes = in.varint64("num_indirect_value_bytes");
    for (auto& c : out.children) check_extent(in, c.ref.offset, c.ref.length);
  } else {
    out.children.clear();
    out.values.resize(n);
    for (auto& v : out.values) v.length = in.varint64("value_length");
    for (auto& v : out.values) {
      const uint8_t kind = in.u8("value_kind");
      if (kind > 1) in.fail("value_kind " + std::to_string(kind) + " is neither 0 nor 1");
      v.is_inline = kind == 0;
    }
    for (auto& v : out.values)
      if (!v.is_inline) v.file_id = file_id(in, out.table);
    for (auto& v : out.values)
      if (!v.is_inline) {
        v.offset = in.varint64("data_file_offset");
        check_extent(in, v.offset, v.length);
      }
    for (auto& v : out.values) {
      if (!v.is_inline) continue;
      if (v.length > kMaxInlineValueBytes)
        in.fail("inline value of " + std::to_string(v.length) + " bytes exceeds 1 MiB");
      v.offset = in.position();
      v.file_id = 0;
      in.bytes(v.length, "inline value");
    }
  }
  in.expect_end("B+tree node");
}

}  // namespace ckptcat::ocdbt::format
