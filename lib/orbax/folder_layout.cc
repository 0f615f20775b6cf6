#include "folder_layout.h"

#include <algorithm>

#include "ckptcat/error.h"
#include "mounts.h"

namespace ckptcat::orbax {

namespace fs = std::filesystem;

bool FolderListing::has(const std::string& file) const {
  return std::binary_search(files.begin(), files.end(), file);
}
bool FolderListing::has_folder(const std::string& folder) const {
  return std::binary_search(folders.begin(), folders.end(), folder);
}

FolderListing list_folder(const fs::path& dir, std::error_code& ec) {
  FolderListing out;
  if (storage::is_url(dir.native())) {
    try {
      storage::Listing listing = storage::store_for(dir.native()).list(dir.native());
      for (auto& f : listing.files) out.files.push_back(std::move(f.name));
      out.folders = std::move(listing.folders);
    } catch (const Error&) {
      ec = std::make_error_code(std::errc::io_error);
    }
    return out;
  }
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    // The entry's type comes with the listing: asking costs a system call
    // only for a symbolic link, which is followed.
    std::error_code entry_ec;
    const bool folder = it->is_directory(entry_ec);
    if (entry_ec) continue;
    const bool file = !folder && it->is_regular_file(entry_ec);
    if (entry_ec) continue;
    if (folder) out.folders.push_back(it->path().filename().string());
    else if (file) out.files.push_back(it->path().filename().string());
  }
  std::sort(out.files.begin(), out.files.end());
  std::sort(out.folders.begin(), out.folders.end());
  return out;
}

bool holds_pytree(const FolderListing& listing) {
  for (const char* f : {"_METADATA", "_sharding", "_strings.json", "manifest.ocdbt", "checkpoint"})
    if (listing.has(f)) return true;
  if (listing.has_folder("array_metadatas")) return true;
  for (const auto& d : listing.folders)
    if (d.rfind("ocdbt.process_", 0) == 0) return true;
  return false;
}

bool holds_step_marker(const FolderListing& listing) {
  return listing.has("_CHECKPOINT_METADATA") || listing.has("orbax.checkpoint");
}

}  // namespace ckptcat::orbax
