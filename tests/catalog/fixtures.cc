#include "fixtures.h"

#include <doctest/doctest.h>

#include "ckptcat/sharding.h"

namespace ckptcat::testing {
namespace {

KeyPath dict_path(const std::string& dotted) {
  KeyPath path;
  size_t start = 0;
  while (true) {
    size_t end = dotted.find('.', start);
    path.push_back({dotted.substr(start, end - start), KeyType::kDict});
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return path;
}

Leaf base_leaf(KeyPath path, std::string value_type, LeafKind kind) {
  Leaf leaf;
  leaf.name = param_name(path);
  leaf.key_path = std::move(path);
  leaf.value_type = std::move(value_type);
  leaf.kind = kind;
  return leaf;
}

std::string named_2x4 =
    R"({"sharding_type": "NamedSharding", "shape": [2, 4], "axis_names": ["data", "model"], )"
    R"("axis_types": ["AxisType.Auto", "AxisType.Explicit"], "partition_spec": [["data", "model"], null, "model"], )"
    R"("device_mesh": {"mesh": [[{"id": 0}, {"id": 1}, {"id": 2}, {"id": 3}], [{"id": 4}, {"id": 5}, {"id": 6}, {"id": 7}]]}})";

}  // namespace

Leaf array_leaf(const std::string& name, const std::string& item_directory,
                const std::optional<std::string>& sharding_string) {
  Leaf leaf = base_leaf(dict_path(name), "jax.Array", LeafKind::kArray);
  ArrayMetadata array{name, item_directory, Shape{8, 16}, std::nullopt, "float32",
                      StorageMetadata{Shape{4, 16}, Shape{8, 16}}};
  if (sharding_string) {
    try {
      array.sharding = sharding_from_serialized_string(*sharding_string);
    } catch (const ShardingError& e) {
      leaf.error = std::string("bad sharding: ") + e.message();
    }
  }
  leaf.metadata = std::move(array);
  leaf.sharding_string = sharding_string;
  leaf.stored = StoredSize{2, 512};
  return leaf;
}

CheckpointMetadata sample_checkpoint(const std::string& directory, int64_t step,
                                     const std::string& root) {
  CheckpointMetadata c;
  c.directory = directory;
  c.root = root;
  c.step_name = std::to_string(step);
  c.step = step;
  c.layout_version = 1;
  c.finished = true;
  c.commit_marker = true;
  c.mtime_nsecs = 1700000000000000000 + step;
  c.step_metadata.present = true;
  c.step_metadata.item_handlers = std::map<std::string, std::optional<std::string>>{
      {"state", "orbax.checkpoint._src.handlers.pytree_checkpoint_handler.PyTreeCheckpointHandler"},
      {"extra", std::nullopt}};
  c.step_metadata.metrics = R"({"loss": 0.5})";
  c.step_metadata.custom_metadata = R"({"note": "caf\u00e9"})";
  c.step_metadata.init_timestamp_nsecs = 1699999999000000000 + step;
  c.step_metadata.commit_timestamp_nsecs = 1700000000500000000 + step;
  c.problems.push_back({Problem::Severity::kWarning, directory + "/_CHECKPOINT_METADATA",
                        "unknown key \"x\""});

  ItemMetadata state;
  state.name = "state";
  state.directory = directory + "/state";
  state.kind = ItemKind::kPyTree;
  state.handler = "orbax.checkpoint._src.handlers.pytree_checkpoint_handler.PyTreeCheckpointHandler";
  state.flags.use_ocdbt = true;
  state.flags.use_zarr3 = true;
  state.flags.store_array_data_equal_to_fill_value = false;
  state.flags.custom_metadata = R"({"a": 1})";
  state.array_store = ArrayStore::kOcdbt;
  const std::string& d = state.directory;

  state.leaves.push_back(array_leaf("params.dense.kernel", d, named_2x4));
  state.leaves.push_back(array_leaf(
      "params.dense.bias", d,
      R"({"sharding_type": "SingleDeviceSharding", "device_str": "TFRT_CPU_0"})"));
  {  // no sharding file entry, no storage, unknown shape
    Leaf leaf = array_leaf("params.unsharded", d, std::nullopt);
    auto& array = std::get<ArrayMetadata>(leaf.metadata);
    array.storage.reset();
    array.shape.reset();
    leaf.stored.reset();
    state.leaves.push_back(std::move(leaf));
  }
  {  // legacy positional sharding: the string is kept, Orbax reports no sharding
    Leaf leaf = array_leaf("params.legacy", d,
                           R"({"sharding_type": "PositionalSharding", "shape": [4, 1], "memory_kind": "device"})");
    std::get<ArrayMetadata>(leaf.metadata).sharding.reset();
    state.leaves.push_back(std::move(leaf));
  }
  {  // odd spacing and an unknown key: parses, but does not round-trip
    state.leaves.push_back(array_leaf(
        "params.odd", d,
        R"({"sharding_type":"SingleDeviceSharding","device_str":"cpu:0","extra":1})"));
  }
  // unparseable
  state.leaves.push_back(array_leaf("params.broken", d, R"({"sharding_type": )"));
  {  // a PRNG key array with storage missing a write shape
    Leaf leaf = array_leaf("rng", d,
                           R"({"sharding_type": "SingleDeviceSharding", "device_str": "cpu:0"})");
    leaf.random_key_impl = "rbg";
    auto& array = std::get<ArrayMetadata>(leaf.metadata);
    array.dtype = "uint32";
    array.shape = Shape{4};
    array.storage = StorageMetadata{Shape{4}, std::nullopt};
    state.leaves.push_back(std::move(leaf));
  }
  {  // np.ndarray: no sharding, no write shape, 0-d
    Leaf leaf = base_leaf(dict_path("np_array"), "np.ndarray", LeafKind::kArray);
    leaf.metadata = ArrayMetadata{"np_array", d, Shape{}, std::nullopt, "bfloat16",
                                  StorageMetadata{Shape{}, std::nullopt}};
    leaf.stored = StoredSize{1, 2};
    state.leaves.push_back(std::move(leaf));
  }
  {  // a sequence key path and a key holding "."
    KeyPath path{{"opt_state", KeyType::kDict}, {"0", KeyType::kSequence}, {"mu.w", KeyType::kDict}};
    Leaf leaf = base_leaf(path, "scalar", LeafKind::kScalar);
    leaf.metadata = ScalarMetadata{leaf.name, d, "int64"};
    leaf.stored = StoredSize{1, 8};
    state.leaves.push_back(std::move(leaf));
  }
  {
    Leaf leaf = base_leaf(dict_path("step"), "scalar", LeafKind::kScalar);
    leaf.metadata = ScalarMetadata{"step", d, std::nullopt};
    state.leaves.push_back(std::move(leaf));
  }
  {
    Leaf leaf = base_leaf(dict_path("tag"), "string", LeafKind::kString);
    leaf.metadata = StringMetadata{"tag", d};
    leaf.string_value = "run \xC3\xA9 1";
    state.leaves.push_back(std::move(leaf));
  }
  for (const char* empty : {"Dict", "List", "Tuple", "None", "NamedTuple"}) {
    Leaf leaf = base_leaf(dict_path(std::string("empty_") + empty), empty, LeafKind::kEmpty);
    leaf.skip_deserialize = true;
    state.leaves.push_back(std::move(leaf));
  }
  {  // legacy msgpack value with its inline shape and dtype
    Leaf leaf = base_leaf(dict_path("legacy.value"), "np.ndarray", LeafKind::kBare);
    leaf.skip_deserialize = true;
    leaf.metadata = BareMetadata{"legacy.value", d};
    leaf.inline_shape = Shape{3, 0};
    leaf.inline_dtype = "float64";
    state.leaves.push_back(std::move(leaf));
  }
  {
    Leaf leaf = base_leaf(dict_path("custom"), "my.CustomType", LeafKind::kOther);
    state.leaves.push_back(std::move(leaf));
  }
  {  // degraded: zarr metadata unreadable; typed object names another directory
    Leaf leaf = base_leaf(dict_path("params.damaged"), "jax.Array", LeafKind::kArray);
    leaf.metadata = ArrayMetadata{"params.damaged", "/elsewhere", std::nullopt, std::nullopt,
                                  std::nullopt, std::nullopt};
    leaf.error = "zarr metadata params.damaged/zarr.json: not found";
    state.leaves.push_back(std::move(leaf));
  }
  {  // the root itself is a leaf (empty key path)
    Leaf leaf = base_leaf({}, "scalar", LeafKind::kScalar);
    leaf.metadata = ScalarMetadata{"", d, "float32"};
    state.leaves.push_back(std::move(leaf));
  }
  {  // a key path element that is the empty string
    Leaf leaf = base_leaf(KeyPath{{"", KeyType::kDict}}, "scalar", LeafKind::kScalar);
    leaf.metadata = ScalarMetadata{"", d, "float32"};
    state.leaves.push_back(std::move(leaf));
  }
  state.problems.push_back({Problem::Severity::kError, d + "/array_metadatas/process_1",
                            "not JSON"});

  ItemMetadata extra;
  extra.name = "extra";
  extra.directory = directory + "/extra";
  extra.kind = ItemKind::kJson;
  extra.json_content = R"({"epoch": 3})";

  ItemMetadata broken;
  broken.name = "metrics";
  broken.directory = directory + "/metrics";
  broken.kind = ItemKind::kOther;
  broken.error = "_METADATA: not JSON";
  broken.problems.push_back({Problem::Severity::kError, broken.directory + "/_METADATA",
                             "expected a JSON object"});

  c.items = {std::move(extra), std::move(broken), std::move(state)};
  return c;
}

void check_same(const Leaf& e, const Leaf& a) {
  INFO("leaf ", e.name, " (", a.name, ")");
  CHECK(e.exactly_equal(a));
}

void check_same(const ItemMetadata& e, const ItemMetadata& a) {
  INFO("item ", e.name);
  CHECK(e.name == a.name);
  CHECK(e.directory == a.directory);
  CHECK(e.kind == a.kind);
  CHECK(e.handler == a.handler);
  CHECK(e.flags == a.flags);
  CHECK(e.array_store == a.array_store);
  CHECK(e.json_content == a.json_content);
  CHECK(e.error == a.error);
  CHECK(e.problems == a.problems);
  REQUIRE(e.leaves.size() == a.leaves.size());
  for (size_t i = 0; i < e.leaves.size(); ++i) check_same(e.leaves[i], a.leaves[i]);
}

void check_same(const CheckpointMetadata& e, const CheckpointMetadata& a) {
  INFO("checkpoint ", e.directory);
  CHECK(e.directory == a.directory);
  CHECK(e.root == a.root);
  CHECK(e.step_name == a.step_name);
  CHECK(e.step == a.step);
  CHECK(e.direct == a.direct);
  CHECK(e.layout_version == a.layout_version);
  CHECK(e.finished == a.finished);
  CHECK(e.unfinished_reason == a.unfinished_reason);
  CHECK(e.commit_marker == a.commit_marker);
  CHECK(e.mtime_nsecs == a.mtime_nsecs);
  CHECK(e.step_metadata == a.step_metadata);
  CHECK(e.problems == a.problems);
  REQUIRE(e.items.size() == a.items.size());
  for (size_t i = 0; i < e.items.size(); ++i) check_same(e.items[i], a.items[i]);
}

}  // namespace ckptcat::testing
