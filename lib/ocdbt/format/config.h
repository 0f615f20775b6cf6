// The manifest's configuration block (spec §4.1), at the start of its body:
//
//   uuid                      byte[16]
//   manifest_kind             1 byte: 0 single (version tree follows), 1 numbered
//   max_inline_value_bytes    varint32  (writer policy, not enforced on read)
//   max_decoded_node_bytes    varint32  (writer policy, not enforced on read)
//   version_tree_arity_log2   u8, 1..16
//   compression_method        varint32: 0 none, 1 zstd
//   zstd level                i32le, only when compression_method == 1
#pragma once

#include <array>
#include <cstdint>

#include "byte_reader.h"

namespace ckptcat::ocdbt::format {

enum class ManifestKind : uint8_t { kSingle = 0, kNumbered = 1 };

struct Config {
  std::array<uint8_t, 16> uuid{};
  ManifestKind manifest_kind = ManifestKind::kSingle;
  uint32_t max_inline_value_bytes = 100;
  uint32_t max_decoded_node_bytes = 8u << 20;
  uint8_t version_tree_arity_log2 = 4;
  uint32_t compression_method = 0;
  int32_t zstd_level = 0;
};

// Throws kCorruption for a bad kind or arity, kUnsupported for an unknown
// compression method.
Config decode_config(ByteReader& in);

}  // namespace ckptcat::ocdbt::format
