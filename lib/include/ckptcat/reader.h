// The Orbax checkpoint reader: finds checkpoints under any folder and reads
// each one into the typed metadata Orbax's metadata() reports
// (ckptcat::CheckpointMetadata, checkpoint.h), without Python.
//
//   auto found = ckptcat::orbax::discover("/runs");          // cheap: listing + stat
//   for (const auto& loc : found.checkpoints) {
//     auto fp = ckptcat::orbax::fingerprint(loc);            // stat only
//     if (unchanged(fp)) continue;
//     ckptcat::CheckpointMetadata m = ckptcat::orbax::read_checkpoint(loc);
//   }
//
// Reading never throws for damaged checkpoints: problems are recorded per leaf
// (Leaf::error), per item (ItemMetadata::error / problems) or per checkpoint
// (CheckpointMetadata::problems), each naming the file concerned. Only a path
// that cannot be listed at all makes discover() throw ckptcat::Error.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ckptcat/checkpoint.h"

namespace ckptcat::orbax {

// ---- discovery ------------------------------------------------------------------

struct DiscoveryOptions {
  // Follow symbolic links whose target lies outside the scanned folder. Links
  // inside it are always followed; loops are detected either way.
  bool follow_symlinks_outside = false;
  // Folders deeper than this below the scanned path are not visited.
  int max_depth = 32;
};

// One checkpoint found on disk: a step folder (composite or direct) or an
// unfinished save. Holds only what listing and stat tell.
struct CheckpointLocation {
  std::filesystem::path directory;  // absolute, lexically normal
  std::filesystem::path root;       // the folder holding the steps; empty if none
  std::string step_name;            // folder name
  std::optional<int64_t> step;      // parse_step_name(step_name), or the tmp name's step
  bool direct = false;              // the folder itself is the (single) item
  bool finished = true;
  std::string unfinished_reason;
  // Set when discover() was given an item folder: read only this item.
  std::optional<std::string> only_item;

  bool operator==(const CheckpointLocation&) const = default;
};

// A folder holding checkpoints (a CheckpointManager root or a plain parent).
struct RootLocation {
  std::filesystem::path directory;
  bool has_root_metadata = false;  // metadata/_ROOT_METADATA or legacy metadata/metadata
};

struct Discovery {
  std::vector<CheckpointLocation> checkpoints;  // ordered by root, then step, then name
  std::vector<RootLocation> roots;              // ordered by path
  std::vector<Problem> problems;                // skipped links, loops, unreadable folders
};

// Finds every checkpoint at or below `path`, which may be a tree of runs, a
// CheckpointManager root, a step folder or an item folder. The rules are
// written out in lib/orbax/discovery.cc. Throws ckptcat::Error kNotFound when
// `path` does not exist ("does not exist") or is not a folder ("not a folder"),
// kIO when it cannot be looked at.
Discovery discover(const std::filesystem::path& path, const DiscoveryOptions& options = {});

// The step number a folder name stands for: "23", "0023", "step_23",
// "step_0023" and any "<prefix>_<digits>";
// nullopt for names such as "best" or digits that overflow int64.
std::optional<int64_t> parse_step_name(std::string_view name);

// A cheap change detector: 16 hex digits hashing the relative path, size and
// mtime (ns) of every metadata file of the checkpoint and the mtime of its
// folders, computed with stat only (no file is opened). Equal fingerprints mean
// no metadata file changed.
std::string fingerprint(const CheckpointLocation& location);

// ---- reading ----------------------------------------------------------------------

struct ReadOptions {
  bool stored_sizes = true;   // count chunk values per array (Leaf::stored)
  bool string_values = true;  // read _strings.json into Leaf::string_value
};

struct ParseCache;  // lib/orbax/parse_cache.h

// Reads checkpoints one after another and remembers the parse of every
// metadata text it has read: the steps of a run repeat their _METADATA,
// _sharding, array_metadatas and zarr metadata byte for byte, and each
// distinct text is parsed once per Reader. Results equal the free functions'
// below. One Reader per thread (it is not thread-safe); what it remembers is
// bounded to a few tens of MiB.
class Reader {
 public:
  explicit Reader(ReadOptions options = {});
  ~Reader();
  Reader(Reader&&) noexcept;
  Reader& operator=(Reader&&) noexcept;

  // Reads one checkpoint: step metadata and every item.
  CheckpointMetadata read_checkpoint(const CheckpointLocation& location);

  // The same into `into`, written over what it holds: pass a result you are
  // done with, and its strings, vectors and leaves are reused in place (an
  // item's by the item of the same name), so a loop over steps that look
  // alike allocates almost nothing. `into` ends up exactly as
  // read_checkpoint(location) would return it.
  void read_checkpoint(const CheckpointLocation& location, CheckpointMetadata& into);

  // Reads one item folder. `name` is the item name ("" for a direct
  // checkpoint), `handler` its typestr from item_handlers when known.
  ItemMetadata read_item(const std::filesystem::path& item_dir, const std::string& name,
                         const std::optional<std::string>& handler = std::nullopt);
  void read_item(const std::filesystem::path& item_dir, const std::string& name,
                 const std::optional<std::string>& handler, ItemMetadata& into);

 private:
  ReadOptions options_;
  std::unique_ptr<ParseCache> cache_;
};

// One-off reads (a fresh Reader each).
CheckpointMetadata read_checkpoint(const CheckpointLocation& location,
                                   const ReadOptions& options = {});
ItemMetadata read_item(const std::filesystem::path& item_dir, const std::string& name,
                       const std::optional<std::string>& handler = std::nullopt,
                       const ReadOptions& options = {});

// ---- array store keys ------------------------------------------------------------

// Whether `rest`, what follows "<param>/" in a key of an item's array store
// (an OCDBT key or a path below the item folder), names a stored chunk:
// zarr v2 "0", "0.1" (or "0/1"); zarr v3 "c", "c/0/1" (or "c.0.1"). Metadata
// (".zarray", "zarr.json") and anything else is not a chunk. Lets tools that
// look at a store (ckptcat verify) count chunks the way the reader does.
bool is_chunk_key(std::string_view rest, bool zarr3);

// Root metadata of a CheckpointManager folder (orbax-format.md §2.6).
struct RootMetadata {
  bool present = false;
  bool legacy = false;                   // read from metadata/metadata
  std::string file;                      // the file read
  std::string internal_metadata = "{}";  // JSON text
  std::string custom_metadata = "{}";    // JSON text
  std::vector<Problem> problems;
};
RootMetadata read_root_metadata(const std::filesystem::path& root);

}  // namespace ckptcat::orbax
