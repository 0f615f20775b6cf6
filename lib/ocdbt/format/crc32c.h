// CRC-32C (Castagnoli), the checksum that ends every OCDBT envelope (spec §3):
// reflected polynomial 0x82F63B78 (normal form 0x1EDC6F41), initial value and
// final XOR 0xFFFFFFFF. crc32c("123456789") == 0xE3069283.
//
// The reference computation is Boost.CRC (about 130 MB/s); on x86-64 CPUs with
// SSE4.2 the crc32 instruction computes the same function (several GB/s), which
// matters because every listed node is checksummed.
#pragma once

#include <cstdint>
#include <string_view>

namespace ckptcat::ocdbt::format {

// The fastest available implementation.
uint32_t crc32c(std::string_view bytes);
// Always Boost.CRC (for cross-checking the fast path).
uint32_t crc32c_portable(std::string_view bytes);

}  // namespace ckptcat::ocdbt::format
