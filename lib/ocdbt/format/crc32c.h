// CRC-32C (Castagnoli), the checksum that ends every OCDBT envelope (spec §3):
// reflected polynomial 0x82F63B78 (normal form 0x1EDC6F41), initial value and
// final XOR 0xFFFFFFFF. crc32c("123456789") == 0xE3069283.
#pragma once

#include <cstdint>
#include <string_view>

namespace ckptcat::ocdbt::format {

uint32_t crc32c(std::string_view bytes);

}  // namespace ckptcat::ocdbt::format
