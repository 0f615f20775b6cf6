// LocalStore: the local file system as a Store (store.h), over PosixFile
// (never blocks, regular files only). Locations are paths; confining names
// from metadata to their item stays with LocalItemRoot (item_path.h), which
// the readers apply before a path reaches the store.
#pragma once

#include "posix_file.h"
#include "store.h"

namespace ckptcat::storage {

class LocalFile final : public RandomAccessFile {
 public:
  explicit LocalFile(PosixFile file) : file_(std::move(file)) {}
  uint64_t size() const override { return file_.size(); }
  void read_at(uint64_t offset, char* to, uint64_t n) const override { file_.read_at(offset, to, n); }
  const std::string& name() const override { return file_.name(); }
  PosixFile& posix() { return file_; }

 private:
  PosixFile file_;
};

class LocalStore final : public Store {
 public:
  // Links are followed; entries that cannot be typed are skipped.
  Listing list(const std::string& folder) override;
  std::optional<Entry> stat(const std::string& file) override;
  std::unique_ptr<RandomAccessFile> open(const std::string& file) override;
};

}  // namespace ckptcat::storage
