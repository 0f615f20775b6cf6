// _METADATA parsing (see tree_metadata.h).
//
// On-disk form (orbax-format.md §3.1-§3.2): {"tree_metadata": {"<keypath
// string>": {"key_metadata": [{"key": str, "key_type": 1|2}, ...],
// "value_metadata": {"value_type": str, "skip_deserialize": bool[,
// "write_shape": [int...]]}}, ...}, "use_ocdbt": bool, "use_zarr3": bool,
// "store_array_data_equal_to_fill_value": bool, "custom_metadata": any,
// "value_metadata_tree": str}. Only tree_metadata is required. The keypath
// string is Python's str() of a tuple and is only a dictionary key: the path
// comes from key_metadata. Entries whose path is a strict prefix of another
// entry's path are leftovers of partial saves and are dropped (§3.5).
#include "tree_metadata.h"

#include <algorithm>

#include "json_file.h"

namespace ckptcat::orbax {
namespace {

using json = nlohmann::ordered_json;

bool is_strict_prefix(const KeyPath& prefix, const KeyPath& path) {
  return prefix.size() < path.size() && std::equal(prefix.begin(), prefix.end(), path.begin());
}

bool key_path_less(const KeyPath& a, const KeyPath& b) {
  return std::lexicographical_compare(
      a.begin(), a.end(), b.begin(), b.end(), [](const auto& x, const auto& y) {
        if (x.type != y.type) return x.type < y.type;
        return x.key < y.key;
      });
}

std::optional<bool> get_bool(const json& doc, const char* key, const std::string& file) {
  const auto it = doc.find(key);
  if (it == doc.end() || it->is_null()) return std::nullopt;
  if (!it->is_boolean())
    throw Error(Error::Code::kInvalid, std::string("\"") + key + "\" must be a boolean", file);
  return it->get<bool>();
}

TreeEntry parse_entry(const std::string& keypath, const json& entry, const std::string& file) {
  const std::string where = "tree_metadata[" + keypath + "]";
  if (!entry.is_object()) throw Error(Error::Code::kInvalid, where + " must be an object", file);
  TreeEntry out;
  const auto keys = entry.find("key_metadata");
  if (keys == entry.end() || !keys->is_array())
    throw Error(Error::Code::kInvalid, where + ".key_metadata must be a list", file);
  for (const auto& k : *keys) {
    if (!k.is_object() || !k.contains("key") || !k.contains("key_type"))
      throw Error(Error::Code::kInvalid, where + ".key_metadata holds a malformed key", file);
    const auto& key = k["key"];
    const auto& type = k["key_type"];
    if (!type.is_number_integer() || (type.get<int64_t>() != 1 && type.get<int64_t>() != 2))
      throw Error(Error::Code::kInvalid, where + ": key_type must be 1 or 2", file);
    // "key" is always written as a string; tolerate integers from other writers.
    std::string text;
    if (key.is_string()) text = key.get<std::string>();
    else if (key.is_number_integer()) text = key.dump();
    else throw Error(Error::Code::kInvalid, where + ": key must be a string", file);
    out.key_path.push_back({std::move(text), static_cast<KeyType>(type.get<int64_t>())});
  }
  const auto value = entry.find("value_metadata");
  if (value == entry.end() || !value->is_object())
    throw Error(Error::Code::kInvalid, where + ".value_metadata must be an object", file);
  const auto type = value->find("value_type");
  if (type == value->end() || !type->is_string())
    throw Error(Error::Code::kInvalid, where + ".value_type must be a string", file);
  out.value_type = type->get<std::string>();
  const auto skip = value->find("skip_deserialize");
  if (skip == value->end() || !skip->is_boolean())
    throw Error(Error::Code::kInvalid, where + ".skip_deserialize must be a boolean", file);
  out.skip_deserialize = skip->get<bool>();
  if (const auto ws = value->find("write_shape"); ws != value->end() && !ws->is_null())
    out.write_shape = to_shape(*ws, file, where + ".write_shape");
  return out;
}

}  // namespace

LeafKind leaf_kind(const std::string& value_type, bool skip_deserialize) {
  if (value_type == "Dict" || value_type == "List" || value_type == "Tuple" ||
      value_type == "None" || value_type == "NamedTuple")
    return LeafKind::kEmpty;
  if (value_type == "placeholder") return LeafKind::kOther;
  if (skip_deserialize && !value_type.empty()) return LeafKind::kBare;
  if (value_type == "jax.Array" || value_type == "np.ndarray") return LeafKind::kArray;
  if (value_type == "scalar") return LeafKind::kScalar;
  if (value_type == "string") return LeafKind::kString;
  return LeafKind::kOther;
}

TreeMetadataFile parse_tree_metadata(std::string_view text, const std::string& file) {
  const json doc = parse_json(text, file);
  if (!doc.is_object()) throw Error(Error::Code::kInvalid, "_METADATA must hold a JSON object", file);
  const auto tree = doc.find("tree_metadata");
  if (tree == doc.end() || !tree->is_object())
    throw Error(Error::Code::kInvalid, "_METADATA has no \"tree_metadata\" object", file);

  TreeMetadataFile out;
  std::vector<TreeEntry> all;
  all.reserve(tree->size());
  for (const auto& [keypath, entry] : tree->items()) all.push_back(parse_entry(keypath, entry, file));

  // Drop strict-prefix entries: after sorting, every extension of a path
  // follows it directly.
  std::vector<const KeyPath*> sorted;
  sorted.reserve(all.size());
  for (const auto& e : all) sorted.push_back(&e.key_path);
  std::sort(sorted.begin(), sorted.end(),
            [](const KeyPath* a, const KeyPath* b) { return key_path_less(*a, *b); });
  std::vector<const KeyPath*> prefixes;
  for (size_t i = 0; i + 1 < sorted.size(); ++i)
    if (is_strict_prefix(*sorted[i], *sorted[i + 1])) prefixes.push_back(sorted[i]);
  std::sort(prefixes.begin(), prefixes.end());
  for (auto& e : all) {
    if (std::binary_search(prefixes.begin(), prefixes.end(), &e.key_path)) {
      ++out.dropped_prefix_entries;
      continue;
    }
    out.entries.push_back(std::move(e));
  }

  out.flags.use_ocdbt = get_bool(doc, "use_ocdbt", file);
  out.flags.use_zarr3 = get_bool(doc, "use_zarr3", file).value_or(false);
  out.flags.store_array_data_equal_to_fill_value =
      get_bool(doc, "store_array_data_equal_to_fill_value", file);
  if (const auto it = doc.find("custom_metadata"); it != doc.end() && !it->is_null())
    out.flags.custom_metadata = to_python_json(*it);
  out.flags.has_value_metadata_tree = doc.contains("value_metadata_tree");
  return out;
}

}  // namespace ckptcat::orbax
