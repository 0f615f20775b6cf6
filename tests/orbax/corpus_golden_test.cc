// Reads every checkpoint of ../shared/corpus through discovery from the corpus
// root and compares every leaf with ../shared/golden/leaves.jsonl (what Orbax's
// metadata() reports).
#include <doctest/doctest.h>

#include <map>
#include <nlohmann/json.hpp>

#include "ckptcat/reader.h"
#include "shared_case.h"

using namespace ckptcat;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

struct Corpus {
  fs::path root;
  orbax::Discovery discovery;
  std::map<std::string, CheckpointMetadata> checkpoints;  // by relative path
  std::map<std::string, const ItemMetadata*> items;       // by relative item path
  std::map<std::string, const CheckpointMetadata*> item_checkpoint;
};

const Corpus& corpus() {
  static const Corpus* c = [] {
    auto* out = new Corpus;
    out->root = fs::canonical(testing::shared_data_dir() / "corpus");
    out->discovery = orbax::discover(out->root);
    for (const auto& loc : out->discovery.checkpoints) {
      const auto rel = fs::path(loc.directory).lexically_relative(out->root).generic_string();
      out->checkpoints.emplace(rel, orbax::read_checkpoint(loc));
    }
    for (const auto& [rel, cp] : out->checkpoints)
      for (const auto& item : cp.items) {
        const auto item_rel = fs::path(item.directory).lexically_relative(out->root).generic_string();
        out->items[item_rel] = &item;
        out->item_checkpoint[item_rel] = &cp;
      }
    return out;
  }();
  return *c;
}

std::optional<Shape> shape_of(const json& v) {
  if (v.is_null()) return std::nullopt;
  return v.get<Shape>();
}

std::optional<std::string> string_of(const json& v) {
  if (v.is_null()) return std::nullopt;
  return v.get<std::string>();
}

bool has_fallback_warning(const ItemMetadata& item) {
  for (const auto& p : item.problems)
    if (p.severity == Problem::Severity::kWarning &&
        p.message.find("per-process databases") != std::string::npos)
      return true;
  return false;
}

}  // namespace

SHARED_TEST_CASE("every golden leaf matches what the reader reports") {
  const auto& c = corpus();
  const auto golden_lines = testing::read_lines(testing::shared_dir() / "golden" / "leaves.jsonl");
  std::map<std::string, std::vector<json>> golden;
  for (const auto& line : golden_lines) {
    auto j = json::parse(line);
    golden[j["item"].get<std::string>()].push_back(j);
  }
  REQUIRE(golden.size() == 46);
  size_t leaves_checked = 0;
  for (const auto& entry : golden) {
    const std::string& item_path = entry.first;
    const std::vector<json>& leaves = entry.second;
    CAPTURE(item_path);
    const auto it = c.items.find(item_path);
    REQUIRE_MESSAGE(it != c.items.end(), "item not found by discovery: " << item_path);
    const ItemMetadata& item = *it->second;
    if (leaves.front().contains("error")) {
      CHECK(item.error.has_value());
      CHECK(item.leaves.empty());
      if (item.error) CHECK(item.error->find("_METADATA") != std::string::npos);
      continue;
    }
    REQUIRE_FALSE(item.error.has_value());
    REQUIRE(item.leaves.size() == leaves.size());
    std::map<std::string, const Leaf*> by_name;
    for (const auto& leaf : item.leaves) by_name[leaf.name] = &leaf;
    for (const auto& g : leaves) {
      const std::string name = g["name"];
      CAPTURE(name);
      REQUIRE(by_name.count(name));
      const Leaf& leaf = *by_name[name];
      ++leaves_checked;
      CHECK(leaf.value_type == g["value_type"].get<std::string>());
      CHECK(leaf.sharding_string == string_of(g["sharding"]));
      const std::string kind = g["kind"];
      if (kind == "bare") {
        CHECK(leaf.kind == LeafKind::kBare);
        REQUIRE(std::holds_alternative<BareMetadata>(leaf.metadata));
        CHECK(std::get<BareMetadata>(leaf.metadata).directory == item.directory);
        continue;
      }
      REQUIRE((kind == "array" || kind == "array?"));
      CHECK(leaf.kind == LeafKind::kArray);
      REQUIRE(std::holds_alternative<ArrayMetadata>(leaf.metadata));
      const auto& a = std::get<ArrayMetadata>(leaf.metadata);
      CHECK(a.name == name);
      CHECK(a.directory == item.directory);
      REQUIRE(a.storage.has_value());
      CHECK(a.storage->write_shape == shape_of(g["write_shape"]));
      if (leaf.sharding_string) {
        REQUIRE(a.sharding.has_value());
        CHECK(to_serialized_string(*a.sharding) == *leaf.sharding_string);
      } else {
        CHECK_FALSE(a.sharding.has_value());
      }
      if (kind == "array") {
        CHECK(a.shape == shape_of(g["shape"]));
        CHECK(a.dtype == string_of(g["dtype"]));
        CHECK(a.storage->chunk_shape == shape_of(g["chunk_shape"]));
        CHECK_FALSE(leaf.error.has_value());
        REQUIRE(leaf.stored.has_value());
      } else {
        // Damaged top-level store: read through the per-process fallback.
        CHECK(has_fallback_warning(item));
        CHECK(item.array_store == ArrayStore::kOcdbtFallback);
        if (!a.shape) CHECK(leaf.error.has_value());
      }
    }
  }
  CHECK(leaves_checked == golden_lines.size() - 1);
}

SHARED_TEST_CASE("acsolverx: a CheckpointManager root with three composite steps") {
  const auto& c = corpus();
  std::vector<int64_t> steps;
  for (const auto& loc : c.discovery.checkpoints)
    if (loc.root == c.root / "acsolverx-610model") {
      steps.push_back(loc.step.value_or(-1));
      CHECK_FALSE(loc.direct);
      CHECK(loc.finished);
    }
  CHECK(steps == std::vector<int64_t>{900, 950, 1000});
  const auto& cp = c.checkpoints.at("acsolverx-610model/1000");
  CHECK(cp.step_metadata.present);
  CHECK(cp.step_metadata.init_timestamp_nsecs == 1782116182093677998);
  CHECK(cp.step_metadata.commit_timestamp_nsecs == 1782116182312247431);
  CHECK(cp.step_metadata.custom_metadata == "{}");
  CHECK(cp.layout_version == 0);
  CHECK_FALSE(cp.commit_marker);
  REQUIRE(cp.items.size() == 3);
  CHECK(cp.items[0].name == "config");
  CHECK(cp.items[0].kind == ItemKind::kJson);
  CHECK(cp.items[0].handler ==
        "orbax.checkpoint._src.handlers.json_checkpoint_handler.JsonCheckpointHandler");
  REQUIRE(cp.items[0].json_content.has_value());
  CHECK(json::parse(*cp.items[0].json_content)["NUM_ENVS"] == 2380);
  CHECK(cp.items[1].name == "params");
  CHECK(cp.items[1].kind == ItemKind::kPyTree);
  CHECK(cp.items[1].array_store == ArrayStore::kOcdbt);
  CHECK(cp.items[2].name == "solve_data");
  // Chunk sizes come from value sizes: the data file left out of the corpus is not needed.
  for (const auto& leaf : cp.items[2].leaves) {
    REQUIRE(leaf.stored.has_value());
    CHECK(leaf.stored->chunk_count >= 1);
    CHECK(leaf.stored->bytes > 0);
  }
  const auto& handlers =
      std::get<std::map<std::string, std::optional<std::string>>>(*cp.step_metadata.item_handlers);
  CHECK(handlers.size() == 3);
}

SHARED_TEST_CASE("compat corpus: step metadata variants, layouts and damaged items") {
  const auto& c = corpus();
  const std::string v0 = "orbax-compat/v0_checkpoints/";
  const std::string v1 = "orbax-compat/v1_checkpoints/composite_checkpoint/";
  {
    const auto& cp = c.checkpoints.at(
        v0 + "direct_checkpoint/checkpoint_metadata_present/pytree_checkpointable_has_metadata");
    CHECK(cp.direct);
    CHECK(std::get<std::string>(*cp.step_metadata.item_handlers) ==
          "orbax.checkpoint._src.handlers.standard_checkpoint_handler.StandardCheckpointHandler");
    CHECK(cp.step_metadata.init_timestamp_nsecs == 1778718340383655282);
    CHECK(cp.step_metadata.commit_timestamp_nsecs == 1778718340783462133);
    CHECK(cp.step_metadata.custom_metadata == "{\"custom\": \"meta\"}");
    REQUIRE(cp.items.size() == 1);
    CHECK(cp.items[0].name == "");
    CHECK(cp.items[0].flags.use_ocdbt == true);
    CHECK(cp.items[0].flags.store_array_data_equal_to_fill_value == true);
  }
  {
    const auto& cp = c.checkpoints.at(
        v0 + "direct_checkpoint/non_critical_metadata_alterations/missing_item_handlers_metadata");
    CHECK(cp.direct);
    CHECK_FALSE(cp.step_metadata.item_handlers.has_value());
  }
  {
    const auto& cp = c.checkpoints.at(
        v0 + "direct_checkpoint/non_critical_metadata_alterations/missing_commit_timestamp_nsecs_metadata");
    CHECK_FALSE(cp.step_metadata.commit_timestamp_nsecs.has_value());
    CHECK_FALSE(cp.step_metadata.commit_timestamp_null);
    CHECK(cp.finished);
  }
  {
    const auto& cp = c.checkpoints.at(
        v0 + "direct_checkpoint/checkpoint_metadata_present/pytree_checkpointable_missing_metadata");
    REQUIRE(cp.items.size() == 1);
    REQUIRE(cp.items[0].error.has_value());
    CHECK(cp.items[0].error->find("_METADATA") != std::string::npos);
  }
  {
    const auto& cp = c.checkpoints.at(v1 + "checkpoint_metadata_present/pytree_checkpointable_has_metadata");
    CHECK(cp.layout_version == 1);
    CHECK_FALSE(cp.direct);
    REQUIRE(cp.items.size() == 2);
    CHECK(cp.items[0].name == "metadata");
    CHECK(cp.items[0].kind == ItemKind::kJson);
    CHECK(cp.items[0].json_content == "{\"metadata\": \"json_data\"}");
    CHECK(cp.items[1].name == "state");
    CHECK(cp.items[1].flags.use_zarr3);
  }
  {
    // Composite step without _CHECKPOINT_METADATA: found by its item folders.
    const auto& cp = c.checkpoints.at(v0 + "composite_checkpoint/checkpoint_metadata_missing/pytree_checkpointable_has_metadata");
    CHECK_FALSE(cp.step_metadata.present);
    CHECK_FALSE(cp.direct);
    CHECK(cp.items.size() == 2);
  }
  {
    // state/ deleted while still named in item_handlers: not an item.
    const auto& cp = c.checkpoints.at(v1 + "non_critical_general_alterations/deleted_checkpointable");
    REQUIRE(cp.items.size() == 1);
    CHECK(cp.items[0].name == "metadata");
  }
}

SHARED_TEST_CASE("legacy layouts: msgpack values, plain zarr folders, t5x without _METADATA") {
  const auto& c = corpus();
  {
    const auto& item = *c.items.at("orbax-aggregate/aggregate_all.checkpoint");
    REQUIRE(item.leaves.size() == 4);
    CHECK(item.leaves[0].name == "a");
    CHECK(item.leaves[0].inline_shape == Shape{8});
    CHECK(item.leaves[0].inline_dtype == "int64");
    CHECK(item.leaves[3].name == "c.e");
    CHECK(item.leaves[3].inline_shape == Shape{4, 4});
  }
  {
    const auto& item = *c.items.at("orbax-aggregate/aggregate_some.checkpoint");
    CHECK(item.array_store == ArrayStore::kFiles);
    REQUIRE(item.leaves[1].stored.has_value());
    CHECK(item.leaves[1].stored->chunk_count == 1);
    CHECK(item.leaves[1].stored->bytes ==
          fs::file_size(c.root / "orbax-aggregate/aggregate_some.checkpoint/b/0"));
    CHECK(item.leaves[2].inline_shape == Shape{2, 4});
  }
  {
    const auto& cp = c.checkpoints.at("t5x-tiny-orbax/1");
    CHECK(cp.step == 1);
    CHECK(cp.direct);
    REQUIRE(cp.items.size() == 1);
    const auto& item = cp.items[0];
    CHECK_FALSE(item.error.has_value());
    std::map<std::string, const Leaf*> by_name;
    for (const auto& leaf : item.leaves) by_name[leaf.name] = &leaf;
    REQUIRE(by_name.count("_optimizer.state.param_states.kernel"));
    const Leaf& kernel = *by_name["_optimizer.state.param_states.kernel"];
    CHECK(kernel.kind == LeafKind::kArray);
    CHECK_FALSE(std::get<ArrayMetadata>(kernel.metadata).shape.has_value());
    CHECK_FALSE(std::get<ArrayMetadata>(kernel.metadata).dtype.has_value());
    REQUIRE(kernel.error.has_value());
    CHECK(kernel.error->find("not recoverable") != std::string::npos);
    REQUIRE(kernel.stored.has_value());
    CHECK(kernel.stored->chunk_count == 1);
    REQUIRE(by_name.count("_optimizer.target"));
    CHECK(by_name["_optimizer.target"]->kind == LeafKind::kEmpty);
    CHECK(by_name["flax_mutables"]->value_type == "None");
  }
}

SHARED_TEST_CASE("no _METADATA: the msgpack tree with placeholders resolved through plain zarr folders") {
  const auto& c = corpus();
  testing::TempDir tmp;
  const fs::path item = tmp.path() / "aggregate_some.checkpoint";
  fs::copy(c.root / "orbax-aggregate/aggregate_some.checkpoint", item, fs::copy_options::recursive);
  fs::permissions(item, fs::perms::owner_all, fs::perm_options::add);
  fs::remove(item / "_METADATA");
  const auto found = orbax::discover(item);
  REQUIRE(found.checkpoints.size() == 1);
  const auto cp = orbax::read_checkpoint(found.checkpoints[0]);
  REQUIRE(cp.items.size() == 1);
  const auto& leaves = cp.items[0].leaves;
  REQUIRE(leaves.size() == 4);
  CHECK(leaves[0].name == "a");
  CHECK(leaves[0].kind == LeafKind::kArray);
  CHECK_FALSE(leaves[0].error.has_value());
  CHECK(std::get<ArrayMetadata>(leaves[0].metadata).shape == Shape{8});
  CHECK(std::get<ArrayMetadata>(leaves[0].metadata).dtype == "int64");
  CHECK(leaves[2].kind == LeafKind::kBare);
  CHECK(leaves[2].inline_shape == Shape{2, 4});
  CHECK(leaves[2].inline_dtype == "int64");
  bool warned = false;
  for (const auto& p : cp.items[0].problems) warned = warned || p.message.find("no _METADATA") != std::string::npos;
  CHECK(warned);
}
