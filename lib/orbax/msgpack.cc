// Streaming msgpack decoding (see msgpack.h). Format: https://github.com/msgpack/msgpack/blob/master/spec.md
#include "msgpack.h"

#include "json_file.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <filesystem>

namespace ckptcat::orbax {

MsgpackReader::MsgpackReader(const std::string& file)
    : file_(file), in_(open_checkpoint_file(file, UINT64_MAX)), size_(in_->size()) {}

void MsgpackReader::fail(const std::string& message) const {
  throw Error(Error::Code::kCorruption, "msgpack: " + message, file_, offset_);
}

void MsgpackReader::require(uint64_t n) const {
  if (n > size_ - offset_)
    fail("value needs " + std::to_string(n) + " bytes, only " + std::to_string(size_ - offset_) +
         " left");
}

void MsgpackReader::read_exact(void* out, uint64_t n) {
  constexpr uint64_t kBufferBytes = 64 << 10;
  require(n);
  char* to = static_cast<char*>(out);
  const bool buffered = offset_ >= buffer_start_ && n <= buffer_start_ + buffer_.size() - offset_;
  if (!buffered && n >= kBufferBytes) {
    in_->read_at(offset_, to, n);  // a large payload: straight into place
  } else {
    if (!buffered) {
      buffer_start_ = offset_;
      buffer_.resize(std::min<uint64_t>(kBufferBytes, size_ - offset_));
      in_->read_at(offset_, buffer_.data(), buffer_.size());
    }
    std::memcpy(to, buffer_.data() + (offset_ - buffer_start_), n);
  }
  offset_ += n;
}

uint64_t MsgpackReader::read_be(int bytes) {
  unsigned char buf[8];
  read_exact(buf, static_cast<uint64_t>(bytes));
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | buf[i];
  return v;
}

std::string MsgpackReader::read_payload(uint64_t n, uint64_t max_bytes) {
  if (n > max_bytes)
    throw Error(Error::Code::kInvalid,
                "msgpack: " + std::to_string(n) + "-byte value over the " +
                    std::to_string(max_bytes) + "-byte limit",
                file_, offset_);
  std::string out(n, '\0');
  read_exact(out.data(), n);
  return out;
}

void MsgpackReader::skip_payload(uint64_t n) {
  require(n);
  offset_ += n;
}

MsgpackHeader MsgpackReader::next() {
  using T = MsgpackHeader::Type;
  MsgpackHeader h;
  const auto b = static_cast<uint8_t>(read_be(1));
  auto sized = [&](T type, uint64_t length) { h.type = type; h.length = length; return h; };
  auto ext = [&](uint64_t length) {
    h.type = T::kExt;
    h.length = length;
    h.ext_type = static_cast<int8_t>(read_be(1));
    return h;
  };
  if (b <= 0x7f) { h.type = T::kUint; h.uint_value = b; return h; }
  if (b >= 0xe0) { h.type = T::kInt; h.int_value = static_cast<int8_t>(b); return h; }
  if ((b & 0xf0) == 0x80) return sized(T::kMap, b & 0x0f);
  if ((b & 0xf0) == 0x90) return sized(T::kArray, b & 0x0f);
  if ((b & 0xe0) == 0xa0) return sized(T::kStr, b & 0x1f);
  switch (b) {
    case 0xc0: h.type = T::kNil; return h;
    case 0xc2: case 0xc3: h.type = T::kBool; h.boolean = b == 0xc3; return h;
    case 0xc4: return sized(T::kBin, read_be(1));
    case 0xc5: return sized(T::kBin, read_be(2));
    case 0xc6: return sized(T::kBin, read_be(4));
    case 0xc7: return ext(read_be(1));
    case 0xc8: return ext(read_be(2));
    case 0xc9: return ext(read_be(4));
    case 0xca: {
      const auto bits = static_cast<uint32_t>(read_be(4));
      h.type = T::kFloat;
      h.float_value = std::bit_cast<float>(bits);
      return h;
    }
    case 0xcb: h.type = T::kFloat; h.float_value = std::bit_cast<double>(read_be(8)); return h;
    case 0xcc: h.type = T::kUint; h.uint_value = read_be(1); return h;
    case 0xcd: h.type = T::kUint; h.uint_value = read_be(2); return h;
    case 0xce: h.type = T::kUint; h.uint_value = read_be(4); return h;
    case 0xcf: h.type = T::kUint; h.uint_value = read_be(8); return h;
    case 0xd0: h.type = T::kInt; h.int_value = static_cast<int8_t>(read_be(1)); return h;
    case 0xd1: h.type = T::kInt; h.int_value = static_cast<int16_t>(read_be(2)); return h;
    case 0xd2: h.type = T::kInt; h.int_value = static_cast<int32_t>(read_be(4)); return h;
    case 0xd3: h.type = T::kInt; h.int_value = static_cast<int64_t>(read_be(8)); return h;
    case 0xd4: return ext(1);
    case 0xd5: return ext(2);
    case 0xd6: return ext(4);
    case 0xd7: return ext(8);
    case 0xd8: return ext(16);
    case 0xd9: return sized(T::kStr, read_be(1));
    case 0xda: return sized(T::kStr, read_be(2));
    case 0xdb: return sized(T::kStr, read_be(4));
    case 0xdc: return sized(T::kArray, read_be(2));
    case 0xdd: return sized(T::kArray, read_be(4));
    case 0xde: return sized(T::kMap, read_be(2));
    case 0xdf: return sized(T::kMap, read_be(4));
    default: break;
  }
  --offset_;
  fail("reserved byte 0xc1");
}

void MsgpackReader::skip_value(int max_depth) {
  using T = MsgpackHeader::Type;
  if (max_depth < 0) fail("nested too deeply");
  const auto h = next();
  switch (h.type) {
    case T::kStr: case T::kBin: case T::kExt: skip_payload(h.length); break;
    case T::kArray:
      // Each element takes at least one byte: a count larger than what is left is corrupt.
      require(h.length);
      for (uint64_t i = 0; i < h.length; ++i) skip_value(max_depth - 1);
      break;
    case T::kMap:
      require(h.length);
      for (uint64_t i = 0; i < 2 * h.length; ++i) skip_value(max_depth - 1);
      break;
    default: break;
  }
}

}  // namespace ckptcat::orbax
