#include "manifest.h"

namespace ckptcat::ocdbt::format {

Manifest decode_manifest(std::string_view body) {
  ByteReader in(body);
  Manifest m;
  m.config = decode_config(in);
  if (m.config.manifest_kind == ManifestKind::kSingle) {
    m.table = decode_data_file_table(in, "");
    const uint8_t a = m.config.version_tree_arity_log2;
    m.versions = decode_version_leaf_entries(in, a, m.table.size());
    m.version_nodes = decode_version_interior_entries(in, a, m.table.size(), true);
    if (!m.version_nodes.empty() &&
        m.version_nodes.back().generation >= m.versions.front().generation)
      in.fail("version_nodes reach generation " + std::to_string(m.version_nodes.back().generation) +
              ", not older than the inline versions");
  }
  in.expect_end("manifest");
  return m;
}

}  // namespace ckptcat::ocdbt::format
