// LocalStore (local_store.h).
#include "local_store.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "ckptcat/error.h"

namespace ckptcat::storage {

namespace fs = std::filesystem;

Listing LocalStore::list(const std::string& folder) {
  Listing out;
  std::error_code ec;
  for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code entry_ec;
    const auto status = it->status(entry_ec);
    if (entry_ec) continue;
    const std::string name = it->path().filename().string();
    if (fs::is_directory(status)) {
      out.folders.push_back(name);
    } else if (fs::is_regular_file(status)) {
      Entry e;
      e.name = name;
      e.size = it->file_size(entry_ec);
      out.files.push_back(std::move(e));
    }
  }
  if (ec)
    throw Error(ec == std::errc::no_such_file_or_directory ? Error::Code::kNotFound : Error::Code::kIO,
                "cannot list folder: " + ec.message(), folder);
  std::sort(out.files.begin(), out.files.end(),
            [](const Entry& a, const Entry& b) { return a.name < b.name; });
  std::sort(out.folders.begin(), out.folders.end());
  return out;
}

std::optional<Entry> LocalStore::stat(const std::string& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  Entry e;
  e.name = file;
  e.size = static_cast<uint64_t>(st.st_size);
  e.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  return e;
}

std::unique_ptr<RandomAccessFile> LocalStore::open(const std::string& file) {
  return std::make_unique<LocalFile>(PosixFile(file));
}

}  // namespace ckptcat::storage
