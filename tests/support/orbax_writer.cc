// Test-only Orbax checkpoint writer (see orbax_writer.h).
#include "orbax_writer.h"

#include <fstream>
#include <map>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "ckptcat/python_json.h"
#include "ocdbt_writer.h"

namespace ckptcat::testing {
namespace {

namespace fs = std::filesystem;

const char* kPyTreeHandler =
    "orbax.checkpoint._src.handlers.pytree_checkpoint_handler.PyTreeCheckpointHandler";
const char* kStandardHandler =
    "orbax.checkpoint._src.handlers.standard_checkpoint_handler.StandardCheckpointHandler";
const char* kJsonHandler =
    "orbax.checkpoint._src.handlers.json_checkpoint_handler.JsonCheckpointHandler";

void write_file(const fs::path& path, std::string_view content) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

KeyPath dict_path(const std::vector<std::string>& keys) {
  KeyPath path;
  for (const auto& k : keys) path.push_back({k, KeyType::kDict});
  return path;
}

bool is_empty_type(const std::string& t) {
  return t == "Dict" || t == "List" || t == "Tuple" || t == "None" || t == "NamedTuple";
}

Shape effective_chunk_shape(const LeafSpec& leaf) {
  if (leaf.chunk_shape) return *leaf.chunk_shape;
  if (leaf.write_shape) return *leaf.write_shape;
  return leaf.shape;
}

// Chunk grid indices in C order.
template <typename F>
void for_each_chunk(const LeafSpec& leaf, F&& visit) {
  const Shape chunk = effective_chunk_shape(leaf);
  Shape grid(leaf.shape.size());
  for (size_t d = 0; d < leaf.shape.size(); ++d) {
    const int64_t c = chunk.size() > d && chunk[d] > 0 ? chunk[d] : 1;
    grid[d] = (leaf.shape[d] + c - 1) / c;
    if (grid[d] == 0) return;
  }
  Shape index(leaf.shape.size(), 0);
  while (true) {
    visit(index);
    size_t d = index.size();
    while (d > 0) {
      --d;
      if (++index[d] < grid[d]) break;
      index[d] = 0;
      if (d == 0) return;
    }
    if (index.empty()) return;
  }
}

std::string chunk_key(const Shape& index, bool zarr3) {
  if (zarr3) {
    std::string key = "c";
    for (auto i : index) key += "/" + std::to_string(i);
    return key;
  }
  if (index.empty()) return "0";
  std::string key;
  for (size_t i = 0; i < index.size(); ++i) key += (i ? "." : "") + std::to_string(index[i]);
  return key;
}

std::string zarr_metadata(const LeafSpec& leaf, bool zarr3) {
  const Shape chunk = effective_chunk_shape(leaf);
  nlohmann::json j;  // std::map: keys sorted, as TensorStore writes them
  if (!zarr3) {
    j = {{"chunks", chunk},
         {"compressor", {{"id", "zstd"}, {"level", 1}}},
         {"dimension_separator", "."},
         {"dtype", zarr2_dtype(leaf.dtype)},
         {"fill_value", nullptr},
         {"filters", nullptr},
         {"order", "C"},
         {"shape", leaf.shape},
         {"zarr_format", 2}};
    return j.dump();
  }
  const nlohmann::json bytes = {{"configuration", {{"endian", "little"}}}, {"name", "bytes"}};
  j = {{"chunk_grid", {{"configuration", {{"chunk_shape", chunk}}}, {"name", "regular"}}},
       {"chunk_key_encoding", {{"name", "default"}}},
       {"codecs",
        {{{"configuration",
           {{"chunk_shape", chunk},
            {"codecs",
             {bytes, {{"configuration", {{"checksum", false}, {"level", 3}}}, {"name", "zstd"}}}},
            {"index_codecs", {bytes, {{"name", "crc32c"}}}}}},
          {"name", "sharding_indexed"}}}},
       {"data_type", leaf.dtype},
       {"fill_value", 0},
       {"node_type", "array"},
       {"shape", leaf.shape},
       {"zarr_format", 3}};
  return j.dump();
}

std::string key_prefix(const std::string& name) { return name.empty() ? "" : name + "/"; }

void write_shape_list(pyjson::Writer& w, const Shape& shape) {
  w.begin_array();
  for (auto d : shape) w.value(d);
  w.end_array();
}

std::string tree_metadata_text(const ItemSpec& item, bool use_ocdbt) {
  pyjson::Writer w;
  w.begin_object().key("tree_metadata").begin_object();
  for (const auto& leaf : item.leaves) {
    w.key(python_keypath_string(leaf.path)).begin_object().key("key_metadata").begin_array();
    for (const auto& k : leaf.path)
      w.begin_object().key("key").value(k.key).key("key_type").value(int64_t(k.type)).end_object();
    w.end_array().key("value_metadata").begin_object();
    w.key("value_type").value(leaf.value_type);
    w.key("skip_deserialize").value(leaf.skip_deserialize.value_or(is_empty_type(leaf.value_type)));
    if (leaf.value_type == "jax.Array") {
      w.key("write_shape");
      write_shape_list(w, leaf.write_shape.value_or(leaf.shape));
    }
    w.end_object().end_object();
  }
  w.end_object();
  if (item.write_use_ocdbt_flag) w.key("use_ocdbt").value(use_ocdbt);
  w.key("use_zarr3").value(item.zarr3);
  w.key("store_array_data_equal_to_fill_value").value(true);
  w.key("custom_metadata");
  if (item.tree_custom_metadata) w.raw(*item.tree_custom_metadata);
  else w.null();
  w.end_object();
  return w.take();
}

std::string array_metadatas_text(const ItemSpec& item) {
  pyjson::Writer w;
  w.begin_object().key("array_metadatas").begin_array();
  for (const auto& leaf : item.leaves) {
    if (leaf.value_type != "jax.Array") continue;
    w.begin_object().key("array_metadata").begin_object();
    w.key("param_name").value(leaf.name());
    w.key("write_shape");
    write_shape_list(w, leaf.write_shape.value_or(leaf.shape));
    w.key("chunk_shape");
    write_shape_list(w, effective_chunk_shape(leaf));
    w.key("ext_metadata");
    if (leaf.random_key_impl)
      w.begin_object().key("random_key_impl").value(*leaf.random_key_impl).end_object();
    else
      w.null();
    w.end_object().end_object();
  }
  w.end_array().end_object();
  return w.take();
}

void write_pytree(const fs::path& dir, const ItemSpec& item) {
  fs::create_directories(dir);
  const bool ocdbt = item.storage == ItemSpec::Storage::kOcdbt;
  if (item.write_metadata_file) write_file(dir / "_METADATA", tree_metadata_text(item, ocdbt));

  nlohmann::json sharding = nlohmann::json::object();
  nlohmann::json strings = nlohmann::json::object();
  bool any_array = false, any_string = false;
  std::vector<std::pair<std::string, std::string>> values;
  for (const auto& leaf : item.leaves) {
    if (leaf.value_type == "jax.Array") {
      any_array = true;
      const std::string key = base64url_encode(leaf.name());
      if (leaf.raw_sharding) sharding[key] = *leaf.raw_sharding;
      else sharding[key] = to_serialized_string(
               leaf.sharding.value_or(ShardingMetadata{SingleDeviceShardingMetadata{"cpu:0"}}));
    }
    if (leaf.value_type == "string") {
      any_string = true;
      strings[nlohmann::json::json_pointer("/" + leaf.name())] = leaf.string_value;
    }
    if (!leaf.stored_in_zarr()) continue;
    const std::string prefix = key_prefix(leaf.name());
    if (leaf.write_zarr_metadata)
      values.emplace_back(prefix + (item.zarr3 ? "zarr.json" : ".zarray"),
                          zarr_metadata(leaf, item.zarr3));
    const std::string filler(leaf.chunk_value_bytes, '\x5a');
    for_each_chunk(leaf, [&](const Shape& index) {
      values.emplace_back(prefix + chunk_key(index, item.zarr3), filler);
    });
  }
  if (any_array && item.write_sharding_file) write_file(dir / "_sharding", sharding.dump());
  if (any_string) write_file(dir / "_strings.json", strings.dump());
  if (any_array && item.write_array_metadatas) {
    const std::string text = array_metadatas_text(item);
    for (int p = 0; p < item.num_processes; ++p)
      write_file(dir / "array_metadatas" / ("process_" + std::to_string(p)), text);
  }
  if (ocdbt) {
    OrbaxItemOptions options;
    options.num_processes = item.num_processes;
    options.writer.max_node_entries = item.ocdbt_max_node_entries;
    write_orbax_item_database(dir, values, options);
  } else {
    for (const auto& [key, value] : values) write_file(dir / fs::path(key), value);
  }
}

void write_step_metadata(const fs::path& dir, const CheckpointSpec& spec) {
  pyjson::Writer w;
  w.begin_object().key("item_handlers");
  auto handler = [&](const ItemSpec& item) {
    if (item.handler) return *item.handler;
    if (item.kind == ItemSpec::Kind::kJson) return std::string(kJsonHandler);
    return std::string(spec.direct ? kStandardHandler : kPyTreeHandler);
  };
  if (spec.direct) {
    w.value(handler(spec.items.at(0)));
  } else {
    w.begin_object();
    for (const auto& item : spec.items) w.key(item.name).value(handler(item));
    w.end_object();
  }
  w.key("metrics").raw(spec.metrics);
  w.key("performance_metrics").begin_object().end_object();
  if (spec.init_timestamp_nsecs) w.key("init_timestamp_nsecs").value(*spec.init_timestamp_nsecs);
  if (spec.commit_timestamp_null) w.key("commit_timestamp_nsecs").null();
  else if (spec.commit_timestamp_nsecs)
    w.key("commit_timestamp_nsecs").value(*spec.commit_timestamp_nsecs);
  w.key("custom_metadata").raw(spec.custom_metadata);
  w.end_object();
  write_file(dir / "_CHECKPOINT_METADATA", w.str());
}

}  // namespace

// ---- LeafSpec ---------------------------------------------------------------------

LeafSpec LeafSpec::array(std::vector<std::string> keys, std::string dtype, Shape shape) {
  LeafSpec l;
  l.path = dict_path(keys);
  l.dtype = std::move(dtype);
  l.shape = std::move(shape);
  return l;
}
LeafSpec LeafSpec::numpy(std::vector<std::string> keys, std::string dtype, Shape shape) {
  LeafSpec l = array(std::move(keys), std::move(dtype), std::move(shape));
  l.value_type = "np.ndarray";
  return l;
}
LeafSpec LeafSpec::scalar(std::vector<std::string> keys, std::string dtype) {
  LeafSpec l = array(std::move(keys), std::move(dtype), {});
  l.value_type = "scalar";
  return l;
}
LeafSpec LeafSpec::string(std::vector<std::string> keys, std::string value) {
  LeafSpec l;
  l.path = dict_path(keys);
  l.value_type = "string";
  l.string_value = std::move(value);
  return l;
}
LeafSpec LeafSpec::empty(std::vector<std::string> keys, std::string type) {
  LeafSpec l;
  l.path = dict_path(keys);
  l.value_type = std::move(type);
  return l;
}

bool LeafSpec::stored_in_zarr() const {
  return !skip_deserialize.value_or(false) &&
         (value_type == "jax.Array" || value_type == "np.ndarray" || value_type == "scalar");
}

StoredSize LeafSpec::expected_stored() const {
  StoredSize s;
  if (!stored_in_zarr()) return s;
  for_each_chunk(*this, [&](const Shape&) {
    ++s.chunk_count;
    s.bytes += chunk_value_bytes;
  });
  return s;
}

ItemSpec ItemSpec::json(std::string name, std::string content, std::string file) {
  ItemSpec i;
  i.name = std::move(name);
  i.kind = Kind::kJson;
  i.json_content = std::move(content);
  i.json_file = std::move(file);
  return i;
}

// ---- writing ------------------------------------------------------------------------

void write_checkpoint(const fs::path& dir, const CheckpointSpec& spec) {
  if (spec.direct && spec.items.size() != 1)
    throw std::invalid_argument("a direct checkpoint has exactly one item");
  fs::create_directories(dir);
  for (const auto& item : spec.items) {
    const fs::path item_dir = spec.direct ? dir : dir / item.name;
    if (item.kind == ItemSpec::Kind::kJson) write_file(item_dir / item.json_file, item.json_content);
    else write_pytree(item_dir, item);
  }
  if (spec.write_step_metadata) write_step_metadata(dir, spec);
  if (spec.v1) write_file(dir / "orbax.checkpoint", "");
  if (spec.commit_marker)
    write_file(dir / "commit_success.txt", "Checkpoint commit was successful to " + dir.string());
}

void write_root_metadata(const fs::path& root, const std::string& custom_metadata) {
  pyjson::Writer w;
  w.begin_object().key("internal_metadata").begin_object().end_object();
  w.key("custom_metadata").raw(custom_metadata).end_object();
  write_file(root / "metadata" / "_ROOT_METADATA", w.str());
}

std::string step_folder_name(int64_t step, const std::string& prefix, int fixed_length) {
  std::string digits = std::to_string(step);
  if (fixed_length > 0 && static_cast<int>(digits.size()) < fixed_length)
    digits.insert(0, static_cast<size_t>(fixed_length) - digits.size(), '0');
  return prefix.empty() ? digits : prefix + "_" + digits;
}

NamedShardingMetadata named_sharding(std::vector<int64_t> mesh_shape,
                                     std::vector<std::string> axis_names,
                                     std::vector<PartitionSpecEntry> partition_spec) {
  NamedShardingMetadata s;
  int64_t devices = 1;
  for (auto d : mesh_shape) devices *= d;
  s.axis_types = std::vector<std::string>(axis_names.size(), "AxisType.Auto");
  s.shape = std::move(mesh_shape);
  s.axis_names = std::move(axis_names);
  s.partition_spec = std::move(partition_spec);
  std::vector<int64_t> ids;
  for (int64_t i = 0; i < devices; ++i) ids.push_back(i);
  s.device_mesh = DeviceMesh{std::move(ids)};
  return s;
}

// ---- formatting pieces ----------------------------------------------------------------

std::string python_str_repr(const std::string& utf8) {
  const bool has_single = utf8.find('\'') != std::string::npos;
  const bool has_double = utf8.find('"') != std::string::npos;
  const char quote = has_single && !has_double ? '"' : '\'';
  std::string out(1, quote);
  static const char kHex[] = "0123456789abcdef";
  for (unsigned char c : utf8) {
    if (c == '\\' || c == static_cast<unsigned char>(quote)) { out += '\\'; out += static_cast<char>(c); }
    else if (c == '\t') out += "\\t";
    else if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c < 0x20 || c == 0x7f) { out += "\\x"; out += kHex[c >> 4]; out += kHex[c & 15]; }
    else out += static_cast<char>(c);  // printable ASCII and (assumed printable) non-ASCII
  }
  out += quote;
  return out;
}

std::string python_keypath_string(const KeyPath& path) {
  std::string out = "(";
  for (size_t i = 0; i < path.size(); ++i) {
    if (i) out += ", ";
    out += python_str_repr(path[i].key);
  }
  if (path.size() == 1) out += ",";
  return out + ")";
}

std::string base64url_encode(const std::string& bytes) {
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8) | uint8_t(bytes[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += kAlphabet[(v >> s) & 63];
  }
  const size_t rest = bytes.size() - i;
  if (rest == 1) {
    const uint32_t v = uint8_t(bytes[i]) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (rest == 2) {
    const uint32_t v = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

std::string zarr2_dtype(const std::string& n) {
  static const std::map<std::string, std::string> kStandard = {
      {"bool", "|b1"},   {"int8", "|i1"},    {"uint8", "|u1"},     {"int16", "<i2"},
      {"uint16", "<u2"}, {"int32", "<i4"},   {"uint32", "<u4"},    {"int64", "<i8"},
      {"uint64", "<u8"}, {"float16", "<f2"}, {"float32", "<f4"},   {"float64", "<f8"},
      {"complex64", "<c8"}, {"complex128", "<c16"}};
  const auto it = kStandard.find(n);
  return it == kStandard.end() ? n : it->second;  // extended types keep their name
}

}  // namespace ckptcat::testing
