// stat(2) with nanosecond mtimes, without exceptions: what discovery,
// fingerprints and step folders need from the file system. For an object URL:
// an object, or a folder when its prefix lists something (no device, inode,
// folder mtime).
#pragma once

#include <cstdint>
#include <filesystem>

namespace ckptcat::orbax {

struct FileStat {
  bool exists = false;
  bool is_directory = false;
  bool is_regular = false;
  bool is_symlink = false;  // only with follow_links == false
  uint64_t size = 0;
  int64_t mtime_nsecs = 0;
  uint64_t device = 0;
  uint64_t inode = 0;
};

FileStat stat_path(const std::filesystem::path& path, bool follow_links = true);

}  // namespace ckptcat::orbax
