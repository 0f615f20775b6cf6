#include "file_stat.h"

#include <sys/stat.h>

namespace ckptcat::orbax {

FileStat stat_path(const std::filesystem::path& path, bool follow_links) {
  struct stat st;
  FileStat out;
  const int rc = follow_links ? ::stat(path.c_str(), &st) : ::lstat(path.c_str(), &st);
  if (rc != 0) return out;
  out.exists = true;
  out.is_directory = S_ISDIR(st.st_mode);
  out.is_regular = S_ISREG(st.st_mode);
  out.is_symlink = S_ISLNK(st.st_mode);
  out.size = static_cast<uint64_t>(st.st_size);
  out.mtime_nsecs = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  out.device = static_cast<uint64_t>(st.st_dev);
  out.inode = static_cast<uint64_t>(st.st_ino);
  return out;
}

}  // namespace ckptcat::orbax
