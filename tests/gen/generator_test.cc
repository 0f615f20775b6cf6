// ckptcat-gen: the trees it writes read back, through the Orbax reader, as
// exactly what the generator planned (leaf counts, kinds, dtypes, shapes,
// storage, byte-exact sharding strings, stored sizes, step metadata), for every
// run style; the same seed gives byte-identical trees.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <set>

#include "ckptcat/ocdbt.h"
#include "ckptcat/reader.h"
#include "generator.h"
#include "shared_data.h"

namespace fs = std::filesystem;
using namespace ckptcat;
using ckptcat::testing::TempDir;

namespace {

gen::Options small_options(uint64_t seed = 1) {
  gen::Options o = gen::preset_options(gen::Preset::kSmall);
  o.seed = seed;
  o.steps = 2;
  o.leaves = 60;
  return o;
}

const ItemMetadata* find_item(const CheckpointMetadata& c, const std::string& name) {
  for (const auto& i : c.items)
    if (i.name == name) return &i;
  return nullptr;
}

// Checks one leaf read from disk against its plan.
void check_leaf(const Leaf& got, const ckptcat::testing::LeafSpec& want, const std::string& item_dir) {
  INFO("leaf ", want.name());
  CHECK_FALSE(got.error.has_value());
  if (got.error) MESSAGE(*got.error);
  CHECK(got.key_path == want.path);
  CHECK(got.name == want.name());
  CHECK(got.value_type == want.value_type);
  if (want.value_type == "jax.Array" || want.value_type == "np.ndarray") {
    REQUIRE(got.kind == LeafKind::kArray);
    const auto& a = std::get<ArrayMetadata>(got.metadata);
    CHECK(a.name == want.name());
    CHECK(a.directory == item_dir);
    CHECK(a.dtype == want.dtype);
    CHECK(a.shape == want.shape);
    REQUIRE(a.storage.has_value());
    CHECK(a.storage->chunk_shape == want.chunk_shape.value_or(want.write_shape.value_or(want.shape)));
    if (want.value_type == "jax.Array") {
      CHECK(a.storage->write_shape == want.write_shape.value_or(want.shape));
      REQUIRE(want.sharding.has_value());
      REQUIRE(got.sharding_string.has_value());
      CHECK(*got.sharding_string == to_serialized_string(*want.sharding));
      REQUIRE(a.sharding.has_value());
      CHECK(*a.sharding == *want.sharding);
    } else {
      CHECK_FALSE(a.storage->write_shape.has_value());
      CHECK_FALSE(a.sharding.has_value());
      CHECK_FALSE(got.sharding_string.has_value());
    }
    CHECK(got.stored == want.expected_stored());
  } else if (want.value_type == "scalar") {
    REQUIRE(got.kind == LeafKind::kScalar);
    CHECK(std::get<ScalarMetadata>(got.metadata).dtype == want.dtype);
    CHECK(got.stored == want.expected_stored());
  } else if (want.value_type == "string") {
    REQUIRE(got.kind == LeafKind::kString);
    CHECK(got.string_value == want.string_value);
  } else {
    CHECK(got.kind == LeafKind::kEmpty);
    CHECK(got.skip_deserialize);
  }
}

struct ReadBack {
  std::map<std::string, CheckpointMetadata> by_dir;  // relative directory -> checkpoint
  std::vector<orbax::RootLocation> roots;
};

ReadBack read_all(const fs::path& dir) {
  ReadBack out;
  const orbax::Discovery found = orbax::discover(dir);
  CHECK(found.problems.empty());
  out.roots = found.roots;
  for (const auto& loc : found.checkpoints) {
    CheckpointMetadata m = orbax::read_checkpoint(loc);
    out.by_dir.emplace(loc.directory.lexically_relative(fs::absolute(dir).lexically_normal()).string(),
                       std::move(m));
  }
  return out;
}

// Every checkpoint of `tree` as read from `dir` equals its plan.
void check_tree(const gen::Tree& tree, const fs::path& dir) {
  const ReadBack back = read_all(dir);
  CHECK(back.by_dir.size() == tree.checkpoint_count());
  uint64_t leaves = 0;
  for (const auto& run : tree.runs) {
    if (run.root_metadata) {
      const orbax::RootMetadata root = orbax::read_root_metadata(dir / run.name);
      CHECK(root.present);
      CHECK(root.custom_metadata == R"({"run": ")" + run.name + R"(", "style": ")" +
                                        gen::to_string(run.style) + R"(", "seed": )" +
                                        std::to_string(run.seed % 1000000) + "}");
    }
    for (size_t s = 0; s < run.steps.size(); ++s) {
      const std::string rel = run.name + "/" + run.step_folder(s);
      INFO("checkpoint ", rel);
      const auto it = back.by_dir.find(rel);
      REQUIRE(it != back.by_dir.end());
      const CheckpointMetadata& got = it->second;
      const ckptcat::testing::CheckpointSpec want = run.step_spec(s);
      CHECK(got.step == run.steps[s]);
      CHECK(got.finished);
      CHECK(got.direct == want.direct);
      CHECK(got.layout_version == (want.v1 ? 1 : 0));
      CHECK(got.commit_marker == want.commit_marker);
      CHECK(got.problems.empty());
      CHECK(got.step_metadata.present);
      CHECK(got.step_metadata.init_timestamp_nsecs == want.init_timestamp_nsecs);
      CHECK(got.step_metadata.commit_timestamp_nsecs == want.commit_timestamp_nsecs);
      CHECK(got.step_metadata.custom_metadata == want.custom_metadata);
      REQUIRE(got.items.size() == want.items.size());
      for (const auto& item_spec : want.items) {
        const ItemMetadata* item = find_item(got, want.direct ? "" : item_spec.name);
        REQUIRE(item != nullptr);
        CHECK_FALSE(item->error.has_value());
        for (const auto& p : item->problems) MESSAGE(p.file, ": ", p.message);
        CHECK(item->problems.empty());
        if (item_spec.kind == ckptcat::testing::ItemSpec::Kind::kJson) {
          CHECK(item->kind == ItemKind::kJson);
          CHECK(item->json_content == item_spec.json_content);
          continue;
        }
        CHECK(item->kind == ItemKind::kPyTree);
        const bool ocdbt = item_spec.storage == ckptcat::testing::ItemSpec::Storage::kOcdbt;
        CHECK(item->array_store == (ocdbt ? ArrayStore::kOcdbt : ArrayStore::kFiles));
        CHECK(item->flags.use_ocdbt == ocdbt);
        CHECK(item->flags.use_zarr3 == item_spec.zarr3);
        CHECK(item->flags.custom_metadata == item_spec.tree_custom_metadata);
        REQUIRE(item->leaves.size() == item_spec.leaves.size());
        for (size_t l = 0; l < item_spec.leaves.size(); ++l)
          check_leaf(item->leaves[l], item_spec.leaves[l], item->directory);
        leaves += item->leaves.size();
      }
    }
  }
  CHECK(leaves == tree.leaf_count());
}

// Relative path -> content of every file below `dir`; without the OCDBT
// binary files and commit markers when `json_only` (they hold the output
// path: ocdbt_writer.cc mixes it into data file names and uuids, and
// commit_success.txt names the folder).
std::map<std::string, std::string> snapshot(const fs::path& dir, bool json_only = false) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    const bool path_dependent = e.path().filename() == "manifest.ocdbt" ||
                                e.path().filename() == "commit_success.txt" ||
                                e.path().parent_path().filename() == "d";
    if (json_only && path_dependent) continue;
    files[e.path().lexically_relative(dir).string()] = ckptcat::testing::read_file(e.path());
  }
  return files;
}

}  // namespace

TEST_CASE("every run style reads back as planned") {
  TempDir tmp;
  const gen::Tree tree = gen::plan_tree(small_options());
  REQUIRE(tree.runs.size() == 4);
  gen::write_tree(tree, tmp.path());
  check_tree(tree, tmp.path());
}

TEST_CASE("the demo preset: a named mesh, a scalar, a string, an empty container") {
  TempDir tmp;
  const gen::Tree tree = gen::plan_tree(gen::preset_options(gen::Preset::kDemo));
  CHECK(tree.checkpoint_count() == 6);
  CHECK(tree.runs.size() == 2);
  gen::write_tree(tree, tmp.path());
  check_tree(tree, tmp.path());
  std::set<std::string> types;
  bool named = false;
  for (const auto& leaf : tree.runs[0].state.leaves) {
    types.insert(leaf.value_type);
    named |= leaf.sharding && std::holds_alternative<NamedShardingMetadata>(*leaf.sharding);
  }
  CHECK(named);
  CHECK(types == std::set<std::string>{"Dict", "None", "jax.Array", "scalar", "string"});
}

TEST_CASE("the leaf count is exact for any budget") {
  for (int n : {0, 1, 2, 3, 5, 6, 7, 8, 31, 100, 1000}) {
    gen::Options o = small_options();
    o.leaves = n;
    o.steps = 1;
    const gen::Tree tree = gen::plan_tree(o);
    for (const auto& run : tree.runs) CHECK(run.state.leaves.size() == static_cast<size_t>(n));
    CHECK(tree.leaf_count() == 4u * static_cast<uint64_t>(n));
  }
}

TEST_CASE("leaves are in JAX flatten order with Flax/optax names") {
  gen::Options o = small_options();
  o.leaves = 400;
  const gen::Tree tree = gen::plan_tree(o);
  const auto& leaves = tree.runs[0].state.leaves;
  std::vector<std::string> names;
  for (const auto& l : leaves) names.push_back(l.name());
  CHECK(std::count(names.begin(), names.end(), "params.layers_3.attention.query.kernel") == 1);
  CHECK(std::count(names.begin(), names.end(), "opt_state.0.mu.layers_3.attention.query.kernel") == 1);
  CHECK(std::count(names.begin(), names.end(), "opt_state.0.nu.layers_3.attention.query.kernel") == 1);
  CHECK(std::count(names.begin(), names.end(), "opt_state.0.count") == 1);
  CHECK(std::count(names.begin(), names.end(), "step") == 1);
  // Dict keys sort bytewise: layers_10 before layers_2, as JAX flattens them.
  const auto pos = [&](const std::string& n) { return std::find(names.begin(), names.end(), n) - names.begin(); };
  CHECK(pos("params.layers_10.mlp.wi.kernel") < pos("params.layers_2.mlp.wi.kernel"));
  CHECK(pos("opt_state.1") > pos("opt_state.0.nu.layers_9.pre_mlp_norm.scale"));
}

TEST_CASE("the features of each style are present") {
  gen::Options o = small_options();
  const gen::Tree tree = gen::plan_tree(o);
  std::set<std::string> dtypes;
  size_t largest_mesh = 0;
  bool multi_axis_entry = false, chunk_differs = false, single_device = false, numpy = false;
  for (const auto& run : tree.runs)
    for (const auto& leaf : run.state.leaves) {
      dtypes.insert(leaf.dtype);
      numpy |= leaf.value_type == "np.ndarray";
      if (leaf.chunk_shape && leaf.write_shape && *leaf.chunk_shape != *leaf.write_shape)
        chunk_differs = true;
      if (!leaf.sharding) continue;
      if (const auto* n = std::get_if<NamedShardingMetadata>(&*leaf.sharding)) {
        largest_mesh = std::max(largest_mesh, n->device_mesh->device_ids.size());
        for (const auto& e : n->partition_spec)
          multi_axis_entry |= std::holds_alternative<std::vector<std::string>>(e);
      } else {
        single_device = true;
      }
    }
  CHECK(largest_mesh == 4096);
  CHECK(multi_axis_entry);
  CHECK(chunk_differs);
  CHECK(single_device);
  CHECK(numpy);
  for (const char* d : {"bool", "int2", "int4", "uint64", "complex128", "bfloat16", "float8_e4m3fn",
                        "float8_e8m0fnu", "float4_e2m1fn", "float16"})
    CHECK_MESSAGE(dtypes.count(d) == 1, d);
  CHECK(dtypes.size() == 25);

  TempDir tmp;
  gen::write_tree(tree, tmp.path());
  const fs::path multihost = tmp.path() / tree.runs[1].name / tree.runs[1].step_folder(0);
  CHECK(fs::exists(multihost / "orbax.checkpoint"));
  CHECK(fs::exists(multihost / "commit_success.txt"));
  for (int p = 0; p < 4; ++p) {
    CHECK(fs::exists(multihost / "state" / ("ocdbt.process_" + std::to_string(p)) / "manifest.ocdbt"));
    CHECK(fs::exists(multihost / "state" / "array_metadatas" / ("process_" + std::to_string(p))));
  }
  // Embedding chunks (1,536 bytes) live out of line in the per-process data files.
  uint64_t process_data_bytes = 0;
  for (const auto& e : fs::recursive_directory_iterator(multihost / "state"))
    if (e.is_regular_file() && e.path().string().find("ocdbt.process_") != std::string::npos &&
        e.path().parent_path().filename() == "d")
      process_data_bytes += fs::file_size(e.path());
  CHECK(process_data_bytes > 1536u * 16);
  const fs::path exported = tmp.path() / tree.runs[2].name;
  CHECK(fs::exists(exported / tree.runs[2].step_folder(0) / "probes.bool" / ".zarray"));
  CHECK(fs::exists(exported / tree.runs[2].step_folder(1) / "probes.bool" / "zarr.json"));
  CHECK(tree.runs[3].step_folder(0).size() == 8);  // fixed-length step names
  CHECK(tree.runs[1].step_folder(0).rfind("step_", 0) == 0);
}

TEST_CASE("the orbax style: one root node per item, values inline, two processes, full meshes") {
  gen::Options o = gen::preset_options(gen::Preset::kOrbax);
  CHECK(o.steps == 40);
  CHECK(o.leaves == 2000);
  o.steps = 2;
  o.leaves = 600;
  const gen::Tree tree = gen::plan_tree(o);
  REQUIRE(tree.runs.size() == 1);
  CHECK(tree.runs[0].style == gen::Style::kOrbax);
  TempDir tmp;
  gen::write_tree(tree, tmp.path());
  check_tree(tree, tmp.path());
  const fs::path item = tmp.path() / tree.runs[0].name / tree.runs[0].step_folder(1) / "state";
  for (int p = 0; p < 2; ++p)
    CHECK(fs::exists(item / ("ocdbt.process_" + std::to_string(p)) / "manifest.ocdbt"));
  CHECK_FALSE(fs::exists(item / "ocdbt.process_2"));
  const auto db = ocdbt::Database::open(item);
  const uint64_t decoded_at_open = db.stats().nodes_decoded;  // the root, checked at open
  uint64_t keys = 0, out_of_line = 0;
  db.list([&](const ocdbt::KeyEntry& e) {
    ++keys;
    out_of_line += !e.location.is_inline;
    return true;
  });
  CHECK(keys > 1024);  // more than the default fanout: zarr.json and chunks of 600 leaves
  CHECK(out_of_line == 0);  // small values inline, as Orbax stores them
  // The root node holds every key; the walk starts from its decode at open.
  CHECK(decoded_at_open >= 1);
  CHECK(db.stats().nodes_decoded == decoded_at_open);
  // Every _sharding entry writes the 8-device mesh out in full.
  const std::string sharding = ckptcat::testing::read_file(item / "_sharding");
  CHECK(sharding.find(R"(\"device_mesh\": {\"mesh\": [[{\"id\": )") != std::string::npos);
}

TEST_CASE("same seed and folder, same bytes; another seed, another tree") {
  gen::Options o = small_options(42);
  TempDir tmp, other;
  const fs::path dir = tmp.path() / "tree";
  o.jobs = 1;
  gen::write_tree(gen::plan_tree(o), dir);
  const auto first = snapshot(dir);
  CHECK(first.size() > 100);
  fs::remove_all(dir);
  o.jobs = 2;  // the thread count does not matter
  gen::write_tree(gen::plan_tree(o), dir);
  CHECK(first == snapshot(dir));
  // Elsewhere, every metadata file is identical too.
  gen::write_tree(gen::plan_tree(o), other.path() / "tree");
  const auto json = snapshot(dir, true);
  CHECK(json == snapshot(other.path() / "tree", true));
  fs::remove_all(other.path() / "tree");
  o.seed = 43;
  gen::write_tree(gen::plan_tree(o), other.path() / "tree");
  CHECK(json != snapshot(other.path() / "tree", true));
}
