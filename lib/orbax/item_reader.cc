// Reading one item folder into ItemMetadata (ckptcat/reader.h read_item).
//
// Item kinds, decided from the folder content (orbax-format.md §1.1, §7, §8):
//  - pytree: holds _METADATA, or the legacy msgpack file `checkpoint`, or any
//    other pytree file (_sharding, manifest.ocdbt, array_metadatas/,
//    ocdbt.process_*); without _METADATA and msgpack it is an item-level error
//    (Orbax raises FileNotFoundError).
//  - json: handler typestr ends in JsonCheckpointHandler / JsonHandler /
//    MetricsHandler, or the folder holds data.json, metadata or metrics; the
//    content is kept as text (v1 data.json first, then metadata, metrics).
//  - other: anything else (proto items, random-key composites, ...).
//
// Leaves of a pytree come from _METADATA in file order; each gets its typed
// metadata (§6.1). Failures stay with the leaf (Leaf::error): a missing zarr
// metadata value leaves shape and dtype unknown, the rest of the item usable.
#include <map>
#include <unordered_map>

#include "array_metadatas.h"
#include "array_store.h"
#include "ckptcat/reader.h"
#include "item_path.h"
#include "json_file.h"
#include "legacy_checkpoint.h"
#include "folder_layout.h"
#include "mounts.h"
#include "parse_cache.h"
#include "sharding_file.h"
#include "strings_file.h"
#include "tree_metadata.h"
#include "zarr.h"

namespace ckptcat::orbax {
namespace {

namespace fs = std::filesystem;

// Dangling symbolic links count: reading one names it (json_file.h entry_exists).
bool path_exists(const fs::path& p) { return entry_exists(p); }

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool is_json_handler(const std::optional<std::string>& handler) {
  return handler && (ends_with(*handler, "JsonCheckpointHandler") ||
                     ends_with(*handler, "JsonHandler") || ends_with(*handler, "MetricsHandler"));
}

bool has_pytree_files(const fs::path& dir) {
  for (const char* name : {"_METADATA", "_sharding", "manifest.ocdbt", "array_metadatas",
                           "_strings.json"})
    if (path_exists(dir / name)) return true;
  std::error_code ec;
  const FolderListing listing = list_folder(dir, ec);
  for (const auto* names : {&listing.folders, &listing.files})
    for (const auto& name : *names)
      if (name.rfind("ocdbt.process_", 0) == 0) return true;
  return false;
}

// "<file>: <message>" of an error, for leaf and item errors (one line).
std::string where(const Error& e, const std::string& fallback_file) {
  const Problem p = Problem::from_error(e, Problem::Severity::kError, fallback_file);
  return p.file + ": " + p.message;
}

class PyTreeReader {
 public:
  // `spare_leaves`: leaves of an earlier result to write over (see from_tree_metadata).
  PyTreeReader(ItemMetadata& item, const ReadOptions& options, ParseCache& cache,
               std::vector<Leaf> spare_leaves)
      : item_(item), dir_(item.directory), metadata_file_(dir_ / "_METADATA"), options_(options), cache_(cache),
        spare_leaves_(std::move(spare_leaves)) {}

  void read() {
    const fs::path& metadata_file = metadata_file_;
    const auto msgpack_file = dir_ / "checkpoint";
    // Anything but a folder named `checkpoint` is read, so a FIFO or a link
    // leading outside is reported rather than passed over (or followed).
    const bool has_msgpack = file_entry_exists(msgpack_file);
    if (has_msgpack) read_msgpack(msgpack_file);
    if (path_exists(metadata_file)) {
      from_tree_metadata(metadata_file);
    } else if (has_msgpack && msgpack_ok_) {
      item_.problems.push_back({Problem::Severity::kWarning, metadata_file.string(),
                                "no _METADATA: tree rebuilt from the legacy msgpack file; value "
                                "types are unknown"});
      from_msgpack();
    } else {
      item_.error = metadata_file.string() + ": file not found (no pytree metadata)";
    }
  }

 private:
  void read_msgpack(const fs::path& file) {
    try {
      legacy_ = read_legacy_checkpoint(file);
      for (size_t i = 0; i < legacy_.size(); ++i) legacy_index_.emplace(legacy_[i].name, i);
      msgpack_ok_ = true;
    } catch (const Error& e) {
      msgpack_problem_ = where(e, file.string());
      item_.problems.push_back(Problem::from_error(e, Problem::Severity::kError, file.string()));
    }
  }

  void open_store(std::optional<bool> use_ocdbt, bool zarr3, std::shared_ptr<const ParamIndex> params) {
    store_ = open_array_store(dir_, use_ocdbt, zarr3, std::move(params), item_.problems);
    if (store_) item_.array_store = store_->kind();
    else store_problem_ = item_.problems.empty() ? dir_.string() : item_.problems.back().message;
  }

  void from_tree_metadata(const fs::path& metadata_file) {
    std::shared_ptr<const ParsedTree> parsed;
    try {
      parsed = cache_.trees.get_file(metadata_file, cache_.file_text, [&](const std::string& text) {
        return parse_tree(text, metadata_file.string());
      });
    } catch (const Error& e) {
      item_.error = where(e, metadata_file.string());
      return;
    }
    const TreeMetadataFile& tree = parsed->file;
    item_.flags = tree.flags;
    if (tree.dropped_prefix_entries)
      item_.problems.push_back({Problem::Severity::kWarning, metadata_file.string(),
                                std::to_string(tree.dropped_prefix_entries) +
                                    " entries dropped: strict prefixes of other entries "
                                    "(left by a partial save)"});
    const auto sharding_file = read_sharding_file(dir_, *parsed->params, &parsed->shardings, &cache_.file_text);
    const ShardingFile& sharding = *sharding_file;
    append(item_.problems, sharding.problems);
    const ArrayMetadatas array_metadatas = read_array_metadatas(dir_, &cache_.array_metadatas, &cache_.file_text);
    append(item_.problems, array_metadatas.problems);
    std::optional<StringsFile> strings;
    if (parsed->needs_store) open_store(tree.flags.use_ocdbt, tree.flags.use_zarr3, parsed->params);
    else if (msgpack_ok_) item_.array_store = ArrayStore::kMsgpack;

    // Every leaf is written over a spare one when there is one: assigning into
    // its strings and vectors keeps their memory, so reading steps that look
    // alike allocates almost nothing. Each field is assigned, none left over.
    item_.leaves = std::move(spare_leaves_);
    item_.leaves.resize(tree.entries.size());
    for (size_t i = 0; i < tree.entries.size(); ++i) {
      const TreeEntry& e = tree.entries[i];
      Leaf& leaf = item_.leaves[i];
      leaf.key_path = e.key_path;
      leaf.name = parsed->entry_names[i];
      leaf.value_type = e.value_type;
      leaf.skip_deserialize = e.skip_deserialize;
      leaf.kind = leaf_kind(e.value_type, e.skip_deserialize);
      if (const auto it = sharding.by_name.find(leaf.name); it != sharding.by_name.end())
        leaf.sharding_string = Shared<std::string>(it->second);  // shared, not copied
      else
        leaf.sharding_string.reset();
      leaf.stored.reset();
      if (const auto it = array_metadatas.by_name->find(leaf.name);
          it != array_metadatas.by_name->end())
        leaf.random_key_impl = it->second.random_key_impl;
      else
        leaf.random_key_impl.reset();
      leaf.string_value.reset();
      leaf.inline_shape.reset();
      leaf.inline_dtype.reset();
      leaf.error.reset();
      switch (leaf.kind) {
        case LeafKind::kArray:
          array_leaf(leaf, e.write_shape, tree.flags.use_zarr3, parsed->name_problem(i));
          break;
        case LeafKind::kScalar: {
          auto& scalar = named_metadata<ScalarMetadata>(leaf);
          const std::string* name_problem = parsed->name_problem(i);
          if (auto z = zarr_of(leaf.name, name_problem, metadata_file_, tree.flags.use_zarr3, leaf))
            scalar.dtype = z->dtype;
          else
            scalar.dtype.reset();
          add_stored_size(leaf, name_problem);
          break;
        }
        case LeafKind::kString:
          named_metadata<StringMetadata>(leaf);
          if (options_.string_values) {
            if (!strings) strings.emplace(dir_, item_.problems);
            leaf.string_value = strings->value(leaf.name);
          }
          break;
        case LeafKind::kBare:
          named_metadata<BareMetadata>(leaf);
          bare_leaf(leaf);
          break;
        case LeafKind::kEmpty:
        case LeafKind::kOther:
          leaf.metadata = std::monostate{};
          break;
      }
    }
  }

  // The leaf's typed object of type T (the one it holds, reused, or a new
  // one), with its name and directory set; its other fields are the caller's.
  template <typename T>
  T& named_metadata(Leaf& leaf) {
    T* m = std::get_if<T>(&leaf.metadata);
    if (!m) m = &leaf.metadata.template emplace<T>();
    m->name = leaf.name;
    m->directory = item_.directory;
    return *m;
  }

  // Reads zarr metadata of `name` (an array or scalar) from the store. A name
  // that would lead outside the item (`name_problem`, item_path.h) degrades
  // the leaf unread, whatever the store; `named_in` is the file that named it.
  std::shared_ptr<const ZarrArray> zarr_of(const std::string& name, const std::string* name_problem,
                                           const fs::path& named_in, bool zarr3, Leaf& leaf) {
    if (name_problem) {
      leaf.error = named_in.string() + ": " + storage::escape_message("name", name, *name_problem) +
                   "; its zarr metadata was not read";
      return nullptr;
    }
    if (!store_) {
      leaf.error = "zarr metadata unreadable: " + store_problem_;
      return nullptr;
    }
    try {
      const std::string* text = store_->metadata(name);
      if (!text) {
        leaf.error = "zarr metadata missing: " + store_->metadata_location(name);
        return nullptr;
      }
      // A failed parse is not kept, so its message always names this param.
      return (zarr3 ? cache_.zarr3 : cache_.zarr2).get(*text, [&] {
        const std::string location = store_->metadata_location(name);
        return zarr3 ? parse_zarr3(*text, location) : parse_zarr2(*text, location);
      });
    } catch (const Error& e) {
      leaf.error = "zarr metadata unreadable: " + where(e, store_->metadata_location(name));
      return nullptr;
    }
  }

  void array_leaf(Leaf& leaf, const std::optional<Shape>& write_shape, bool zarr3,
                  const std::string* name_problem) {
    auto& array = named_metadata<ArrayMetadata>(leaf);
    if (!array.storage) array.storage.emplace();
    array.storage->write_shape = write_shape;
    bool has_sharding = false;
    if (leaf.sharding_string && !leaf.sharding_string->empty()) {
      try {
        array.sharding = parsed_sharding(*leaf.sharding_string);
        has_sharding = true;
      } catch (const ShardingError& e) {
        // ShardingError messages are ckptcat's own (sharding.h), quoting the bad part.
        leaf.error = (dir_ / "_sharding").string() + ": sharding of \"" + leaf.name +
                     "\" unreadable: " + e.message();
      }
    }
    if (!has_sharding) array.sharding.reset();
    if (auto z = zarr_of(leaf.name, name_problem, metadata_file_, zarr3, leaf)) {
      array.shape = z->shape;
      array.dtype = z->dtype;
      array.storage->chunk_shape = z->chunk_shape;
    } else {
      array.shape.reset();
      array.dtype.reset();
      array.storage->chunk_shape.reset();
    }
    add_stored_size(leaf, name_problem);
  }

  // The parse of a sharding string. The leaves of one mesh share one string
  // (sharding_file.h), so it is found by address: a pod's 90 KB string is
  // neither hashed nor compared per leaf. Big trees repeat a few strings
  // across steps: the cache's memo parses each once.
  const ShardingMetadata& parsed_sharding(const Shared<std::string>& text) {
    auto& parsed = parsed_shardings_[text.operator->()];
    if (!parsed)
      parsed = cache_.shardings.get(text.get(), [&] { return sharding_from_serialized_string(text.get()); });
    return *parsed;
  }

  void bare_leaf(Leaf& leaf) {
    if (!msgpack_ok_) {
      leaf.error = msgpack_problem_.empty()
                       ? (dir_ / "checkpoint").string() +
                             ": file not found (the value of this skip_deserialize leaf)"
                       : msgpack_problem_;
      return;
    }
    const auto it = legacy_index_.find(leaf.name);
    if (it == legacy_index_.end()) {
      leaf.error = (dir_ / "checkpoint").string() + ": no value for \"" + leaf.name + "\"";
      return;
    }
    leaf.inline_shape = legacy_[it->second].shape;
    leaf.inline_dtype = legacy_[it->second].dtype;
  }

  void add_stored_size(Leaf& leaf, const std::string* name_problem) {
    if (!options_.stored_sizes || !store_ || name_problem) return;
    try {
      leaf.stored = store_->stored_size(leaf.name);
    } catch (const Error& e) {
      Problem p = Problem::from_error(e, Problem::Severity::kError, dir_.string());
      p.message = "stored size of \"" + leaf.name + "\": " + p.message;
      item_.problems.push_back(std::move(p));
    }
  }

  // No _METADATA (pre-2023 layouts): the structure comes from msgpack.
  void from_msgpack() {
    std::vector<std::string> names;
    for (const auto& legacy : legacy_)
      if (legacy.kind == LegacyLeaf::Kind::kPlaceholder) names.push_back(legacy.placeholder);
    if (!names.empty()) open_store(std::nullopt, false, std::make_shared<const ParamIndex>(std::move(names)));
    else item_.array_store = ArrayStore::kMsgpack;
    for (const auto& entry : legacy_) {
      const LegacyLeaf* legacy = &entry;
      Leaf leaf;
      leaf.key_path = legacy->key_path;
      leaf.name = legacy->name;
      switch (legacy->kind) {
        case LegacyLeaf::Kind::kEmpty:
          leaf.kind = LeafKind::kEmpty;
          leaf.value_type = legacy->empty_type;
          leaf.skip_deserialize = true;
          break;
        case LegacyLeaf::Kind::kInlineArray:
        case LegacyLeaf::Kind::kValue:
          leaf.kind = LeafKind::kBare;
          leaf.skip_deserialize = true;
          leaf.metadata = BareMetadata{leaf.name, dir_.string()};
          leaf.inline_shape = legacy->shape;
          leaf.inline_dtype = legacy->dtype;
          break;
        case LegacyLeaf::Kind::kPlaceholder: {
          leaf.kind = LeafKind::kArray;
          ArrayMetadata array;
          array.name = leaf.name;
          array.directory = dir_.string();
          array.storage = StorageMetadata{};
          Leaf probe;
          const auto why = storage::relative_name_problem(legacy->placeholder);
          const std::string* name_problem = why ? &*why : nullptr;
          if (auto z = zarr_of(legacy->placeholder, name_problem, dir_ / "checkpoint", false, probe)) {
            array.shape = z->shape;
            array.dtype = z->dtype;
            array.storage->chunk_shape = z->chunk_shape;
          } else {
            leaf.error = "shape and dtype not recoverable: " + *probe.error;
          }
          leaf.metadata = std::move(array);
          if (options_.stored_sizes && store_ && !name_problem)
            leaf.stored = store_->stored_size(legacy->placeholder);
          break;
        }
      }
      item_.leaves.push_back(std::move(leaf));
    }
  }

  static void append(std::vector<Problem>& to, const std::vector<Problem>& from) {
    to.insert(to.end(), from.begin(), from.end());
  }

  ItemMetadata& item_;
  fs::path dir_;
  fs::path metadata_file_;  // dir_/_METADATA, named by messages
  const ReadOptions& options_;
  ParseCache& cache_;
  std::vector<Leaf> spare_leaves_;
  std::vector<LegacyLeaf> legacy_;               // msgpack leaves in file order
  std::map<std::string, size_t> legacy_index_;  // param name -> index in legacy_
  bool msgpack_ok_ = false;
  std::string msgpack_problem_;
  std::unique_ptr<ArrayStoreReader> store_;
  // Sharding string (by address, kept alive by the leaves) -> its parse.
  std::unordered_map<const std::string*, std::shared_ptr<const ShardingMetadata>> parsed_shardings_;
  std::string store_problem_;
};

// The JSON file of a JSON item, by preference.
std::optional<fs::path> json_item_file(const fs::path& dir, const std::string& name) {
  for (const std::string& candidate : {std::string("data.json"), std::string("metadata"),
                                      std::string("metrics"), name}) {
    if (candidate.empty()) continue;
    // Any entry but a folder: reading then reports a FIFO or a link leading
    // out for what it is, instead of the file passing for absent.
    const auto p = dir / candidate;
    if (file_entry_exists(p)) return p;
  }
  return std::nullopt;
}

}  // namespace

ParsedTree parse_tree(const std::string& text, const std::string& file) {
  ParsedTree parsed;
  parsed.file = parse_tree_metadata(text, file);
  parsed.entry_names.reserve(parsed.file.entries.size());
  for (const auto& e : parsed.file.entries) {
    parsed.entry_names.push_back(param_name(e.key_path));
    if (auto why = storage::relative_name_problem(parsed.entry_names.back()))
      parsed.name_problems.emplace(parsed.entry_names.size() - 1, std::move(*why));
    const auto kind = leaf_kind(e.value_type, e.skip_deserialize);
    parsed.needs_store = parsed.needs_store || kind == LeafKind::kArray || kind == LeafKind::kScalar;
  }
  parsed.params = std::make_shared<const ParamIndex>(parsed.entry_names);
  return parsed;
}

ItemMetadata read_item(const fs::path& item_dir, const std::string& name,
                       const std::optional<std::string>& handler, const ReadOptions& options) {
  return Reader(options).read_item(item_dir, name, handler);
}

ItemMetadata Reader::read_item(const fs::path& item_dir, const std::string& name,
                               const std::optional<std::string>& handler) {
  ItemMetadata item;
  read_item(item_dir, name, handler, item);
  return item;
}

void Reader::read_item(const fs::path& item_dir, const std::string& name,
                       const std::optional<std::string>& handler, ItemMetadata& into) {
  std::vector<Leaf> spare_leaves = std::move(into.leaves);
  into = ItemMetadata{};
  ItemMetadata& item = into;
  item.name = name;
  item.directory = storage::normal_location(item_dir.string());
  item.handler = handler;
  const fs::path dir(item.directory);

  const bool pytree = path_exists(dir / "_METADATA") || path_exists(dir / "checkpoint") ||
                      (!is_json_handler(handler) && has_pytree_files(dir));
  if (pytree) {
    item.kind = ItemKind::kPyTree;
    PyTreeReader(item, options_, *cache_, std::move(spare_leaves)).read();
    return;
  }
  const auto json_file = json_item_file(dir, name);
  if (is_json_handler(handler) || json_file) {
    item.kind = ItemKind::kJson;
    if (!json_file) {
      item.error = (dir / "metadata").string() + ": file not found (JSON item)";
      return;
    }
    try {
      std::string text = read_file_bounded(*json_file);
      parse_json(text, json_file->string());  // validates; NaN/Infinity allowed
      item.json_content = std::move(text);
    } catch (const Error& e) {
      item.error = where(e, json_file->string());
    }
    return;
  }
  item.kind = ItemKind::kOther;
}

}  // namespace ckptcat::orbax
