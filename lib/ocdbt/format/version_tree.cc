#include "version_tree.h"

namespace ckptcat::ocdbt::format {
namespace {

uint64_t file_id(ByteReader& in, uint64_t num_files) {
  const uint64_t id = in.varint64("data_file_id");
  if (id >= num_files)
    in.fail("data_file_id " + std::to_string(id) + " outside the table of " +
            std::to_string(num_files) + " files");
  return id;
}

void check_ref(ByteReader& in, const IndirectRef& ref) {
  if (ref.offset == kEmptyTreeMarker && ref.length == kEmptyTreeMarker) return;
  if (ref.offset > (uint64_t{1} << 63) - 1 - ref.length)
    in.fail("reference offset " + std::to_string(ref.offset) + " + length " +
            std::to_string(ref.length) + " exceeds 2^63-1");
}

}  // namespace

std::vector<VersionLeafEntry> decode_version_leaf_entries(ByteReader& in, uint8_t arity_log2,
                                                          uint64_t num_files) {
  const uint64_t n = in.varint64("num_versions");
  if (n == 0 || n > (uint64_t{1} << arity_log2))
    in.fail("num_versions " + std::to_string(n) + " outside 1.." +
            std::to_string(uint64_t{1} << arity_log2));
  std::vector<VersionLeafEntry> v(n);
  for (uint64_t i = 0; i < n; ++i) {
    v[i].generation = in.varint64("generation_number");
    if (v[i].generation == 0) in.fail("generation number 0");
    if (i > 0 && v[i].generation <= v[i - 1].generation)
      in.fail("generation numbers not strictly increasing");
  }
  // All inline generations lie in one arity-aligned block.
  const uint64_t last = v.back().generation;
  const uint64_t block_start = (((last - 1) >> arity_log2) << arity_log2) + 1;
  if (v.front().generation < block_start)
    in.fail("generations " + std::to_string(v.front().generation) + ".." + std::to_string(last) +
            " span more than one version-tree leaf");
  for (auto& e : v) e.root_height = in.u8("root_height");
  for (auto& e : v) e.root.file_id = file_id(in, num_files);
  for (auto& e : v) e.root.offset = in.varint64("data_file_offset");
  for (auto& e : v) e.root.length = in.varint64("data_file_length");
  for (auto& e : v) e.num_keys = in.varint64("num_keys");
  for (auto& e : v) e.num_tree_bytes = in.varint64("num_tree_bytes");
  for (auto& e : v) e.num_indirect_value_bytes = in.varint64("num_indirect_value_bytes");
  for (auto& e : v) e.commit_time = in.u64le("commit_time");
  for (auto& e : v) {
    check_ref(in, e.root);
    if (e.empty_tree() && (e.root_height != 0 || e.num_keys != 0))
      in.fail("empty tree with non-zero height or key count");
  }
  return v;
}

std::vector<VersionInteriorEntry> decode_version_interior_entries(ByteReader& in,
                                                                  uint8_t arity_log2,
                                                                  uint64_t num_files,
                                                                  bool in_manifest,
                                                                  uint8_t node_height) {
  const uint64_t n = in.varint64("num_children");
  const uint64_t max_children =
      in_manifest ? max_version_tree_height(arity_log2) : (uint64_t{1} << arity_log2);
  if ((!in_manifest && n == 0) || n > max_children)
    in.fail("num_children " + std::to_string(n) + " outside " + (in_manifest ? "0.." : "1..") +
            std::to_string(max_children));
  std::vector<VersionInteriorEntry> v(n);
  for (uint64_t i = 0; i < n; ++i) {
    v[i].generation = in.varint64("generation_number");
    if (v[i].generation == 0) in.fail("generation number 0");
    if (i > 0 && v[i].generation <= v[i - 1].generation)
      in.fail("generation numbers not strictly increasing");
  }
  for (auto& e : v) e.ref.file_id = file_id(in, num_files);
  for (auto& e : v) e.ref.offset = in.varint64("data_file_offset");
  for (auto& e : v) e.ref.length = in.varint64("data_file_length");
  for (auto& e : v) e.num_generations = in.varint64("num_generations");
  for (auto& e : v) e.commit_time = in.u64le("commit_time");
  if (in_manifest) {
    for (uint64_t i = 0; i < n; ++i) {
      v[i].height = in.u8("entry_height");
      if (v[i].height > max_version_tree_height(arity_log2))
        in.fail("version node height " + std::to_string(v[i].height) + " too large");
      if (i > 0 && v[i].height >= v[i - 1].height)
        in.fail("version node heights not strictly decreasing");
    }
  } else {
    for (auto& e : v) e.height = static_cast<uint8_t>(node_height - 1);
  }
  for (auto& e : v) {
    check_ref(in, e.ref);
    if (e.ref.offset == kEmptyTreeMarker) in.fail("version node reference is the empty marker");
    if (e.num_generations == 0 || e.num_generations > e.generation)
      in.fail("num_generations " + std::to_string(e.num_generations) + " impossible for newest " +
              std::to_string(e.generation));
  }
  return v;
}

VersionNode decode_version_node(std::string_view body, std::string_view transitive_path) {
  ByteReader in(body);
  VersionNode node;
  node.arity_log2 = in.u8("version_tree_arity_log2");
  if (node.arity_log2 < 1 || node.arity_log2 > 16)
    in.fail("version_tree_arity_log2 " + std::to_string(node.arity_log2) + " outside 1..16");
  node.height = in.u8("height");
  if (node.height > max_version_tree_height(node.arity_log2))
    in.fail("version node height " + std::to_string(node.height) + " too large");
  node.table = decode_data_file_table(in, transitive_path);
  if (node.height == 0)
    node.versions = decode_version_leaf_entries(in, node.arity_log2, node.table.size());
  else
    node.children = decode_version_interior_entries(in, node.arity_log2, node.table.size(),
                                                    false, node.height);
  in.expect_end("version-tree node");
  return node;
}

}  // namespace ckptcat::ocdbt::format
