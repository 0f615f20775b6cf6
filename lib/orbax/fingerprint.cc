// Checkpoint fingerprints (ckptcat/reader.h fingerprint).
//
// Hashed (FNV-1a, 64 bits), for each entry in a fixed order: the path relative
// to the checkpoint folder, then size and mtime in ns from stat. Entries: the
// checkpoint folder itself and each item folder (their mtimes change when an
// entry is added, removed or renamed, e.g. a plain-zarr param folder), every
// regular file directly inside them (_CHECKPOINT_METADATA, commit_success.txt,
// orbax.checkpoint, _METADATA, _sharding, _strings.json, manifest.ocdbt, the
// msgpack `checkpoint`, JSON item files), every file of array_metadatas/ and
// every ocdbt.process_*/manifest.ocdbt. Chunk data is not looked at: OCDBT
// writes a new manifest whenever its content changes.
//
// Under an object URL (storage/mounts.h) the same entries are hashed with
// their ETags instead of mtimes, and folders by the names of their
// sub-folders (prefixes have no mtime). Sizes and ETags come from the
// listings the store keeps, so a fingerprint costs listings (and a HEAD per
// ocdbt.process_*/manifest.ocdbt), never an object read.
#include <cstdio>

#include "ckptcat/reader.h"
#include "file_stat.h"
#include "ckptcat/error.h"
#include "folder_layout.h"
#include "mounts.h"

namespace ckptcat::orbax {
namespace {

namespace fs = std::filesystem;

class Fnv1a {
 public:
  void add(std::string_view bytes) {
    for (unsigned char c : bytes) { hash_ ^= c; hash_ *= 0x100000001b3ull; }
  }
  void add(uint64_t v) {
    char buf[8];
    for (int i = 0; i < 8; ++i) buf[i] = static_cast<char>(v >> (8 * i));
    add(std::string_view(buf, 8));
  }
  uint64_t value() const { return hash_; }

 private:
  uint64_t hash_ = 0xcbf29ce484222325ull;
};

void add_object(Fnv1a& h, const fs::path& base, const fs::path& path) {
  h.add(path.lexically_relative(base).generic_string());
  h.add(std::string_view("\0", 1));
  std::optional<storage::Entry> entry;
  try {
    entry = storage::store_for(path.native()).stat(path.native());
  } catch (const Error&) {
  }
  h.add(entry ? entry->size : ~uint64_t{0});
  h.add(entry ? std::string_view(entry->etag) : std::string_view());
  h.add(std::string_view("\0", 1));
}

void add_entry(Fnv1a& h, const fs::path& base, const fs::path& path) {
  if (storage::is_url(path.native())) return add_object(h, base, path);
  const FileStat st = stat_path(path);
  h.add(path.lexically_relative(base).generic_string());
  h.add(std::string_view("\0", 1));
  h.add(st.exists ? st.size : ~uint64_t{0});
  h.add(static_cast<uint64_t>(st.mtime_nsecs));
}

void add_folder(Fnv1a& h, const fs::path& base, const fs::path& dir, const FolderListing& listing) {
  if (storage::is_url(dir.native())) {
    h.add(dir.lexically_relative(base).generic_string());
    for (const auto& sub : listing.folders) {
      h.add(std::string_view("/", 1));
      h.add(sub);
    }
    h.add(std::string_view("\0", 1));
  } else {
    add_entry(h, base, dir);
  }
  for (const auto& f : listing.files) add_entry(h, base, dir / f);
  std::error_code ec;
  if (listing.has_folder("array_metadatas")) {
    const FolderListing am = list_folder(dir / "array_metadatas", ec);
    for (const auto& f : am.files) add_entry(h, base, dir / "array_metadatas" / f);
  }
  for (const auto& sub : listing.folders)
    if (sub.rfind("ocdbt.process_", 0) == 0) add_entry(h, base, dir / sub / "manifest.ocdbt");
}

}  // namespace

std::string fingerprint(const CheckpointLocation& location) {
  Fnv1a h;
  const fs::path& base = location.directory;
  std::error_code ec;
  const FolderListing listing = list_folder(base, ec);
  add_folder(h, base, base, listing);
  if (!location.direct) {
    for (const auto& item : listing.folders) {
      if (location.only_item && item != *location.only_item) continue;
      const FolderListing item_listing = list_folder(base / item, ec);
      add_folder(h, base, base / item, item_listing);
    }
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h.value()));
  return hex;
}

}  // namespace ckptcat::orbax
