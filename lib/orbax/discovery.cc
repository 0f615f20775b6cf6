// Finding checkpoints (ckptcat/reader.h discover).
//
// Rules, applied to each folder F met while walking down from the given path:
//
//  1. Unfinished saves. F's name contains ".orbax-checkpoint-tmp" (also
//     "-<timestamp>"), ends in ".partial_save" or in ".pending_<ns>_<hex>":
//     F is reported as an unfinished checkpoint (its step parsed from the name
//     before the suffix) and not entered.
//  2. Checkpoints with step metadata. F holds _CHECKPOINT_METADATA or the v1
//     `orbax.checkpoint` indicator: F is a checkpoint. It is direct when F
//     itself holds pytree files (_METADATA, _sharding, manifest.ocdbt,
//     array_metadatas/, ocdbt.process_*/, _strings.json, msgpack
//     `checkpoint`), else composite (each sub-folder an item). Its
//     _CHECKPOINT_METADATA is parsed only to see whether commit_timestamp_nsecs
//     is null (an interrupted v0 save: unfinished).
//  3. Direct checkpoints without step metadata. F holds pytree files: F is a
//     direct checkpoint (older StandardCheckpointer saves, legacy layouts).
//  4. Composite steps without step metadata. Some sub-folder of F holds
//     pytree files (without being a checkpoint by rule 2) and not all such
//     sub-folders have step names: F is a composite step whose items are its
//     sub-folders. (When they all have step names, or some sub-folder is a
//     checkpoint by rule 2, F is a folder of checkpoints: rule 5.) A folder of direct checkpoints saved without step
//     metadata under non-step names is indistinguishable from a composite step
//     without step metadata; it is read as the latter (items keep their paths).
//  5. Otherwise F is walked into. A sub-folder named "metadata" that holds
//     _ROOT_METADATA or the legacy `metadata` file is F's root metadata, not a
//     checkpoint, and is skipped.
//
// A checkpoint is not entered further. The folder holding a checkpoint is its
// root. When the given path is an item of a composite checkpoint (its parent is
// a checkpoint by rule 2 and does not hold pytree files itself), the parent is
// reported with only_item set. Symbolic links are followed only when their
// target lies inside the scanned folder (or options allow), each real folder
// is visited once (links to an ancestor are reported as loops), and the walk
// stops at options.max_depth.
//
// Object URLs (storage/mounts.h) are walked the same way, one delimiter
// listing per folder (never a recursive listing); they have no links. There
// _CHECKPOINT_METADATA is not fetched to look for a null commit timestamp:
// discovery costs listings only, so an unchanged checkpoint costs no object
// read, and the checkpoint reader, which reads that file anyway, marks such a
// save unfinished.
#include <algorithm>
#include <set>

#include "ckptcat/reader.h"
#include "file_stat.h"
#include "folder_layout.h"
#include "json_file.h"
#include "mounts.h"
#include "step_metadata.h"
#include "step_name.h"

namespace ckptcat::orbax {
namespace {

namespace fs = std::filesystem;

// Step metadata larger than this is not parsed during discovery.
constexpr uint64_t kMaxStepMetadataBytes = 1 << 20;

bool is_root_metadata_folder(const fs::path& dir) {
  return regular_file_exists(dir / "_ROOT_METADATA") || regular_file_exists(dir / "metadata");
}

bool within(const fs::path& path, const fs::path& base) {
  const auto rel = path.lexically_relative(base);
  return !rel.empty() && *rel.begin() != "..";
}

class Walker {
 public:
  Walker(fs::path base, const DiscoveryOptions& options, Discovery& out)
      : base_(std::move(base)), options_(options), out_(out) {}

  void walk(const fs::path& dir, int depth) {
    const bool url = storage::is_url(dir.native());  // no links, so no loops
    const FileStat st = url ? FileStat{} : stat_path(dir);
    if (!url && !visited_.insert({st.device, st.inode}).second) {
      out_.problems.push_back({Problem::Severity::kWarning, dir.string(),
                               "folder already visited (symbolic link loop or duplicate link)"});
      return;
    }
    const std::string name = dir.filename().string();
    if (std::string reason = unfinished_name_reason(name); !reason.empty()) {
      CheckpointLocation loc = location(dir, /*direct=*/false);
      loc.step = parse_step_name(final_name(name));
      loc.finished = false;
      loc.unfinished_reason = std::move(reason);
      std::error_code ec;
      const FolderListing listing = list_folder(dir, ec);
      loc.direct = holds_pytree(listing);
      out_.checkpoints.push_back(std::move(loc));
      return;
    }
    std::error_code ec;
    const FolderListing listing = list_folder(dir, ec);
    if (ec) {
      out_.problems.push_back({Problem::Severity::kError, dir.string(),
                               "cannot list folder: " + ec.message()});
      return;
    }
    if (holds_step_marker(listing) || holds_pytree(listing)) {
      add_checkpoint(dir, listing);
      return;
    }
    if (is_unmarked_composite(dir, listing)) {
      add_checkpoint(dir, listing);
      return;
    }
    if (depth >= options_.max_depth) {
      out_.problems.push_back({Problem::Severity::kWarning, dir.string(),
                               "deeper than max_depth; not searched"});
      return;
    }
    for (const auto& sub : listing.folders) {
      const fs::path child = dir / sub;
      if (sub == "metadata" && is_root_metadata_folder(child)) continue;
      if (!follow(child)) continue;
      walk(child, depth + 1);
    }
  }

  CheckpointLocation location(const fs::path& dir, bool direct) const {
    CheckpointLocation loc;
    loc.directory = dir;
    loc.root = dir.parent_path();
    loc.step_name = dir.filename().string();
    loc.step = parse_step_name(loc.step_name);
    loc.direct = direct;
    return loc;
  }

  void add_checkpoint(const fs::path& dir, const FolderListing& listing) {
    CheckpointLocation loc = location(dir, holds_pytree(listing));
    if (listing.has("_CHECKPOINT_METADATA") && !storage::is_url(dir.native())) mark_null_commit(dir, loc);
    out_.checkpoints.push_back(std::move(loc));
  }

  // Rule 2's commit timestamp check (unreadable files are left to the reader).
  static void mark_null_commit(const fs::path& dir, CheckpointLocation& loc) {
    const auto file = dir / "_CHECKPOINT_METADATA";
    try {
      std::vector<Problem> ignored;
      const StepMetadata meta =
          parse_step_metadata(read_file_bounded(file, kMaxStepMetadataBytes), file.string());
      if (meta.commit_timestamp_null) {
        loc.finished = false;
        loc.unfinished_reason = "commit_timestamp_nsecs is null: the save was not committed";
      }
    } catch (const Error&) {
    }
  }

  // Rule 4.
  static bool is_unmarked_composite(const fs::path& dir, const FolderListing& listing) {
    bool any_item = false, all_steps = true;
    for (const auto& sub : listing.folders) {
      if (!unfinished_name_reason(sub).empty()) continue;
      std::error_code ec;
      const FolderListing child = list_folder(dir / sub, ec);
      if (ec) continue;
      // Items never hold step metadata: sub-folders that do make F a folder
      // of checkpoints, even when a damaged sibling lost its marker.
      if (holds_step_marker(child)) return false;
      if (!holds_pytree(child)) continue;
      any_item = true;
      all_steps = all_steps && parse_step_name(sub).has_value();
    }
    return any_item && !all_steps;
  }

  bool follow(const fs::path& child) {
    const FileStat link = stat_path(child, /*follow_links=*/false);
    if (!link.is_symlink || options_.follow_symlinks_outside) return true;
    std::error_code ec;
    const fs::path target = fs::canonical(child, ec);
    if (ec) {
      out_.problems.push_back({Problem::Severity::kWarning, child.string(),
                               "broken symbolic link: " + ec.message()});
      return false;
    }
    if (target == base_ || within(target, base_)) return true;
    out_.problems.push_back({Problem::Severity::kWarning, child.string(),
                             "symbolic link to " + target.string() +
                                 " leaves the scanned folder; not followed"});
    return false;
  }

 private:
  fs::path base_;  // canonical scanned folder
  const DiscoveryOptions& options_;
  Discovery& out_;
  std::set<std::pair<uint64_t, uint64_t>> visited_;
};

bool location_less(const CheckpointLocation& a, const CheckpointLocation& b) {
  if (a.root != b.root) return a.root < b.root;
  if (a.step.has_value() != b.step.has_value()) return a.step.has_value();
  if (a.step && *a.step != *b.step) return *a.step < *b.step;
  return a.step_name < b.step_name;
}

Discovery discover_from(const fs::path& start, const fs::path& base, const DiscoveryOptions& options);
Discovery discover_objects(const fs::path& start, const DiscoveryOptions& options);

}  // namespace

Discovery discover(const fs::path& path, const DiscoveryOptions& options) {
  std::error_code ec;
  if (storage::is_url(path.native())) return discover_objects(storage::normal_location(path.string()), options);
  fs::path start = fs::absolute(path, ec).lexically_normal();
  if (!start.has_filename() && start.has_parent_path()) start = start.parent_path();
  const auto status = ec ? fs::file_status() : fs::status(start, ec);
  if (status.type() == fs::file_type::not_found)
    throw Error(Error::Code::kNotFound, "does not exist", path.string());
  if (ec) throw Error(Error::Code::kIO, "cannot access: " + ec.message(), path.string());
  if (!fs::is_directory(status)) throw Error(Error::Code::kNotFound, "not a folder", path.string());
  const fs::path canonical = fs::canonical(start, ec);
  if (ec) throw Error(Error::Code::kIO, "cannot resolve: " + ec.message(), path.string());

  return discover_from(start, canonical, options);
}

namespace {

// An object URL: a prefix that lists nothing does not exist.
Discovery discover_objects(const fs::path& start, const DiscoveryOptions& options) {
  if (storage::store_for(start.native()).list(start.native()).empty())
    throw Error(Error::Code::kNotFound, "no objects under this prefix", start.string());
  return discover_from(start, start, options);
}

Discovery discover_from(const fs::path& start, const fs::path& base, const DiscoveryOptions& options) {
  Discovery out;
  Walker walker(base, options, out);

  // An item folder of a composite checkpoint: report its step, limited to it.
  const fs::path parent = start.parent_path();
  std::error_code list_ec, parent_ec;
  const FolderListing own = list_folder(start, list_ec);
  const FolderListing parent_listing = list_folder(parent, parent_ec);
  if (!parent_ec && parent != start && holds_step_marker(parent_listing) &&
      !holds_pytree(parent_listing) && !holds_step_marker(own)) {
    walker.add_checkpoint(parent, parent_listing);
    out.checkpoints.back().only_item = start.filename().string();
  } else {
    walker.walk(start, 0);
  }

  std::sort(out.checkpoints.begin(), out.checkpoints.end(), location_less);
  std::set<fs::path> roots;
  for (const auto& c : out.checkpoints)
    if (!c.root.empty()) roots.insert(c.root);
  for (const auto& r : roots) {
    const bool meta = regular_file_exists(r / "metadata" / "_ROOT_METADATA") ||
                      regular_file_exists(r / "metadata" / "metadata");
    out.roots.push_back({r, meta});
  }
  return out;
}

}  // namespace

}  // namespace ckptcat::orbax
