#include "byte_reader.h"

#include "ckptcat/error.h"

namespace ckptcat::ocdbt::format {

void ByteReader::fail(const std::string& message) const {
  throw Error(Error::Code::kCorruption, message, {}, pos_);
}

void ByteReader::fail_truncated(uint64_t n, const char* field) const {
  fail(std::string("truncated ") + field + ": need " + std::to_string(n) + " bytes, " +
       std::to_string(remaining()) + " left");
}

void ByteReader::check_count(uint64_t count, uint64_t min_bytes_each, const char* field) const {
  if (min_bytes_each != 0 && count > remaining() / min_bytes_each)
    fail(std::string(field) + " " + std::to_string(count) + " cannot fit in the " +
         std::to_string(remaining()) + " bytes left");
}

uint64_t ByteReader::varint(unsigned max_bytes, uint64_t max_value, const char* field) {
  uint64_t value = 0;
  const size_t start = pos_;
  for (unsigned i = 0;; ++i) {
    if (i == max_bytes) {
      pos_ = start;
      fail(std::string("varint ") + field + " longer than " + std::to_string(max_bytes) + " bytes");
    }
    if (pos_ >= data_.size()) {
      pos_ = start;
      fail(std::string("truncated varint ") + field);
    }
    const uint8_t byte = static_cast<uint8_t>(data_[pos_++]);
    const uint64_t group = byte & 0x7f;
    // The 10th byte of a 64-bit varint may only carry the top bit.
    if (i == 9 && group > 1) {
      pos_ = start;
      fail(std::string("varint ") + field + " overflows 64 bits");
    }
    value |= group << (7 * i);
    if (!(byte & 0x80)) break;
  }
  if (value > max_value) {
    pos_ = start;
    fail(std::string(field) + " = " + std::to_string(value) + " exceeds " +
         std::to_string(max_value));
  }
  return value;
}

uint8_t ByteReader::u8(const char* field) {
  need(1, field);
  return static_cast<uint8_t>(data_[pos_++]);
}

uint32_t ByteReader::u32le(const char* field) {
  need(4, field);
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(data_[pos_ + i]);
  pos_ += 4;
  return v;
}

uint32_t ByteReader::u32be(const char* field) {
  need(4, field);
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(data_[pos_ + i]);
  pos_ += 4;
  return v;
}

uint64_t ByteReader::u64le(const char* field) {
  need(8, field);
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(data_[pos_ + i]);
  pos_ += 8;
  return v;
}

int32_t ByteReader::i32le(const char* field) { return static_cast<int32_t>(u32le(field)); }

void ByteReader::expect_end(const char* structure) const {
  if (!at_end())
    fail(std::string(structure) + " has " + std::to_string(remaining()) + " unexpected trailing bytes");
}

}  // namespace ckptcat::ocdbt::format
