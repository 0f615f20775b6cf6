#include "config.h"

#include "ckptcat/error.h"

namespace ckptcat::ocdbt::format {

Config decode_config(ByteReader& in) {
  Config config;
  std::string_view uuid = in.bytes(16, "uuid");
  for (size_t i = 0; i < 16; ++i) config.uuid[i] = static_cast<uint8_t>(uuid[i]);
  const uint8_t kind = in.u8("manifest_kind");
  if (kind > 1) in.fail("manifest_kind " + std::to_string(kind) + " is neither 0 nor 1");
  config.manifest_kind = static_cast<ManifestKind>(kind);
  config.max_inline_value_bytes = in.varint32("max_inline_value_bytes");
  config.max_decoded_node_bytes = in.varint32("max_decoded_node_bytes");
  config.version_tree_arity_log2 = in.u8("version_tree_arity_log2");
  if (config.version_tree_arity_log2 < 1 || config.version_tree_arity_log2 > 16)
    in.fail("version_tree_arity_log2 " + std::to_string(config.version_tree_arity_log2) +
            " outside 1..16");
  const size_t method_offset = in.position();
  config.compression_method = in.varint32("compression_method");
  if (config.compression_method == 1) {
    config.zstd_level = in.i32le("zstd level");
  } else if (config.compression_method != 0) {
    throw Error(Error::Code::kUnsupported,
                "compression method " + std::to_string(config.compression_method), {},
                method_offset);
  }
  return config;
}

}  // namespace ckptcat::ocdbt::format
