// The envelope shared by manifests, version-tree nodes and B+tree nodes (spec §3):
//
//   offset 0        magic               u32be  0x0CDB3A2A | 0x0CDB1234 | 0x0CDB20DE
//   offset 4        length              u64le  whole item incl. header and CRC
//   offset 12       version             varint must be 0
//   ...             compression_format  varint 0 = raw body, 1 = zstd stream
//   ...             body                raw, or one or more zstd frames
//   length-4        crc32c              u32le  over every byte before it
//
// The CRC covers the bytes as stored, so it is verified before decompressing.
// The zstd payload is decoded as a stream (several frames allowed, the frame
// content size is never trusted) into at most `max_decoded_bytes`, and must
// decode to its end with nothing left over.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ckptcat::ocdbt::format {

inline constexpr uint32_t kManifestMagic = 0x0CDB3A2A;
inline constexpr uint32_t kVersionNodeMagic = 0x0CDB1234;
inline constexpr uint32_t kBtreeNodeMagic = 0x0CDB20DE;
inline constexpr uint64_t kMinEnvelopeSize = 16;  // magic + length + CRC

// Verifies `item` (exactly one whole encoded item) and returns its body: a view
// into `item` for a raw body, or into `scratch` (reused, grown as needed) for a
// zstd body. Throws ckptcat::Error: kCorruption for a bad magic, length, CRC or
// zstd stream (offsets are within `item`), kUnsupported for version != 0 or an
// unknown compression format.
std::string_view open_envelope(std::string_view item, uint32_t expected_magic,
                               uint64_t max_decoded_bytes, std::string& scratch);

// The name of a magic number, for messages ("manifest", "B+tree node", ...).
const char* magic_name(uint32_t magic);

}  // namespace ckptcat::ocdbt::format
