// Catalog::publish: VACUUM INTO a temporary file beside the destination
// (VACUUM copies the header's application_id and user_version with the pages),
// switch the copy to rollback-journal mode (a WAL file needs a writable
// folder even to be read, see connection.cc), make sure it is on disk, and
// rename it onto the destination.
#include "publish.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "ckptcat/error.h"

namespace ckptcat::catalog_detail {
namespace {

namespace fs = std::filesystem;

[[noreturn]] void refuse(const std::string& destination, const std::string& why) {
  throw Error(Error::Code::kInvalid, why, destination);
}

// Refuses destinations that cannot or must not be written.
void check_destination(const std::string& source_path, const std::string& destination,
                       bool overwrite) {
  if (destination.empty()) refuse(destination, "no destination file given");
  std::error_code ec;
  const fs::path folder = fs::absolute(destination, ec).parent_path();
  if (ec || !fs::is_directory(folder, ec))
    refuse(destination, "folder " + folder.string() + " does not exist");
  const auto status = fs::status(destination, ec);
  if (status.type() == fs::file_type::not_found) return;
  if (fs::is_directory(status)) refuse(destination, "is a folder, not a file");
  if (fs::equivalent(destination, source_path, ec)) refuse(destination, "is the catalog itself");
  if (!overwrite) refuse(destination, "already exists");
}

// fsync(2) of a written file, so the rename never exposes a partial copy.
void sync_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || ::fsync(fd) != 0) {
    const std::string why = std::strerror(errno);
    if (fd >= 0) ::close(fd);
    throw Error(Error::Code::kIO, "cannot sync the copy: " + why, path);
  }
  ::close(fd);
}

// Removes the temporary copy unless released (after its rename).
class TemporaryFile {
 public:
  explicit TemporaryFile(std::string path) : path_(std::move(path)) {}
  ~TemporaryFile() {
    if (path_.empty()) return;
    std::error_code ec;
    for (const char* suffix : {"", "-journal", "-wal", "-shm"}) fs::remove(path_ + suffix, ec);
  }
  TemporaryFile(const TemporaryFile&) = delete;
  TemporaryFile& operator=(const TemporaryFile&) = delete;
  const std::string& path() const { return path_; }
  void release() { path_.clear(); }

 private:
  std::string path_;
};

}  // namespace

void publish_copy(SQLite::Database& source, const std::string& source_path,
                  const std::string& destination, bool overwrite) {
  check_destination(source_path, destination, overwrite);
  TemporaryFile copy(destination + ".ckptcat-publish-" + std::to_string(::getpid()));
  {
    std::error_code ec;
    fs::remove(copy.path(), ec);  // left by an earlier process of this id that was killed
  }
  SQLite::Statement vacuum(source, "VACUUM INTO ?1");
  vacuum.bind(1, copy.path());
  vacuum.exec();
  {
    SQLite::Database out(copy.path(), SQLite::OPEN_READWRITE);
    const std::string mode = out.execAndGet("PRAGMA journal_mode = DELETE").getString();
    if (mode != "delete")
      throw Error(Error::Code::kCatalog, "cannot leave WAL mode (journal_mode is " + mode + ")",
                  copy.path());
  }
  sync_file(copy.path());
  std::error_code ec;
  fs::rename(copy.path(), destination, ec);
  if (ec) throw Error(Error::Code::kIO, "cannot move the copy into place: " + ec.message(), destination);
  copy.release();
}

}  // namespace ckptcat::catalog_detail
