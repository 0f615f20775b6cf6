// PosixFile (posix_file.h).
#include "posix_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "ckptcat/error.h"

namespace ckptcat::storage {

namespace fs = std::filesystem;

PosixFile::PosixFile(const fs::path& path, std::string name)
    : PosixFile(path, std::move(name), true) {}

std::optional<PosixFile> PosixFile::open_unless_link(const fs::path& path, std::string name) {
  PosixFile file(path, std::move(name), false);
  if (file.fd_ < 0) return std::nullopt;
  return file;
}

PosixFile::PosixFile(const fs::path& path, std::string name, bool follow_links)
    : name_(name.empty() ? path.string() : std::move(name)) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer (regular files
  // ignore the flag).
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | (follow_links ? 0 : O_NOFOLLOW));
  if (fd_ < 0) {
    const int error = errno;
    if (!follow_links && error == ELOOP) return;  // a link: open_unless_link says so
    if (error != ENOENT && error != ENOTDIR)
      throw Error(Error::Code::kIO, std::string("cannot open: ") + std::strerror(error), name_);
    std::error_code ec;
    if (fs::is_symlink(fs::symlink_status(path, ec)))
      throw Error(Error::Code::kNotFound,
                  "dangling symbolic link (its target " + fs::read_symlink(path, ec).string() +
                      " does not exist)",
                  name_);
    throw Error(Error::Code::kNotFound, "file not found", name_);
  }
  struct stat st {};
  if (::fstat(fd_, &st) != 0) {
    const int error = errno;
    ::close(fd_);
    throw Error(Error::Code::kIO, std::string("cannot stat: ") + std::strerror(error), name_);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd_);
    throw Error(Error::Code::kInvalid, "not a regular file", name_);
  }
  size_ = static_cast<uint64_t>(st.st_size);
}

PosixFile::PosixFile(PosixFile&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), size_(other.size_), position_(other.position_),
      name_(std::move(other.name_)) {}

PosixFile& PosixFile::operator=(PosixFile&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    size_ = other.size_;
    position_ = other.position_;
    name_ = std::move(other.name_);
  }
  return *this;
}

PosixFile::~PosixFile() {
  if (fd_ >= 0) ::close(fd_);
}

void PosixFile::read_at(uint64_t offset, char* to, uint64_t n) const {
  for (uint64_t done = 0; done < n;) {
    const ssize_t got = ::pread(fd_, to + done, n - done, static_cast<off_t>(offset + done));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0)
      throw Error(Error::Code::kIO, std::string("read failed: ") + std::strerror(errno), name_,
                  offset + done);
    if (got == 0) throw Error(Error::Code::kIO, "file shrank while reading", name_, offset + done);
    done += static_cast<uint64_t>(got);
  }
}

void PosixFile::read_next(char* to, uint64_t n) {
  read_at(position_, to, n);
  position_ += n;
}

}  // namespace ckptcat::storage
