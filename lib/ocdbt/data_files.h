// Positioned reads from the files of a database, with their handles cached:
// each file is opened once and read with pread at (offset, length). Every read
// is checked against the file's size before any buffer is allocated. Every
// path is resolved inside the database's item folder first (item_path.h): a
// data-file path or a symbolic link that leads outside is refused unopened.
// An item under an object URL is read through its store (storage/mounts.h):
// each read is one ranged GET.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "ckptcat/ocdbt.h"
#include "item_path.h"
#include "posix_file.h"
#include "store.h"

namespace ckptcat::ocdbt {

using storage::PosixFile;

class DataFiles {
 public:
  // Files are read only inside `root` (the folder the database was opened at).
  DataFiles(ReadStats& stats, const std::filesystem::path& root) : stats_(stats), root_(root) {}
  DataFiles(const DataFiles&) = delete;
  DataFiles& operator=(const DataFiles&) = delete;

  // Reads `length` bytes at `offset` of `path` (absolute, under the root) into
  // `out` (resized). Throws kNotFound for a missing file, kIO when the OS
  // refuses, kCorruption when the range lies beyond the end of the file or the
  // path leads outside the root.
  void read(const std::string& path, uint64_t offset, uint64_t length, std::string& out);
  // The whole file, refusing files larger than `max_bytes` (kCorruption).
  std::string read_whole(const std::string& path, uint64_t max_bytes);
  // Opens `path` (kNotFound when missing) so later reads hit the cache.
  void require(const std::string& path) { open(path); }

 private:
  const storage::RandomAccessFile& open(const std::string& path);

  ReadStats& stats_;
  storage::LocalItemRoot root_;
  std::unordered_map<std::string, std::unique_ptr<storage::RandomAccessFile>> files_;
};

}  // namespace ckptcat::ocdbt
