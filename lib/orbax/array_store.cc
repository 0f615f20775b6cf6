// Array stores (see array_store.h).
//
// Keys (§6.3): zarr metadata under "<param>/.zarray" (v2) or "<param>/zarr.json"
// (v3); chunks under "<param>/0.0" (v2) or "<param>/c/0/0" (v3). A bare
// top-level leaf has the empty param name, so its keys have no prefix. Names
// may hold "/", so a key is attributed to the longest known param whose prefix
// leaves a valid chunk key.
#include "array_store.h"

#include "ckptcat/ocdbt.h"
#include "item_path.h"
#include "folder_layout.h"
#include "json_file.h"
#include "mounts.h"
#include "zarr.h"

namespace ckptcat::orbax {
namespace {

namespace fs = std::filesystem;

// digits (sep digits)*, sep "." or "/": one pass, as every key of a store
// goes through it.
bool is_index_list(std::string_view s) {
  bool in_number = false;
  for (const char c : s) {
    if (c >= '0' && c <= '9') in_number = true;
    else if ((c == '.' || c == '/') && in_number) in_number = false;
    else return false;
  }
  return in_number;
}

// is_chunk_key (reader.h), here where the compiler can inline it into the
// per-key loop of OcdbtStore.
inline bool chunk_key(std::string_view rest, bool zarr3) {
  if (!zarr3) return is_index_list(rest);
  if (rest == "c") return true;
  return rest.size() > 2 && rest[0] == 'c' && (rest[1] == '/' || rest[1] == '.') &&
         is_index_list(rest.substr(2));
}

std::string_view metadata_key(bool zarr3) { return zarr3 ? kZarr3MetadataKey : kZarr2MetadataKey; }

std::string key_prefix(const std::string& param) { return param.empty() ? "" : param + "/"; }

// The param a key belongs to (its index) and whether it is the metadata key.
struct KeyOwner {
  size_t param;
  bool is_metadata = false;
};

std::optional<KeyOwner> owner_of(std::string_view key, bool zarr3, const ParamIndex& params) {
  const auto meta = metadata_key(zarr3);
  // Candidate split points: every "/" from the right, then the empty param.
  size_t end = key.size();
  while (true) {
    const size_t slash = end == 0 ? std::string_view::npos : key.rfind('/', end - 1);
    const bool at_root = slash == std::string_view::npos;
    const std::string_view param = at_root ? std::string_view() : key.substr(0, slash);
    const std::string_view rest = at_root ? key : key.substr(slash + 1);
    // The cheap test on the remainder first; the lookup only for candidates.
    const bool is_meta = rest == meta;
    if (is_meta || chunk_key(rest, zarr3))
      if (const auto position = params.find(param)) return KeyOwner{*position, is_meta};
    if (at_root) return std::nullopt;
    end = slash;
  }
}

class OcdbtStore final : public ArrayStoreReader {
 public:
  OcdbtStore(ocdbt::Database db, bool zarr3, std::shared_ptr<const ParamIndex> index)
      : db_(std::move(db)), zarr3_(zarr3), index_(std::move(index)), params_(index_->size()) {
    // One pass over every key: value sizes only, no value is read. Keys come
    // sorted, so a param's keys are consecutive: try the last owner first.
    std::optional<KeyOwner> last;
    std::string_view last_name;
    db_.list([&](const ocdbt::KeyEntry& entry) {
      auto owner = same_owner(entry.key, last, last_name);
      if (!owner) owner = owner_of(entry.key, zarr3_, *index_);
      if (!owner) return true;
      if (!last || last->param != owner->param) last_name = index_->name(owner->param);
      last = owner;
      Param& param = params_[owner->param];
      if (!owner->is_metadata) {
        ++param.size.chunk_count;
        param.size.bytes += entry.value_size;
      } else if (!param.has_metadata) {  // the first entry wins
        param.has_metadata = true;
        param.metadata_size = entry.value_size;
        // An inline value is only valid during the visit: keep its bytes now,
        // so metadata() needs no second B+tree walk per leaf.
        if (entry.value_size > kMaxJsonFileBytes) return true;  // refused by metadata()
        if (entry.location.is_inline) {
          param.metadata_text = std::string(entry.inline_value);
        } else {
          param.stored_elsewhere = entry;
          param.stored_elsewhere->inline_value = {};
        }
      }
      return true;
    });
  }
  ArrayStore kind() const override {
    return db_.fallback() ? ArrayStore::kOcdbtFallback : ArrayStore::kOcdbt;
  }
  const std::string* metadata(const std::string& name) override {
    const Param* param = find(name);
    if (!param || !param->has_metadata) return nullptr;
    if (param->metadata_size > kMaxJsonFileBytes)
      throw Error(Error::Code::kInvalid, "zarr metadata value too large", metadata_location(name));
    if (!param->stored_elsewhere) return &param->metadata_text;
    read_buffer_ = db_.read(*param->stored_elsewhere);
    return &read_buffer_;
  }
  StoredSize stored_size(const std::string& name) override {
    const Param* param = find(name);
    return param ? param->size : StoredSize{};
  }
  std::string metadata_location(const std::string& param) const override {
    return (db_.directory() / "manifest.ocdbt").string() + " key \"" + key_prefix(param) +
           std::string(metadata_key(zarr3_)) + "\"";
  }

 private:
  // `last` (named `last_name`) as the owner of `key`, when it is: the rest
  // after "<last_name>/" is a chunk or metadata key that no longer param can
  // claim. owner_of tries longer params first; one could only claim a rest
  // holding a "/" (a zarr2 chunk "0/1" may be param ".../0", chunk "1"; zarr3
  // rests start with "c", which no index can), so those go the long way.
  std::optional<KeyOwner> same_owner(std::string_view key, const std::optional<KeyOwner>& last,
                                     std::string_view last_name) const {
    if (!last) return std::nullopt;
    std::string_view rest = key;
    if (!last_name.empty()) {
      if (key.size() <= last_name.size() || key.substr(0, last_name.size()) != last_name ||
          key[last_name.size()] != '/')
        return std::nullopt;
      rest = key.substr(last_name.size() + 1);
    }
    const bool is_meta = rest == metadata_key(zarr3_);
    if (!is_meta && !(chunk_key(rest, zarr3_) && (zarr3_ || rest.find('/') == rest.npos)))
      return std::nullopt;
    return KeyOwner{last->param, is_meta};
  }

  struct Param {
    bool has_metadata = false;
    uint64_t metadata_size = 0;
    std::string metadata_text;                        // an inline value's bytes
    std::optional<ocdbt::KeyEntry> stored_elsewhere;  // else where to read it from
    StoredSize size;
  };
  // The reader asks for a param's metadata, then for its stored size: the
  // last answer is kept, so the second question costs a compare, not a hash.
  const Param* find(const std::string& name) {
    if (found_ && name == *found_name_) return found_;
    const auto position = index_->find(name);
    if (!position) return nullptr;
    found_name_ = &index_->name(*position);
    found_ = &params_[*position];
    return found_;
  }

  ocdbt::Database db_;
  bool zarr3_;
  std::shared_ptr<const ParamIndex> index_;
  std::vector<Param> params_;  // by position in index_
  std::string read_buffer_;    // the last value read from a data file
  const std::string* found_name_ = nullptr;  // the last param find() found (in index_)
  const Param* found_ = nullptr;
};

// Plain zarr folders: a param's keys are files under "<item>/<param>/". Every
// path is resolved inside the item (item_path.h), so neither a hostile name nor
// a symbolic link in the item leads a read, listing or stat outside it.
class FileStore final : public ArrayStoreReader {
 public:
  FileStore(const fs::path& item_dir, bool zarr3) : root_(item_dir), zarr3_(zarr3) {}
  ArrayStore kind() const override { return ArrayStore::kFiles; }
  const std::string* metadata(const std::string& param) override {
    const auto path = inside(key_prefix(param) + std::string(metadata_key(zarr3_)));
    if (!entry_exists(path)) return nullptr;
    read_file_bounded(path, text_);
    return &text_;
  }
  StoredSize stored_size(const std::string& param) override {
    StoredSize size;
    const fs::path dir = inside(param);
    if (storage::is_url(dir.native())) {
      add_listed_chunks(dir, "", 0, size);
      return size;
    }
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) return size;
    // zarr v3 and "/"-separated v2 chunks nest; bound the walk depth. Links
    // are not descended into, and a linked chunk counts only when it stays inside.
    for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      if (it.depth() > 32) { it.disable_recursion_pending(); continue; }
      const std::string rel = it->path().lexically_relative(dir).generic_string();
      if (!chunk_key(rel, zarr3_)) continue;
      if (it->is_symlink(ec)) {
        std::string why;
        const auto resolved = root_.resolve(key_prefix(param) + rel, why);
        if (!resolved || !fs::is_regular_file(*resolved, ec)) continue;
        ++size.chunk_count;
        size.bytes += fs::file_size(*resolved, ec);
      } else if (it->is_regular_file(ec)) {
        ++size.chunk_count;
        size.bytes += it->file_size(ec);
      }
    }
    return size;
  }
  std::string metadata_location(const std::string& param) const override {
    return (root_.path() / (key_prefix(param) + std::string(metadata_key(zarr3_)))).string();
  }

 private:
  // The chunks under `dir` / `rel` of an object store, one delimiter listing
  // per folder level, as deep as the local walk goes.
  void add_listed_chunks(const fs::path& dir, const std::string& rel, int depth, StoredSize& size) const {
    const std::string folder = rel.empty() ? dir.string() : (dir / rel).string();
    const storage::Listing listing = storage::store_for(folder).list(folder);
    for (const auto& file : listing.files) {
      if (!chunk_key(rel.empty() ? file.name : rel + "/" + file.name, zarr3_)) continue;
      ++size.chunk_count;
      size.bytes += file.size;
    }
    if (depth >= 32) return;
    for (const auto& sub : listing.folders)
      add_listed_chunks(dir, rel.empty() ? sub : rel + "/" + sub, depth + 1, size);
  }

  // `relative` resolved inside the item; throws naming it when it leads outside.
  fs::path inside(const std::string& relative) const {
    std::string why;
    if (auto path = root_.resolve(relative, why)) return *path;
    throw Error(Error::Code::kInvalid, storage::escape_message("name", relative, why),
                (root_.path() / relative).string());
  }
  storage::LocalItemRoot root_;
  bool zarr3_;
  std::string text_;  // the last metadata file read
};

bool has_ocdbt_files(const fs::path& item_dir) {
  if (entry_exists(item_dir / "manifest.ocdbt")) return true;
  std::error_code ec;
  const FolderListing listing = list_folder(item_dir, ec);
  for (const auto* names : {&listing.folders, &listing.files})
    for (const auto& name : *names)
      if (name.rfind("ocdbt.process_", 0) == 0) return true;
  return false;
}

}  // namespace

bool is_chunk_key(std::string_view rest, bool zarr3) { return chunk_key(rest, zarr3); }

std::unique_ptr<ArrayStoreReader> open_array_store(const fs::path& item_dir,
                                                   std::optional<bool> use_ocdbt, bool zarr3,
                                                   std::shared_ptr<const ParamIndex> params,
                                                   std::vector<Problem>& problems) {
  const bool ocdbt = use_ocdbt.value_or(has_ocdbt_files(item_dir));
  if (!ocdbt) return std::make_unique<FileStore>(item_dir, zarr3);
  try {
    auto db = ocdbt::Database::open(item_dir);
    if (db.fallback())
      problems.push_back({Problem::Severity::kWarning, (item_dir / "manifest.ocdbt").string(),
                          "arrays read through the per-process databases: " +
                              db.fallback_reason()});
    return std::make_unique<OcdbtStore>(std::move(db), zarr3, std::move(params));
  } catch (const Error& e) {
    Problem p = Problem::from_error(e, Problem::Severity::kError, item_dir.string());
    p.message = "cannot open the OCDBT database: " + p.message;
    problems.push_back(std::move(p));
    return nullptr;
  }
}

}  // namespace ckptcat::orbax
