#include "file_stat.h"

#include <sys/stat.h>

#include "ckptcat/error.h"
#include "mounts.h"

namespace ckptcat::orbax {

FileStat stat_path(const std::filesystem::path& path, bool follow_links) {
  struct stat st;
  FileStat out;
  if (storage::is_url(path.native())) {
    // An object, else a folder when something is listed under it.
    try {
      auto& store = storage::store_for(path.native());
      if (const auto entry = store.stat(path.native())) {
        out.exists = out.is_regular = true;
        out.size = entry->size;
        out.mtime_nsecs = entry->mtime_ns;
      } else if (!store.list(path.native()).empty()) {
        out.exists = out.is_directory = true;
      }
    } catch (const Error&) {
    }
    return out;
  }
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
