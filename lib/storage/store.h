// Store: where a checkpoint's files live, seen the way the readers need it:
// list one folder (never recursively), stat a file, open a file for reads at
// offsets, read a small file whole. Locations are strings: an absolute local
// path, or an object URL ("s3://bucket/prefix/step/_METADATA") below the
// prefix of a mounted object store (mounts.h). Implementations: LocalStore
// (local_store.h) and ObjectStore (object_store.h).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ckptcat::storage {

// A file as a listing or a stat sees it.
struct Entry {
  std::string name;  // last component (listings) or the location (stat)
  uint64_t size = 0;
  std::string etag;  // object stores only; quotes included
  int64_t mtime_ns = 0;
};

// One level of a folder, files and sub-folders each sorted by name.
struct Listing {
  std::vector<Entry> files;
  std::vector<std::string> folders;
  bool empty() const { return files.empty() && folders.empty(); }
};

// An open file: reads at any offset; its size is fixed when opened.
class RandomAccessFile {
 public:
  virtual ~RandomAccessFile() = default;
  virtual uint64_t size() const = 0;
  // Exactly `n` bytes at `offset` into `to`; Error (kIO, kCorruption) naming
  // the file when they cannot be read.
  virtual void read_at(uint64_t offset, char* to, uint64_t n) const = 0;
  virtual const std::string& name() const = 0;
};

class Store {
 public:
  virtual ~Store() = default;

  // The sub-folders and files directly in `folder`. A folder that does not
  // exist lists empty on object stores (prefixes are not objects); locally it
  // throws Error kNotFound.
  virtual Listing list(const std::string& folder) = 0;
  // nullopt when `file` is not a file.
  virtual std::optional<Entry> stat(const std::string& file) = 0;
  // Error kNotFound when `file` does not exist.
  virtual std::unique_ptr<RandomAccessFile> open(const std::string& file) = 0;
  // The whole of `file` into `out`, refused (Error kInvalid) when larger than
  // `max_bytes` before anything is allocated.
  virtual void read_bounded(const std::string& file, std::string& out, uint64_t max_bytes);
};

}  // namespace ckptcat::storage
