// Checks that a catalog still describes what is on disk, and that the
// checkpoints' array stores are whole:
//
//  - each catalogued checkpoint is read again and compared with the catalog,
//    field by field (checkpoint_diff.h, exhaustive): items and leaves added,
//    removed or changed; folders gone; checkpoints on disk not imported;
//  - each OCDBT store is walked node by node through ocdbt::Database (every
//    node's checksum is verified on decoding), every out-of-line value's data
//    file is stat'ed (missing files, values past the end of their file);
//  - zarr keys are matched with zarr metadata, in OCDBT stores and plain zarr
//    folders alike: chunk keys whose array has no .zarray / zarr.json
//    (error), and arrays with metadata but no chunk (a warning: TensorStore
//    does not store chunks equal to the fill value, so an all-zero array has
//    none), as TensorStore's ocdbt_check does;
//  - the catalog's own consistency (Catalog::verify).
//
//   ckptcat::Verifier verifier(catalog);
//   ckptcat::VerifyReport r = verifier.run("/runs/exp1");   // or run() for all
//   for (const auto& f : r.findings) ...
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ckptcat/catalog.h"
#include "ckptcat/checkpoint.h"

namespace ckptcat {

struct VerifyFinding {
  enum class Kind {
    kCatalog,                // Catalog::verify() reported a problem
    kFolderMissing,          // a catalogued checkpoint's folder is gone
    kNotImported,            // a checkpoint on disk (under the path) is not in the catalog
    kReadFailed,             // re-reading the checkpoint threw
    kCheckpointChanged,      // a checkpoint-level field differs (fingerprint included)
    kItemAdded,              // on disk, not in the catalog
    kItemRemoved,            // in the catalog, not on disk
    kItemChanged,
    kLeafAdded,
    kLeafRemoved,
    kLeafChanged,
    kStoreUnreadable,        // an OCDBT database or node cannot be read (checksum, ...)
    kDataFileMissing,        // an out-of-line value's data file does not exist
    kValueOutOfRange,        // an out-of-line value lies past the end of its data file
    kChunksWithoutMetadata,  // chunk keys of an array with no zarr metadata
    kMetadataWithoutChunks,  // zarr metadata with no chunk (warning)
    kPathEscapes,            // a stored path or symbolic link leads outside the item (not followed)
  };
  Kind kind = Kind::kCatalog;
  Problem::Severity severity = Problem::Severity::kError;
  std::string checkpoint;  // checkpoint directory ("" for kCatalog)
  std::string item;        // item name, when item-specific
  std::string leaf;        // leaf name, when leaf-specific
  std::string file;        // the file concerned, when there is one
  std::string message;     // what is wrong, e.g. "shape (2, 4) -> (4, 4)"
};
const char* to_string(VerifyFinding::Kind kind) noexcept;  // "leaf-changed", ...

struct VerifyReport {
  uint64_t checkpoints = 0;  // catalogued checkpoints checked
  uint64_t stores = 0;       // array stores checked (OCDBT databases and zarr folders)
  uint64_t keys = 0;         // keys (OCDBT) or files (zarr folders) checked
  std::vector<VerifyFinding> findings;

  uint64_t error_count() const;
  uint64_t warning_count() const;
};

struct VerifyOptions {
  bool compare = true;  // re-read each checkpoint and compare it with the catalog
  bool stores = true;   // check array stores
};

class Verifier {
 public:
  explicit Verifier(const Catalog& catalog, VerifyOptions options = {});

  // Checks the catalogued checkpoints at or below `path`, or holding it (an
  // item folder), or all when nullopt; when `path` is given and exists, also
  // reports checkpoints found there that are not in the catalog. Throws
  // ckptcat::Error only for catalog failures.
  VerifyReport run(const std::optional<std::string>& path = std::nullopt) const;

 private:
  const Catalog& catalog_;
  VerifyOptions options_;
};

}  // namespace ckptcat
