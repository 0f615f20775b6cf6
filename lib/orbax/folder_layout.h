// What a folder looks like from its listing alone: the facts discovery,
// fingerprints and the checkpoint reader share.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace ckptcat::orbax {

struct FolderListing {
  std::vector<std::string> files;    // regular files (and links to them), sorted
  std::vector<std::string> folders;  // sub-folders (and links to them), sorted
  bool has(const std::string& file) const;
  bool has_folder(const std::string& folder) const;
};

// Lists `dir` (one level). Unreadable entries are skipped. An object URL is
// listed by its store (storage/mounts.h) with the delimiter.
FolderListing list_folder(const std::filesystem::path& dir, std::error_code& ec);

// Pytree files of an item (orbax-format.md §1.1): _METADATA, _sharding,
// _strings.json, manifest.ocdbt, array_metadatas/, ocdbt.process_*/, or the
// legacy msgpack file `checkpoint`.
bool holds_pytree(const FolderListing& listing);

// A step folder marker: _CHECKPOINT_METADATA or the v1 `orbax.checkpoint` file.
bool holds_step_marker(const FolderListing& listing);

}  // namespace ckptcat::orbax
