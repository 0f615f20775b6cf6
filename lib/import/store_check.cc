// Array store checks (store_check.h).
#include "store_check.h"

#include <optional>
#include <set>

#include "ckptcat/error.h"
#include "ckptcat/ocdbt.h"
#include "ckptcat/reader.h"
#include "item_path.h"

namespace ckptcat::import_detail {
namespace {

namespace fs = std::filesystem;
using Kind = VerifyFinding::Kind;
using Severity = Problem::Severity;

// The message of `e` with its byte offset (Problem::from_error's form).
std::string describe(const Error& e) { return Problem::from_error(e, Severity::kError, {}).message; }

// The last component of a chunk key: an index list ("0", "0.1") or "c".
bool chunk_like(std::string_view last) {
  return last == "c" || orbax::is_chunk_key(last, /*zarr3=*/false);
}

// Out-of-line values per data file, checked against the file's size. Files
// are stat'ed only inside the item (a linked data file leading out is reported).
class DataFileCheck {
 public:
  explicit DataFileCheck(const fs::path& item_dir) : root_(item_dir) {}
  void add(const ocdbt::KeyEntry& entry) {
    auto [it, inserted] = files_.try_emplace(entry.location.file);
    File& f = it->second;
    if (inserted) {
      std::error_code ec;
      std::string why;
      if (const auto path = root_.resolve_absolute(entry.location.file, why)) {
        const auto size = fs::file_size(*path, ec);
        if (!ec) f.size = size;
      } else {
        f.escapes = why;
      }
    }
    const bool in_range = f.size && entry.location.offset <= *f.size &&
                          entry.value_size <= *f.size - entry.location.offset;
    if (in_range) return;
    if (!f.bad_values++) f.first_key = entry.key;
    f.bad_bytes += entry.value_size;
  }
  void report(const FindingSink& sink) const {
    for (const auto& [file, f] : files_) {
      if (!f.bad_values) continue;
      const std::string values = std::to_string(f.bad_values) + " value" +
                                 (f.bad_values == 1 ? "" : "s") + " (" +
                                 std::to_string(f.bad_bytes) + " bytes, first key \"" +
                                 f.first_key + "\")";
      if (!f.escapes.empty())
        sink(Kind::kPathEscapes, Severity::kError, file,
             storage::escape_message("data file", file, f.escapes) + ": " + values + " not checked");
      else if (!f.size)
        sink(Kind::kDataFileMissing, Severity::kError, file, "data file missing: " + values + " stored in it");
      else
        sink(Kind::kValueOutOfRange, Severity::kError, file,
             values + " lie past the end of the file (" + std::to_string(*f.size) + " bytes)");
    }
  }

 private:
  struct File {
    std::optional<uint64_t> size;  // nullopt: cannot be stat'ed
    std::string escapes;           // why the path leads outside the item, if it does
    uint64_t bad_values = 0;
    uint64_t bad_bytes = 0;
    std::string first_key;
  };
  storage::LocalItemRoot root_;
  std::map<std::string, File> files_;
};

}  // namespace

void ZarrKeyCheck::add(std::string_view key) {
  const size_t slash = key.rfind('/');
  const std::string folder(slash == std::string_view::npos ? std::string_view() : key.substr(0, slash));
  const std::string_view last = slash == std::string_view::npos ? key : key.substr(slash + 1);
  if (last == ".zarray") {
    arrays_.emplace(folder, false);
  } else if (last == "zarr.json") {
    arrays_.emplace(folder, true);
  } else if (chunk_like(last)) {
    Folder& f = folders_[folder];
    if (!f.count++) f.sample = std::string(last);
  }
}

void ZarrKeyCheck::report(const std::function<std::string(const std::string&)>& location,
                          const FindingSink& sink) const {
  // The params `folder` + "/" + sample may belong to: the folder itself, then
  // each shorter prefix ending before a "/", then the empty (top-level) param.
  auto candidates = [](const std::string& folder, const std::string& sample) {
    std::vector<std::pair<std::string, std::string>> out;  // (param, chunk key rest)
    out.emplace_back(folder, sample);
    for (size_t end = folder.size(); end > 0;) {
      const size_t slash = folder.rfind('/', end - 1);
      if (slash == std::string::npos) break;
      out.emplace_back(folder.substr(0, slash), folder.substr(slash + 1) + "/" + sample);
      end = slash;
    }
    if (!folder.empty()) out.emplace_back("", folder + "/" + sample);
    return out;
  };
  std::map<std::string, uint64_t> chunks;    // param -> chunk keys
  std::map<std::string, uint64_t> orphans;   // guessed param -> chunk keys
  for (const auto& [folder, f] : folders_) {
    const auto options = candidates(folder, f.sample);
    std::optional<std::string> owner;
    for (const auto& [param, rest] : options) {
      const auto it = arrays_.find(param);
      if (it != arrays_.end() && orbax::is_chunk_key(rest, it->second)) {
        owner = param;
        break;
      }
    }
    if (owner) {
      chunks[*owner] += f.count;
      continue;
    }
    // Name the orphans after the shortest prefix they are chunks of.
    std::string guess = folder;
    for (auto it = options.rbegin(); it != options.rend(); ++it)
      if (orbax::is_chunk_key(it->second, false) || orbax::is_chunk_key(it->second, true)) {
        guess = it->first;
        break;
      }
    orphans[guess] += f.count;
  }
  for (const auto& [param, count] : orphans)
    sink(Kind::kChunksWithoutMetadata, Severity::kError, location(param),
         std::to_string(count) + " chunk key" + (count == 1 ? "" : "s") + " of array \"" + param +
             "\" without zarr metadata (.zarray or zarr.json)");
  for (const auto& [param, zarr3] : arrays_)
    if (!chunks.count(param))
      sink(Kind::kMetadataWithoutChunks, Severity::kWarning, location(param),
           "array \"" + param + "\" has zarr metadata but no stored chunk (all values equal "
           "the fill value, or its chunks are lost)");
}

uint64_t check_ocdbt_store(const fs::path& dir, const FindingSink& sink) {
  const std::string manifest = (dir / "manifest.ocdbt").string();
  std::optional<ocdbt::Database> db;
  try {
    db.emplace(ocdbt::Database::open(dir));
  } catch (const Error& e) {
    sink(Kind::kStoreUnreadable, Severity::kError, e.file().empty() ? dir.string() : e.file(),
         "cannot open the OCDBT database: " + describe(e));
    return 0;
  }
  if (db->fallback())
    sink(Kind::kStoreUnreadable, Severity::kError, manifest, db->fallback_reason());
  ZarrKeyCheck zarr;
  DataFileCheck data_files(dir);
  uint64_t keys = 0;
  try {
    // Listing everything reads (and checksums) every node of the latest generation.
    db->list([&](const ocdbt::KeyEntry& entry) {
      ++keys;
      zarr.add(entry.key);
      if (!entry.location.is_inline) data_files.add(entry);
      return true;
    });
  } catch (const Error& e) {
    sink(Kind::kStoreUnreadable, Severity::kError, e.file().empty() ? manifest : e.file(),
         "cannot read the B+tree: " + describe(e) + " (after " + std::to_string(keys) + " keys)");
  }
  data_files.report(sink);
  zarr.report([&](const std::string& param) {
    return manifest + " key \"" + (param.empty() ? "" : param + "/") + "\"";
  }, sink);
  return keys;
}

uint64_t check_zarr_folder(const fs::path& dir, const FindingSink& sink) {
  // Folders of other stores and of Orbax's own metadata hold no zarr keys.
  static const std::set<std::string> kSkipped = {"d", "array_metadatas", "_sharding", "_METADATA"};
  ZarrKeyCheck zarr;
  const storage::LocalItemRoot root(dir);
  uint64_t files = 0;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (it.depth() == 0 && !it->is_symlink(ec) && it->is_directory(ec) &&
        (kSkipped.count(name) || name.rfind("ocdbt.process_", 0) == 0)) {
      it.disable_recursion_pending();
      continue;
    }
    if (it.depth() > 32) { it.disable_recursion_pending(); continue; }
    const std::string relative = it->path().lexically_relative(dir).generic_string();
    if (it->is_symlink(ec)) {
      // Followed only inside the item (a linked folder is never descended into).
      std::string why;
      const auto target = root.resolve(relative, why);
      if (!target) {
        sink(Kind::kPathEscapes, Severity::kError, it->path().string(),
             storage::escape_message("symbolic link", relative, why) + ": not followed");
        continue;
      }
      if (!fs::is_regular_file(*target, ec)) continue;
    } else if (!it->is_regular_file(ec)) {
      continue;
    }
    ++files;
    zarr.add(relative);
  }
  if (ec) sink(Kind::kStoreUnreadable, Severity::kError, dir.string(), "cannot list folder: " + ec.message());
  zarr.report([&](const std::string& param) { return (param.empty() ? dir : dir / param).string(); },
              sink);
  return files;
}

}  // namespace ckptcat::import_detail
