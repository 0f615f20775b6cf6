// Where an item's zarr arrays live (orbax-format.md §6.3): an OCDBT database
// rooted at the item folder (possibly read through its per-process
// sub-databases), or plain per-param folders. Gives each param's zarr metadata
// text and the number and bytes of its stored chunks without reading chunk data.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ckptcat/checkpoint.h"
#include "ckptcat/reader.h"  // is_chunk_key
#include "param_index.h"

namespace ckptcat::orbax {

class ArrayStoreReader {
 public:
  virtual ~ArrayStoreReader() = default;
  virtual ArrayStore kind() const = 0;
  // The zarr metadata text of `param`, null when absent. Throws Error.
  // The text stays valid until the next call.
  virtual const std::string* metadata(const std::string& param) = 0;
  // Chunk values stored for `param` (0 chunks when none).
  virtual StoredSize stored_size(const std::string& param) = 0;
  // Where `param`'s metadata is looked up, for messages.
  virtual std::string metadata_location(const std::string& param) const = 0;
};

// Opens the store of `item_dir` for `params`. `use_ocdbt` from _METADATA; when
// absent the presence of manifest.ocdbt or ocdbt.process_* decides. Returns
// nullptr (and records why in `problems`) when an OCDBT store cannot be opened
// at all. Warnings (per-process fallback) go to `problems` too.
std::unique_ptr<ArrayStoreReader> open_array_store(const std::filesystem::path& item_dir,
                                                   std::optional<bool> use_ocdbt, bool zarr3,
                                                   std::shared_ptr<const ParamIndex> params,
                                                   std::vector<Problem>& problems);

}  // namespace ckptcat::orbax
