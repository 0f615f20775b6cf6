// A bounds-checked cursor over a decoded OCDBT structure (spec §2).
//
// Integers are either unsigned LEB128 varints (7 bits per byte, least
// significant group first, high bit = more bytes follow) or fixed width
// little-endian, except the envelope magic which is big-endian. A varint for a
// 64-bit field may use at most 10 bytes, one for a 32- or 16-bit field at most 5
// bytes; the value is then range-checked against the field's width. Every read
// checks the remaining length first and throws ckptcat::Error (kCorruption)
// naming the field and the offset inside the structure being decoded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ckptcat::ocdbt::format {

class ByteReader {
 public:
  explicit ByteReader(std::string_view data) : data_(data) {}

  // One-byte varints (the common case) are decoded inline.
  uint64_t varint64(const char* field) {
    if (pos_ < data_.size() && static_cast<uint8_t>(data_[pos_]) < 0x80)
      return static_cast<uint8_t>(data_[pos_++]);
    return varint(10, ~uint64_t{0}, field);
  }
  uint32_t varint32(const char* field) {
    if (pos_ < data_.size() && static_cast<uint8_t>(data_[pos_]) < 0x80)
      return static_cast<uint8_t>(data_[pos_++]);
    return static_cast<uint32_t>(varint(5, 0xffffffffu, field));
  }
  // Decoded as a 32-bit varint (up to 5 bytes), then range-checked.
  uint16_t varint16(const char* field) {
    if (pos_ < data_.size() && static_cast<uint8_t>(data_[pos_]) < 0x80)
      return static_cast<uint8_t>(data_[pos_++]);
    return static_cast<uint16_t>(varint(5, 0xffff, field));
  }
  uint8_t u8(const char* field);
  uint32_t u32le(const char* field);
  uint32_t u32be(const char* field);
  uint64_t u64le(const char* field);
  int32_t i32le(const char* field);
  // `n` raw bytes (a view into the input).
  std::string_view bytes(uint64_t n, const char* field) {
    need(n, field);
    std::string_view out = data_.substr(pos_, n);
    pos_ += n;
    return out;
  }

  size_t position() const { return pos_; }
  size_t remaining() const { return data_.size() - pos_; }
  bool at_end() const { return pos_ == data_.size(); }
  // Throws unless every byte was consumed.
  void expect_end(const char* structure) const;
  // Throws when `count` entries, each at least `min_bytes_each` bytes, cannot
  // fit in what is left: a cheap bound before allocating per-entry storage.
  void check_count(uint64_t count, uint64_t min_bytes_each, const char* field) const;

  // kCorruption at the current position.
  [[noreturn]] void fail(const std::string& message) const;

 private:
  uint64_t varint(unsigned max_bytes, uint64_t max_value, const char* field);
  void need(uint64_t n, const char* field) const {
    if (n > remaining()) fail_truncated(n, field);
  }
  [[noreturn]] void fail_truncated(uint64_t n, const char* field) const;

  std::string_view data_;
  size_t pos_ = 0;
};

}  // namespace ckptcat::ocdbt::format
