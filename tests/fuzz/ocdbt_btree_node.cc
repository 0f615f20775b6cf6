// Fuzz target: OCDBT B+tree nodes (lib/ocdbt/format/btree.h), alone or behind
// their envelope. Every accessor of a decoded node is exercised, since the
// reader trusts what decode_btree_node() accepted.
#include "ckptcat/error.h"
#include "format/btree.h"
#include "format/envelope.h"
#include "fuzz_target.h"

namespace format = ckptcat::ocdbt::format;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string item, scratch;
  format::BtreeNode node;
  try {
    const auto body =
        ckptcat::fuzz::envelope_body(data, size, format::kBtreeNodeMagic, item, scratch);
    format::decode_btree_node(body, "base/", node);
  } catch (const ckptcat::Error&) {
    return 0;
  }
  // What the reader relies on once a node decoded.
  const size_t n = node.size();
  ckptcat::fuzz::require(n > 0 && (node.height == 0 ? node.values.size() : node.children.size()) == n,
                         "one value or child per entry");
  for (size_t i = 0; i < n; ++i) {
    ckptcat::fuzz::require(node.key_offsets[i] <= node.key_offsets[i + 1] &&
                               node.key_offsets[i + 1] <= node.key_bytes.size(),
                           "key offsets inside the key bytes");
    if (i > 0) ckptcat::fuzz::require(node.key(i - 1) < node.key(i), "keys strictly increasing");
    if (node.height > 0) {
      ckptcat::fuzz::require(node.children[i].ref.file_id < node.table.size(), "child file id");
      ckptcat::fuzz::require(node.subtree_common_prefix[i] <= node.key(i).size(), "common prefix");
    } else if (node.values[i].is_inline) {
      const auto& v = node.values[i];
      ckptcat::fuzz::require(v.offset <= node.body.size() && v.length <= node.body.size() - v.offset,
                             "inline value inside the body");
    } else {
      ckptcat::fuzz::require(node.values[i].file_id < node.table.size(), "value file id");
    }
  }
  return 0;
}

std::vector<std::string> ckptcat::fuzz::seeds_from_corpus(const std::filesystem::path& corpus) {
  return envelope_seeds(corpus, format::kBtreeNodeMagic);
}
