// Reading a whole checkpoint (ckptcat/reader.h read_checkpoint) and root
// metadata.
//
// A checkpoint is finished unless its name marks a tmp / partial / pending save
// or its _CHECKPOINT_METADATA has commit_timestamp_nsecs null (orbax-format.md
// §1.3). commit_success.txt is recorded, not required (POSIX saves before
// mid-2025 have none). Items of a composite checkpoint are its sub-folders
// (Orbax lists directories; names in item_handlers without a folder are not
// items). Item folders with tmp names are unfinished items: reported as a
// problem, not read. When a `metrics` JSON item exists its content replaces
// step_metadata.metrics, as CheckpointManager.metadata(step) does (§2.4).
#include <algorithm>

#include "ckptcat/reader.h"
#include "file_stat.h"
#include "folder_layout.h"
#include "json_file.h"
#include "mounts.h"
#include "parse_cache.h"
#include "step_metadata.h"
#include "step_name.h"

namespace ckptcat::orbax {

namespace fs = std::filesystem;

Reader::Reader(ReadOptions options)
    : options_(options), cache_(std::make_unique<ParseCache>()) {}
Reader::~Reader() = default;
Reader::Reader(Reader&&) noexcept = default;
Reader& Reader::operator=(Reader&&) noexcept = default;

CheckpointMetadata read_checkpoint(const CheckpointLocation& location, const ReadOptions& options) {
  return Reader(options).read_checkpoint(location);
}

namespace {

// The item of `spare` named `name` (else any, else a new one), taken out.
ItemMetadata take_spare(std::vector<ItemMetadata>& spare, const std::string& name) {
  if (spare.empty()) return {};
  auto it = std::find_if(spare.begin(), spare.end(),
                         [&](const ItemMetadata& item) { return item.name == name; });
  if (it == spare.end()) it = spare.end() - 1;
  ItemMetadata item = std::move(*it);
  spare.erase(it);
  return item;
}

}  // namespace

CheckpointMetadata Reader::read_checkpoint(const CheckpointLocation& location) {
  CheckpointMetadata m;
  read_checkpoint(location, m);
  return m;
}

void Reader::read_checkpoint(const CheckpointLocation& location, CheckpointMetadata& m) {
  std::vector<ItemMetadata> spare = std::move(m.items);
  m = CheckpointMetadata{};
  const fs::path dir = storage::normal_location(location.directory.string());
  m.directory = dir.string();
  m.root = location.root.string();
  m.step_name = location.step_name.empty() ? dir.filename().string() : location.step_name;
  m.step = location.step;
  m.direct = location.direct;
  m.finished = location.finished;
  m.unfinished_reason = location.unfinished_reason;

  std::error_code ec;
  const FolderListing listing = list_folder(dir, ec);
  if (ec) {
    m.problems.push_back({Problem::Severity::kError, dir.string(), "cannot list folder: " + ec.message()});
    return;
  }
  m.layout_version = listing.has("orbax.checkpoint") ? 1 : 0;
  m.commit_marker = listing.has("commit_success.txt");
  m.mtime_nsecs = stat_path(dir).mtime_nsecs;
  m.step_metadata = read_step_metadata(dir, m.problems);
  if (m.step_metadata.commit_timestamp_null && m.finished) {
    m.finished = false;
    m.unfinished_reason = "commit_timestamp_nsecs is null: the save was not committed";
  }

  const auto& handlers = m.step_metadata.item_handlers;
  auto handler_of = [&](const std::string& item) -> std::optional<std::string> {
    if (!handlers) return std::nullopt;
    if (const auto* s = std::get_if<std::string>(&*handlers)) return m.direct ? *s : std::optional<std::string>();
    const auto& map = std::get<1>(*handlers);
    const auto it = map.find(item);
    return it == map.end() ? std::nullopt : it->second;
  };

  auto add_item = [&](const fs::path& item_dir, const std::string& name) -> const ItemMetadata& {
    m.items.push_back(take_spare(spare, name));
    read_item(item_dir, name, handler_of(name), m.items.back());
    return m.items.back();
  };
  if (m.direct) {
    add_item(dir, "");
    return;
  }
  for (const auto& name : listing.folders) {
    if (location.only_item && name != *location.only_item) continue;
    if (const std::string reason = unfinished_name_reason(name); !reason.empty()) {
      m.problems.push_back({Problem::Severity::kWarning, (dir / name).string(),
                            "unfinished item not read: " + reason});
      continue;
    }
    const auto& item = add_item(dir / name, name);
    if (name == "metrics" && item.kind == ItemKind::kJson && item.json_content) {
      try {
        m.step_metadata.metrics = to_python_json(parse_json(*item.json_content, item.directory));
      } catch (const Error&) {
      }
    }
  }
  std::sort(m.items.begin(), m.items.end(),
            [](const ItemMetadata& a, const ItemMetadata& b) { return a.name < b.name; });
}

RootMetadata read_root_metadata(const fs::path& root) {
  RootMetadata out;
  for (const bool legacy : {false, true}) {
    const fs::path file = root / "metadata" / (legacy ? "metadata" : "_ROOT_METADATA");
    if (!regular_file_exists(file)) continue;
    try {
      out = parse_root_metadata(read_file_bounded(file), file.string(), legacy);
    } catch (const Error& e) {
      out.file = file.string();
      out.problems.push_back(Problem::from_error(e, Problem::Severity::kError, file.string()));
    }
    return out;
  }
  return out;
}

}  // namespace ckptcat::orbax
