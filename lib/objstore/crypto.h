// The few OpenSSL primitives the object-store client needs: SHA-256 and
// HMAC-SHA-256 (AWS Signature Version 4), and lowercase hex.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace ckptcat::objstore {

using Sha256Digest = std::array<uint8_t, 32>;

Sha256Digest sha256(std::string_view data);
Sha256Digest hmac_sha256(std::string_view key, std::string_view data);

std::string to_hex(const uint8_t* bytes, size_t size);
inline std::string to_hex(const Sha256Digest& digest) { return to_hex(digest.data(), digest.size()); }

// The view of a digest's bytes, to feed it back in as an HMAC key.
inline std::string_view as_bytes(const Sha256Digest& digest) {
  return {reinterpret_cast<const char*>(digest.data()), digest.size()};
}

}  // namespace ckptcat::objstore
