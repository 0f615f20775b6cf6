// The Verifier (ckptcat/verifier.h): catalog against disk, and store checks.
#include "ckptcat/verifier.h"

#include <algorithm>
#include <set>

#include "ckptcat/checkpoint_diff.h"
#include "ckptcat/error.h"
#include "ckptcat/leaf_fields.h"
#include "ckptcat/reader.h"
#include "mounts.h"
#include "store_check.h"

namespace ckptcat {
namespace {

// Whether an object URL's folder lists anything (its store is mounted by the
// caller, storage/mounts.h); false when it cannot be listed.
bool object_folder_listed(const std::string& url) {
  try {
    return !storage::store_for(url).list(url).empty();
  } catch (const Error&) {
    return false;
  }
}

namespace fs = std::filesystem;
using Kind = VerifyFinding::Kind;
using Severity = Problem::Severity;

std::string change_text(const std::vector<FieldChange>& fields) {
  std::string out;
  for (const auto& f : fields)
    out += (out.empty() ? "" : "; ") + f.field + " " + f.before + " -> " + f.after;
  return out;
}

class Run {
 public:
  Run(const Catalog& catalog, const VerifyOptions& options, VerifyReport& report)
      : catalog_(catalog), options_(options), report_(report) {}

  void add(Kind kind, Severity severity, std::string checkpoint, std::string item,
           std::string leaf, std::string file, std::string message) {
    report_.findings.push_back({kind, severity, std::move(checkpoint), std::move(item),
                                std::move(leaf), std::move(file), std::move(message)});
  }

  void checkpoint(const CheckpointSummary& summary) {
    ++report_.checkpoints;
    const std::string& dir = summary.directory;
    std::error_code ec;
    const bool url = dir.starts_with("s3://") || dir.starts_with("gs://");
    if (url ? !object_folder_listed(dir) : fs::status(dir, ec).type() == fs::file_type::not_found) {
      add(Kind::kFolderMissing, Severity::kError, dir, "", "", dir, "checkpoint folder is gone");
      return;
    }
    const auto stored = catalog_.load_checkpoint(dir);
    if (!stored) return;  // removed by another process meanwhile
    std::optional<CheckpointMetadata> disk;
    if (options_.compare) disk = reread(summary, *stored);
    // Array stores are checked on local disks only (their walks are not
    // written against object stores yet); the re-read above covers URLs.
    if (options_.stores && !url)
      for (const auto& item : disk ? disk->items : stored->items) check_store(dir, item);
  }

  void not_imported(const std::string& base, const std::set<std::string>& catalogued) {
    std::error_code ec;
    if (!fs::is_directory(base, ec)) return;
    orbax::Discovery found;
    try {
      found = orbax::discover(base);
    } catch (const Error& e) {
      add(Kind::kReadFailed, Severity::kError, base, "", "", e.file().empty() ? base : e.file(),
          e.message());
      return;
    }
    for (const auto& loc : found.checkpoints)
      if (!catalogued.count(loc.directory.string()))
        add(Kind::kNotImported, Severity::kWarning, loc.directory.string(), "", "",
            loc.directory.string(), "checkpoint on disk is not in the catalog");
  }

 private:
  // Reads the checkpoint again and reports what differs from the catalog.
  std::optional<CheckpointMetadata> reread(const CheckpointSummary& summary,
                                           const CheckpointMetadata& stored) {
    const std::string& dir = summary.directory;
    std::optional<orbax::CheckpointLocation> location;
    try {
      for (auto& loc : orbax::discover(dir).checkpoints)
        if (loc.directory.string() == dir) location = std::move(loc);
    } catch (const Error& e) {
      add(Kind::kReadFailed, Severity::kError, dir, "", "", e.file().empty() ? dir : e.file(),
          "cannot list: " + e.message());
      return std::nullopt;
    }
    if (!location) {
      add(Kind::kReadFailed, Severity::kError, dir, "", "", dir,
          "folder is no longer a checkpoint");
      return std::nullopt;
    }
    location->only_item.reset();
    location->root = stored.root;
    CheckpointMetadata disk;
    try {
      const std::string fingerprint = orbax::fingerprint(*location);
      if (fingerprint != summary.fingerprint)
        add(Kind::kCheckpointChanged, Severity::kWarning, dir, "", "", dir,
            "metadata files changed since import (fingerprint " + summary.fingerprint + " -> " +
                fingerprint + ")");
      disk = orbax::read_checkpoint(*location);
    } catch (const Error& e) {
      add(Kind::kReadFailed, Severity::kError, dir, "", "", e.file().empty() ? dir : e.file(),
          e.message());
      return std::nullopt;
    }
    const auto diff = diff_checkpoints(stored, disk, {.exhaustive = true});
    if (!diff.fields.empty())
      add(Kind::kCheckpointChanged, Severity::kError, dir, "", "", dir, change_text(diff.fields));
    for (const auto& item : diff.items) {
      switch (item.kind) {
        case ItemDiff::Kind::kAdded:
          add(Kind::kItemAdded, Severity::kError, dir, item.name, "", item.after_directory,
              "item on disk is not in the catalog");
          continue;
        case ItemDiff::Kind::kRemoved:
          add(Kind::kItemRemoved, Severity::kError, dir, item.name, "", item.before_directory,
              "catalogued item is gone from disk");
          continue;
        case ItemDiff::Kind::kCompared:
          break;
      }
      if (!item.fields.empty())
        add(Kind::kItemChanged, Severity::kError, dir, item.name, "", item.after_directory,
            change_text(item.fields));
      for (const auto& leaf : item.leaves) {
        const Kind kind = leaf.kind == LeafChange::Kind::kAdded     ? Kind::kLeafAdded
                          : leaf.kind == LeafChange::Kind::kRemoved ? Kind::kLeafRemoved
                                                                    : Kind::kLeafChanged;
        const std::string message = leaf.kind == LeafChange::Kind::kAdded
                                        ? "leaf on disk is not in the catalog"
                                    : leaf.kind == LeafChange::Kind::kRemoved
                                        ? "catalogued leaf is gone from disk"
                                        : change_text(leaf.fields);
        add(kind, Severity::kError, dir, item.name, leaf.name, item.after_directory, message);
      }
    }
    return disk;
  }

  void check_store(const std::string& checkpoint, const ItemMetadata& item) {
    const bool ocdbt = item.array_store == ArrayStore::kOcdbt ||
                       item.array_store == ArrayStore::kOcdbtFallback ||
                       item.flags.use_ocdbt.value_or(false);
    const bool files = !ocdbt && (item.array_store == ArrayStore::kFiles ||
                                  item.array_store == ArrayStore::kMsgpack);
    if (!ocdbt && !files) return;
    import_detail::FindingSink sink = [&](Kind kind, Severity severity, const std::string& file,
                                          const std::string& message) {
      add(kind, severity, checkpoint, item.name, "", file, message);
    };
    ++report_.stores;
    report_.keys += ocdbt ? import_detail::check_ocdbt_store(item.directory, sink)
                          : import_detail::check_zarr_folder(item.directory, sink);
  }

  const Catalog& catalog_;
  const VerifyOptions& options_;
  VerifyReport& report_;
};

}  // namespace

const char* to_string(VerifyFinding::Kind kind) noexcept {
  switch (kind) {
    case Kind::kCatalog: return "catalog";
    case Kind::kFolderMissing: return "folder-missing";
    case Kind::kNotImported: return "not-imported";
    case Kind::kReadFailed: return "read-failed";
    case Kind::kCheckpointChanged: return "checkpoint-changed";
    case Kind::kItemAdded: return "item-added";
    case Kind::kItemRemoved: return "item-removed";
    case Kind::kItemChanged: return "item-changed";
    case Kind::kLeafAdded: return "leaf-added";
    case Kind::kLeafRemoved: return "leaf-removed";
    case Kind::kLeafChanged: return "leaf-changed";
    case Kind::kStoreUnreadable: return "store-unreadable";
    case Kind::kDataFileMissing: return "data-file-missing";
    case Kind::kValueOutOfRange: return "value-out-of-range";
    case Kind::kChunksWithoutMetadata: return "chunks-without-metadata";
    case Kind::kMetadataWithoutChunks: return "metadata-without-chunks";
    case Kind::kPathEscapes: return "path-escapes-item";
  }
  return "catalog";
}

uint64_t VerifyReport::error_count() const {
  return static_cast<uint64_t>(std::count_if(findings.begin(), findings.end(), [](const auto& f) {
    return f.severity == Severity::kError;
  }));
}
uint64_t VerifyReport::warning_count() const { return findings.size() - error_count(); }

Verifier::Verifier(const Catalog& catalog, VerifyOptions options)
    : catalog_(catalog), options_(options) {}

VerifyReport Verifier::run(const std::optional<std::string>& path) const {
  VerifyReport report;
  Run run(catalog_, options_, report);
  for (const auto& line : catalog_.verify())
    run.add(Kind::kCatalog, Severity::kError, "", "", "", catalog_.path(), line);
  const std::optional<std::string> base =
      path ? std::optional<std::string>(normal_path(*path)) : std::nullopt;
  std::set<std::string> catalogued;
  for (const auto& summary : catalog_.list_checkpoints()) {
    // A path inside a checkpoint (an item folder) verifies that checkpoint.
    if (base && !path_is_under(summary.directory, *base) && !path_is_under(*base, summary.directory))
      continue;
    catalogued.insert(summary.directory);
    run.checkpoint(summary);
  }
  if (base) run.not_imported(*base, catalogued);
  return report;
}

}  // namespace ckptcat
