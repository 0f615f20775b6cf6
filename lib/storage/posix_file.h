// PosixFile: the one way ckptcat opens and reads a local file. Every file a
// checkpoint holds is untrusted, so opening never blocks (a FIFO planted as
// manifest.ocdbt or _METADATA would otherwise hang the reader), anything but a
// regular file is refused, reads retry on EINTR, and the descriptor is closed
// by the destructor whatever happens.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace ckptcat::storage {

class PosixFile {
 public:
  // Opens `path` for reading (following symbolic links: callers resolve
  // untrusted paths first, item_path.h). Throws Error kNotFound when it does not
  // exist (naming a dangling link as such), kInvalid when it is not a regular
  // file, kIO when the system refuses. `name` is the path messages give
  // (default: `path`).
  explicit PosixFile(const std::filesystem::path& path, std::string name = {});
  // The same, but nullopt when `path` itself is a symbolic link (for callers
  // that follow links only after checking where they lead; a regular file
  // costs no extra system call).
  static std::optional<PosixFile> open_unless_link(const std::filesystem::path& path,
                                                   std::string name = {});
  PosixFile(PosixFile&& other) noexcept;
  PosixFile& operator=(PosixFile&& other) noexcept;
  PosixFile(const PosixFile&) = delete;
  PosixFile& operator=(const PosixFile&) = delete;
  ~PosixFile();

  uint64_t size() const { return size_; }  // at open
  const std::string& name() const { return name_; }

  // Reads exactly `n` bytes at `offset` into `to`; Error kIO when the file
  // ends first ("file shrank while reading") or the read fails.
  void read_at(uint64_t offset, char* to, uint64_t n) const;
  // Reads exactly `n` bytes from the current position (sequential reads).
  void read_next(char* to, uint64_t n);

 private:
  PosixFile(const std::filesystem::path& path, std::string name, bool follow_links);
  int fd_ = -1;
  uint64_t size_ = 0;
  uint64_t position_ = 0;  // of read_next
  std::string name_;
};

}  // namespace ckptcat::storage
