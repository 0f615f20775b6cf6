// A test-only Orbax checkpoint writer: describe a checkpoint (items, leaves
// with kind / dtype / shape / sharding / chunking), then write it with the
// exact bytes Orbax and TensorStore produce (orbax-format.md §4.4): Python
// json.dumps style for _CHECKPOINT_METADATA, _METADATA, array_metadatas and
// _ROOT_METADATA; nlohmann compact sorted dumps for _sharding, _strings.json
// and zarr metadata. Arrays go into an OCDBT store (one database per process
// plus the merged top-level one, via ocdbt_writer.h) or plain zarr folders.
//
// Built for volume (fixtures, benchmarks, the README demo): chunk values are
// short filler bytes of a chosen size, not real array data, so a checkpoint of
// a thousand leaves is written in milliseconds.
//
//   CheckpointSpec step;
//   ItemSpec& params = step.items.emplace_back(ItemSpec::pytree("params"));
//   params.leaves.push_back(LeafSpec::array({"dense", "kernel"}, "float32", {512, 256})
//                               .with_sharding(named_sharding({2, 4}, {"data", "model"},
//                                                             {"data", "model"})));
//   write_checkpoint(root / "step_0100", step);
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "ckptcat/checkpoint.h"
#include "ckptcat/sharding.h"

namespace ckptcat::testing {

struct LeafSpec {
  KeyPath path;                          // the leaf's keys; empty = bare top-level leaf
  std::string value_type = "jax.Array";  // any _METADATA value_type, custom ones too
  std::optional<bool> skip_deserialize;  // default: true exactly for empty-container types
  std::string dtype = "float32";         // NumPy / ml_dtypes name
  Shape shape;
  std::optional<Shape> write_shape;  // jax.Array: default = shape (unsharded)
  std::optional<Shape> chunk_shape;  // default = write_shape (or shape)
  std::optional<ShardingMetadata> sharding;  // jax.Array: default SingleDevice cpu:0
  std::optional<std::string> raw_sharding;   // written verbatim instead (bad values)
  std::optional<std::string> random_key_impl;
  std::string string_value;           // string leaves
  bool write_zarr_metadata = true;    // false: the zarr metadata value/file is missing
  uint64_t chunk_value_bytes = 16;    // bytes stored per chunk value

  // Builders. Keys given as strings are dict keys; use KeyPath for indices.
  static LeafSpec array(std::vector<std::string> keys, std::string dtype, Shape shape);
  static LeafSpec numpy(std::vector<std::string> keys, std::string dtype, Shape shape);
  static LeafSpec scalar(std::vector<std::string> keys, std::string dtype);
  static LeafSpec string(std::vector<std::string> keys, std::string value);
  static LeafSpec empty(std::vector<std::string> keys, std::string type /* Dict, List, ... */);
  LeafSpec& with_sharding(ShardingMetadata s) { sharding = std::move(s); return *this; }
  LeafSpec& with_write_shape(Shape s) { write_shape = std::move(s); return *this; }
  LeafSpec& with_chunk_shape(Shape s) { chunk_shape = std::move(s); return *this; }

  std::string name() const { return param_name(path); }
  bool stored_in_zarr() const;  // jax.Array, np.ndarray and scalar leaves
  // What the reader should count for this leaf: one value per chunk of the
  // chunk grid over `shape`.
  StoredSize expected_stored() const;
};

struct ItemSpec {
  enum class Kind { kPyTree, kJson };
  enum class Storage { kOcdbt, kFiles };
  std::string name;  // ignored for direct checkpoints
  Kind kind = Kind::kPyTree;
  std::optional<std::string> handler;  // typestr in item_handlers; default by kind

  // Pytree items.
  std::vector<LeafSpec> leaves;
  Storage storage = Storage::kOcdbt;
  bool zarr3 = false;
  int num_processes = 1;
  // B+tree fanout of the OCDBT databases (more than an item's keys: one root
  // node, as Orbax's max_decoded_node_bytes = 1e8 gives for thousands of keys).
  size_t ocdbt_max_node_entries = 1024;  // OcdbtWriterOptions' default
  bool write_use_ocdbt_flag = true;  // false: old _METADATA without "use_ocdbt"
  bool write_metadata_file = true;   // _METADATA
  bool write_sharding_file = true;   // _sharding
  bool write_array_metadatas = true;
  std::optional<std::string> tree_custom_metadata;  // JSON text; null when absent

  // JSON items.
  std::string json_file = "metadata";
  std::string json_content = "{}";

  static ItemSpec pytree(std::string name) { ItemSpec i; i.name = std::move(name); return i; }
  static ItemSpec json(std::string name, std::string content, std::string file = "metadata");
};

struct CheckpointSpec {
  std::vector<ItemSpec> items;
  bool direct = false;  // exactly one item, written into the step folder itself
  bool v1 = false;      // write the `orbax.checkpoint` indicator
  bool write_step_metadata = true;
  std::optional<int64_t> init_timestamp_nsecs = 1778718340383655282;
  std::optional<int64_t> commit_timestamp_nsecs = 1778718340783462133;
  bool commit_timestamp_null = false;  // an interrupted v0 save
  std::string metrics = "{}";          // JSON text (Python style)
  std::string custom_metadata = "{}";  // JSON text (Python style)
  bool commit_marker = false;          // commit_success.txt
};

// Writes `spec` into `dir` (created; must not hold another checkpoint).
// Throws std::runtime_error on I/O failure.
void write_checkpoint(const std::filesystem::path& dir, const CheckpointSpec& spec);

// <root>/metadata/_ROOT_METADATA with `custom_metadata` (JSON text).
void write_root_metadata(const std::filesystem::path& root, const std::string& custom_metadata);

// Step folder name as Orbax's standard NameFormat builds it (§1.2).
std::string step_folder_name(int64_t step, const std::string& prefix = "",
                             int fixed_length = 0);

// Sharding helpers. named_sharding lays device ids 0..n-1 out row-major and
// uses AxisType.Auto for every axis.
NamedShardingMetadata named_sharding(std::vector<int64_t> mesh_shape,
                                     std::vector<std::string> axis_names,
                                     std::vector<PartitionSpecEntry> partition_spec);

// Formatting pieces, exposed for tests of the writer itself.
std::string python_str_repr(const std::string& utf8);                // repr(str)
std::string python_keypath_string(const KeyPath& path);              // str(tuple)
std::string base64url_encode(const std::string& bytes);              // with padding
std::string zarr2_dtype(const std::string& numpy_name);              // "<i4", "|b1", "bfloat16"

}  // namespace ckptcat::testing
