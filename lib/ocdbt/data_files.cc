#include "data_files.h"

#include "local_store.h"
#include "mounts.h"


namespace ckptcat::ocdbt {

const storage::RandomAccessFile& DataFiles::open(const std::string& path) {
  auto it = files_.find(path);
  if (it != files_.end()) return *it->second;
  std::string why;
  const auto resolved = root_.resolve_absolute(path, why);
  if (!resolved)
    throw Error(Error::Code::kCorruption, storage::escape_message("data file", path, why), path);
  std::unique_ptr<storage::RandomAccessFile> file;
  if (storage::is_url(resolved->native()))
    file = storage::store_for(resolved->native()).open(resolved->native());
  else
    file = std::make_unique<storage::LocalFile>(PosixFile(*resolved, path));
  ++stats_.files_opened;
  return *files_.emplace(path, std::move(file)).first->second;
}

void DataFiles::read(const std::string& path, uint64_t offset, uint64_t length, std::string& out) {
  const storage::RandomAccessFile& file = open(path);
  if (offset > file.size() || length > file.size() - offset)
    throw Error(Error::Code::kCorruption,
                "reference to " + std::to_string(length) + " bytes lies beyond the end of the " +
                    std::to_string(file.size()) + "-byte file",
                path, offset);
  out.resize(length);
  file.read_at(offset, out.data(), length);
  stats_.bytes_read += length;
}

std::string DataFiles::read_whole(const std::string& path, uint64_t max_bytes) {
  const storage::RandomAccessFile& file = open(path);
  if (file.size() > max_bytes)
    throw Error(Error::Code::kCorruption,
                "file of " + std::to_string(file.size()) + " bytes exceeds the cap of " +
                    std::to_string(max_bytes),
                path);
  std::string out;
  read(path, 0, file.size(), out);
  return out;
}

}  // namespace ckptcat::ocdbt
