#include "crypto.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "ckptcat/error.h"

namespace ckptcat::objstore {

Sha256Digest sha256(std::string_view data) {
  Sha256Digest digest{};
  unsigned int size = 0;
  if (EVP_Digest(data.data(), data.size(), digest.data(), &size, EVP_sha256(), nullptr) != 1 ||
      size != digest.size())
    throw Error(Error::Code::kIO, "OpenSSL could not compute a SHA-256 digest");
  return digest;
}

Sha256Digest hmac_sha256(std::string_view key, std::string_view data) {
  Sha256Digest digest{};
  unsigned int size = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest.data(),
           &size) == nullptr ||
      size != digest.size())
    throw Error(Error::Code::kIO, "OpenSSL could not compute an HMAC-SHA-256");
  return digest;
}

std::string to_hex(const uint8_t* bytes, size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string text(size * 2, '\0');
  for (size_t i = 0; i < size; ++i) {
    text[2 * i] = kDigits[bytes[i] >> 4];
    text[2 * i + 1] = kDigits[bytes[i] & 0xf];
  }
  return text;
}

}  // namespace ckptcat::objstore
