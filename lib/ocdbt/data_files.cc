#include "data_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ckptcat::ocdbt {

DataFiles::~DataFiles() {
  for (auto& [path, file] : files_) ::close(file.fd);
}

const DataFiles::File& DataFiles::open(const std::string& path) {
  auto it = files_.find(path);
  if (it != files_.end()) return it->second;
  std::string why;
  const auto resolved = root_.resolve_absolute(path, why);
  if (!resolved)
    throw Error(Error::Code::kCorruption,
storage::escape_message("data file", path, why), path);
  const int fd = ::open(resolved->c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    const int err = errno;
    throw Error(err == ENOENT || err == ENOTDIR ? Error::Code::kNotFound : Error::Code::kIO,
                std::string("cannot open: ") + std::strerror(err), path);
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error(Error::Code::kIO, "not a readable regular file", path);
  }
  ++stats_.files_opened;
  return files_.emplace(path, File{fd, static_cast<uint64_t>(st.st_size)}).first->second;
}

void DataFiles::read(const std::string& path, uint64_t offset, uint64_t length, std::string& out) {
  const File& file = open(path);
  if (offset > file.size || length > file.size - offset)
    throw Error(Error::Code::kCorruption,
                "reference to " + std::to_string(length) + " bytes lies beyond the end of the " +
                    std::to_string(file.size) + "-byte file",
                path, offset);
  out.resize(length);
  uint64_t done = 0;
  while (done < length) {
    const ssize_t n = ::pread(file.fd, out.data() + done, length - done,
                              static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      throw Error(Error::Code::kIO,
                  n == 0 ? std::string("file shrank while reading")
                         : std::string("read failed: ") + std::strerror(errno),
                  path, offset + done);
    done += static_cast<uint64_t>(n);
  }
  stats_.bytes_read += length;
}

std::string DataFiles::read_whole(const std::string& path, uint64_t max_bytes) {
  const File& file = open(path);
  if (file.size > max_bytes)
    throw Error(Error::Code::kCorruption,
                "file of " + std::to_string(file.size) + " bytes exceeds the cap of " +
                    std::to_string(max_bytes),
                path);
  std::string out;
  read(path, 0, file.size, out);
  return out;
}

}  // namespace ckptcat::ocdbt
