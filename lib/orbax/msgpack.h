// A small, bounded, streaming msgpack decoder: enough to walk Orbax's legacy
// `checkpoint` file (orbax-format.md §7) without loading array payloads. Every
// length is checked against the bytes left in the file before anything is
// read or allocated.
#pragma once

#include <cstdint>
#include <string>

#include "ckptcat/error.h"
#include "store.h"

namespace ckptcat::orbax {

struct MsgpackHeader {
  enum class Type { kNil, kBool, kInt, kUint, kFloat, kStr, kBin, kArray, kMap, kExt };
  Type type = Type::kNil;
  bool boolean = false;
  int64_t int_value = 0;    // kInt
  uint64_t uint_value = 0;  // kUint
  double float_value = 0;   // kFloat
  // kStr / kBin / kExt: payload bytes that follow; kArray: elements; kMap: pairs.
  uint64_t length = 0;
  int8_t ext_type = 0;
};

class MsgpackReader {
 public:
  // Opens `file` (json_file.h open_metadata_file). Throws Error kNotFound /
  // kInvalid / kIO.
  explicit MsgpackReader(const std::string& file);

  uint64_t offset() const { return offset_; }
  uint64_t size() const { return size_; }
  const std::string& file() const { return file_; }

  // Reads the next value header. For kStr/kBin/kExt the payload must then be
  // consumed with read_payload or skip_payload. Throws Error kCorruption at the
  // end of the data or on a reserved byte (0xc1).
  MsgpackHeader next();
  // Reads `n` payload bytes; Error kInvalid when n > max_bytes.
  std::string read_payload(uint64_t n, uint64_t max_bytes);
  void skip_payload(uint64_t n);
  // Skips one whole value (header and contents), descending at most
  // `max_depth` levels.
  void skip_value(int max_depth);

  [[noreturn]] void fail(const std::string& message) const;

 private:
  void read_exact(void* out, uint64_t n);
  uint64_t read_be(int bytes);
  void require(uint64_t n) const;

  std::string file_;
  std::unique_ptr<storage::RandomAccessFile> in_;
  uint64_t size_ = 0;
  uint64_t offset_ = 0;
  // Bytes [buffer_start_, buffer_start_ + buffer_.size()) of the file: headers
  // are a few bytes each, so they are read 64 KiB at a time.
  std::string buffer_;
  uint64_t buffer_start_ = 0;
};

}  // namespace ckptcat::orbax
