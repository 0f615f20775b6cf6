// Checks of an item's array store for the Verifier (ckptcat/verifier.h):
// OCDBT databases walked node by node with their data files stat'ed, and the
// zarr keys of OCDBT stores and plain zarr folders matched with zarr metadata.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "ckptcat/verifier.h"

namespace ckptcat::import_detail {

// Receives each finding with its kind, severity, file and message; the caller
// adds checkpoint and item.
using FindingSink = std::function<void(VerifyFinding::Kind, Problem::Severity,
                                       const std::string& file, const std::string& message)>;

// Matches chunk keys with zarr metadata keys. Keys are "<param>/.zarray" or
// "<param>/zarr.json" (metadata) and "<param>/<chunk key>" (chunks, see
// orbax::is_chunk_key); anything else is ignored. Only a count per key folder
// is kept, so memory grows with arrays, not chunks.
class ZarrKeyCheck {
 public:
  void add(std::string_view key);
  // Reports chunks without metadata (errors) and metadata without chunks
  // (warnings). `location(param)` names where an array's keys are.
  void report(const std::function<std::string(const std::string& param)>& location,
              const FindingSink& sink) const;

 private:
  struct Folder {
    uint64_t count = 0;
    std::string sample;  // one last key component, to test chunk-key shapes
  };
  std::map<std::string, bool> arrays_;    // param -> zarr3
  std::map<std::string, Folder> folders_;  // key folder -> chunk-like keys in it
};

// Opens the OCDBT database in `dir` (falling back to per-process databases,
// which is itself reported), visits every key of the latest generation and
// checks out-of-line values against their data files and zarr keys against
// metadata. Returns the number of keys visited.
uint64_t check_ocdbt_store(const std::filesystem::path& dir, const FindingSink& sink);

// The same zarr key check over the files of a plain zarr item folder.
// Returns the number of files visited.
uint64_t check_zarr_folder(const std::filesystem::path& dir, const FindingSink& sink);

}  // namespace ckptcat::import_detail
