// The catalog: round trips, views, idempotent and atomic ingest, prune,
// schema versioning, dedup and leaf queries.
#include "ckptcat/catalog.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <thread>

#include "ckptcat/error.h"
#include "fixtures.h"
#include "shared_data.h"

namespace ckptcat {
namespace {

using testing::check_same;
using testing::sample_checkpoint;
using testing::TempDir;

// A filter with the fields `set` assigns (designated initializers of
// structs with defaults warn under -Wextra in g++ 12).
template <typename Filter, typename Set>
Filter filter(Set&& set) {
  Filter f;
  set(f);
  return f;
}

int64_t count(Catalog& catalog, const std::string& sql) {
  return catalog.database().execAndGet(sql).getInt64();
}

// The leaf_metadata view's sharding column for one leaf.
std::optional<std::string> view_sharding(Catalog& catalog, const std::string& checkpoint,
                                         const std::string& item, const std::string& name) {
  SQLite::Statement q(catalog.database(),
                      "SELECT sharding FROM leaf_metadata WHERE checkpoint_dir = ? AND item = ? "
                      "AND name = ?");
  q.bind(1, checkpoint);
  q.bind(2, item);
  q.bind(3, name);
  REQUIRE(q.executeStep());
  if (q.getColumn(0).isNull()) return std::nullopt;
  return q.getColumn(0).getString();
}

std::string named_sharding_string(const Shape& mesh_shape, const std::vector<std::string>& names,
                                  int64_t first_id = 0) {
  NamedShardingMetadata named;
  named.shape = mesh_shape;
  named.axis_names = names;
  named.axis_types = std::vector<std::string>(names.size(), "AxisType.Auto");
  named.partition_spec = {names.empty() ? PartitionSpecEntry{} : PartitionSpecEntry{names[0]}};
  const int64_t size =
      std::accumulate(mesh_shape.begin(), mesh_shape.end(), int64_t{1}, std::multiplies<>());
  std::vector<int64_t> ids;
  for (int64_t i = 0; i < size; ++i) ids.push_back((first_id + i * 7) % size);
  named.device_mesh = DeviceMesh{std::move(ids)};
  return named.to_serialized_string();
}

CheckpointMetadata arrays_checkpoint(const std::string& directory, int64_t step,
                                     const std::vector<std::string>& shardings) {
  CheckpointMetadata c;
  c.directory = directory;
  c.root = "/runs/mesh";
  c.step_name = std::to_string(step);
  c.step = step;
  ItemMetadata item;
  item.name = "state";
  item.directory = directory + "/state";
  item.kind = ItemKind::kPyTree;
  // Parsing a 4,096-device string takes a while: once per distinct string.
  std::map<std::string, Leaf> parsed;
  for (size_t i = 0; i < shardings.size(); ++i) {
    auto it = parsed.find(shardings[i]);
    if (it == parsed.end())
      it = parsed.emplace(shardings[i], testing::array_leaf("x", item.directory, shardings[i]))
               .first;
    Leaf leaf = it->second;
    leaf.name = "layer" + std::to_string(i) + ".w";
    leaf.key_path = {{"layer" + std::to_string(i), KeyType::kDict}, {"w", KeyType::kDict}};
    std::get<ArrayMetadata>(leaf.metadata).name = leaf.name;
    item.leaves.push_back(std::move(leaf));
  }
  c.items.push_back(std::move(item));
  return c;
}

TEST_CASE("a checkpoint with every leaf kind and field round-trips") {
  Catalog catalog(":memory:");
  const auto original = sample_checkpoint("/runs/exp/100", 100);
  const auto result = catalog.ingest(original, "fp1");
  CHECK(result.action == IngestAction::kInserted);
  CHECK(result.leaf_count == original.items[2].leaves.size());

  auto loaded = catalog.load_checkpoint("/runs/exp/100");
  REQUIRE(loaded);
  check_same(original, *loaded);

  auto item = catalog.load_item("/runs/exp/100", "state");
  REQUIRE(item);
  check_same(original.items[2], *item);
  CHECK_FALSE(catalog.load_item("/runs/exp/100", "nope"));
  CHECK_FALSE(catalog.load_checkpoint("/runs/exp/999"));
  CHECK(catalog.verify().empty());
}

TEST_CASE("items of many leaves: rows written in batches, extras after their rows") {
  // The writer inserts `leaves` rows 64 to a statement (leaf_rows.h) and the
  // leaf_extras rows, which reference them, once an item's rows are written.
  Catalog catalog(":memory:");
  auto original = sample_checkpoint("/runs/exp/300", 300);
  auto& leaves = original.items[2].leaves;
  const auto kinds = leaves;  // every kind of leaf, extras included, repeated below
  for (int copy = 0; leaves.size() < 64 * 3 + 5; ++copy)
    for (auto leaf : kinds) {
      const std::string old_name = leaf.name;
      leaf.key_path.push_back(KeyPathElement{"copy" + std::to_string(copy), KeyType::kDict});
      leaf.name = param_name(leaf.key_path);
      std::visit(
          [&](auto& m) {  // typed objects named differently on purpose keep their name
            if constexpr (!std::is_same_v<std::decay_t<decltype(m)>, std::monostate>)
              if (m.name == old_name) m.name = leaf.name;
          },
          leaf.metadata);
      leaves.push_back(std::move(leaf));
    }
  REQUIRE(catalog.ingest(original, "fp").leaf_count == leaves.size());
  check_same(original, *catalog.load_checkpoint("/runs/exp/300"));
  CHECK(catalog.verify().empty());
}

TEST_CASE("leaf_metadata rebuilds every sharding string byte for byte") {
  Catalog catalog(":memory:");
  const auto original = sample_checkpoint("/runs/exp/1", 1);
  catalog.ingest(original, "fp");
  for (const auto& item : original.items)
    for (const auto& leaf : item.leaves) {
      INFO(leaf.name);
      CHECK(view_sharding(catalog, original.directory, item.name, leaf.name) ==
            leaf.sharding_string);
    }
  // Strings that do not round-trip through ShardingMetadata are kept raw.
  CHECK(count(catalog, "SELECT count(*) FROM leaf_extras WHERE sharding_raw IS NOT NULL") == 2);

  SQLite::Statement q(catalog.database(),
                      "SELECT value_type, kind, dtype, shape, chunk_shape, write_shape, "
                      "stored_bytes, item_dir, step FROM leaf_metadata WHERE name = 'rng'");
  REQUIRE(q.executeStep());
  CHECK(q.getColumn(0).getString() == "jax.Array");
  CHECK(q.getColumn(1).getString() == "array");
  CHECK(q.getColumn(2).getString() == "uint32");
  CHECK(q.getColumn(3).getString() == "[4]");
  CHECK(q.getColumn(4).getString() == "[4]");
  CHECK(q.getColumn(5).isNull());
  CHECK(q.getColumn(6).getInt64() == 512);
  CHECK(q.getColumn(7).getString() == "/runs/exp/1/state");
  CHECK(q.getColumn(8).getInt64() == 1);
}

TEST_CASE("the sharding view nests device meshes of every rank") {
  Catalog catalog(":memory:");
  std::vector<std::string> strings = {
      named_sharding_string({}, {}),                         // 0-D: a single {"id": n}
      named_sharding_string({4}, {"x"}),                     // 1-D
      named_sharding_string({2, 3}, {"data", "model"}),      // 2-D
      named_sharding_string({2, 2, 2}, {"x", "y", "z"}, 3),  // 3-D
      named_sharding_string({1, 1, 1, 2}, {"a", "b", "c", "d"}),
      named_sharding_string({2}, {"donn\xC3\xA9"
                                  "es"}),                  // non-ASCII: \u00e9
      named_sharding_string({1}, {"ax\xF0\x9F\x98\x80"}),  // surrogate pair
      named_sharding_string({2}, {"q\"uo\\te\t/x\n"}),     // escapes
      R"({"sharding_type": "NamedSharding", "shape": [2], "axis_names": ["x"], "partition_spec": [["x"], "x", null, []]})",
      R"({"sharding_type": "PositionalSharding", "shape": [1, 2]})",
      R"x({"sharding_type": "SingleDeviceSharding", "device_str": "TPU_0(process=0,(0,0,0,0))"})x",
  };
  const auto c = arrays_checkpoint("/m/1", 1, strings);
  catalog.ingest(c, "fp");
  for (size_t i = 0; i < strings.size(); ++i) {
    INFO(strings[i]);
    CHECK(view_sharding(catalog, "/m/1", "state", c.items[0].leaves[i].name) == strings[i]);
  }
  CHECK(strings[0].find(R"("device_mesh": {"mesh": {"id": 0}})") != std::string::npos);
  CHECK(count(catalog, "SELECT count(*) FROM leaf_extras WHERE sharding_raw IS NOT NULL") == 0);
  check_same(c, *catalog.load_checkpoint("/m/1"));
  CHECK(catalog.verify().empty());
}

TEST_CASE("leaf_metadata joins each sharding's stored string instead of rebuilding it per row") {
  Catalog catalog(":memory:");
  const std::string mesh = named_sharding_string({4, 4}, {"data", "model"}, 3);
  const std::string single =
      R"({"sharding_type": "SingleDeviceSharding", "device_str": "cpu:0"})";
  catalog.ingest(arrays_checkpoint("/j/1", 1, {mesh, single, mesh, mesh}), "fp");
  catalog.ingest(arrays_checkpoint("/j/2", 2, {mesh, single, mesh, mesh}), "fp");
  // One stored string per distinct sharding, equal to what the tables describe.
  CHECK(count(catalog, "SELECT count(*) FROM sharding_texts") == 2);
  CHECK(count(catalog,
              "SELECT count(*) FROM sharding_texts t JOIN sharding_strings s USING (sharding_id) "
              "WHERE t.serialized = s.serialized") == 2);
  CHECK(view_sharding(catalog, "/j/2", "state", "layer2.w") == mesh);
  CHECK(view_sharding(catalog, "/j/2", "state", "layer1.w") == single);
  // No subquery runs per row: every step of the plan is a scan or a search.
  SQLite::Statement plan(catalog.database(),
                         "EXPLAIN QUERY PLAN SELECT sharding FROM leaf_metadata");
  int steps = 0;
  while (plan.executeStep()) {
    const std::string detail = plan.getColumn(3).getString();
    INFO(detail);
    CHECK(detail.find("SUBQUERY") == std::string::npos);
    ++steps;
  }
  CHECK(steps > 0);
  CHECK(catalog.verify().empty());

  // verify() notices a missing or altered stored string.
  catalog.database().exec("UPDATE sharding_texts SET serialized = serialized || ' '");
  auto problems = catalog.verify();
  REQUIRE(problems.size() == 2);
  CHECK(problems[0].find("differs from the one the tables describe") != std::string::npos);
  catalog.database().exec("DELETE FROM sharding_texts");
  problems = catalog.verify();
  REQUIRE(problems.size() == 2);
  CHECK(problems[0].find("no row in sharding_texts") != std::string::npos);
}

TEST_CASE("a version 1 catalog gains the stored sharding strings when opened") {
  TempDir dir;
  const std::string path = (dir.path() / "v1.db").string();
  const std::string mesh = named_sharding_string({2, 8}, {"data", "model"}, 1);
  const auto sample = sample_checkpoint("/r/1", 1);
  std::vector<std::pair<std::string, std::optional<std::string>>> before;
  {
    Catalog catalog(path);
    catalog.ingest(sample, "fp");
    catalog.ingest(arrays_checkpoint("/r/2", 2, {mesh, mesh}), "fp");
    SQLite::Statement q(catalog.database(),
                        "SELECT checkpoint_dir || '/' || name, sharding FROM leaf_metadata "
                        "ORDER BY checkpoint_id, item_id, ord");
    while (q.executeStep())
      before.emplace_back(q.getColumn(0).getString(),
                          q.getColumn(1).isNull() ? std::nullopt
                                                  : std::optional(q.getColumn(1).getString()));
    // Back to what version 1 wrote: no sharding_texts (its sharding_strings
    // view is the same rebuild as today's).
    catalog.database().exec("DROP TABLE sharding_texts; PRAGMA user_version = 1");
  }
  Catalog catalog(path);
  CHECK(count(catalog, "PRAGMA user_version") == Catalog::schema_version());
  CHECK(count(catalog, "SELECT count(*) FROM sharding_texts") ==
        count(catalog, "SELECT count(DISTINCT sharding_id) FROM leaf_specs"));
  SQLite::Statement q(catalog.database(),
                      "SELECT checkpoint_dir || '/' || name, sharding FROM leaf_metadata "
                      "ORDER BY checkpoint_id, item_id, ord");
  size_t i = 0;
  while (q.executeStep()) {
    REQUIRE(i < before.size());
    INFO(before[i].first);
    CHECK(q.getColumn(0).getString() == before[i].first);
    CHECK((q.getColumn(1).isNull() ? std::nullopt : std::optional(q.getColumn(1).getString())) ==
          before[i].second);
    ++i;
  }
  CHECK(i == before.size());
  CHECK(catalog.verify().empty());
  // Writing after the migration reuses the migrated rows.
  catalog.ingest(arrays_checkpoint("/r/3", 3, {mesh}), "fp");
  CHECK(view_sharding(catalog, "/r/3", "state", "layer0.w") == mesh);
  CHECK(catalog.verify().empty());
}

TEST_CASE("a mesh with a zero-size axis is kept raw and still round-trips") {
  // The view nests devices; with no devices it cannot, so the string stays raw.
  const std::string empty_mesh =
      R"({"sharding_type": "NamedSharding", "shape": [2, 0], "axis_names": ["a", "b"], )"
      R"("partition_spec": [], "device_mesh": {"mesh": [[], []]}})";
  Catalog catalog(":memory:");
  const auto c = arrays_checkpoint("/z/1", 1, {empty_mesh});
  catalog.ingest(c, "fp");
  CHECK(view_sharding(catalog, "/z/1", "state", c.items[0].leaves[0].name) == empty_mesh);
  CHECK(count(catalog, "SELECT count(*) FROM leaf_extras WHERE sharding_raw IS NOT NULL") == 1);
  check_same(c, *catalog.load_checkpoint("/z/1"));
}

TEST_CASE("load_sharding gives the typed sharding whose string is the stored one") {
  Catalog catalog(":memory:");
  const auto original = sample_checkpoint("/runs/exp/1", 1);
  catalog.ingest(original, "fp");
  SQLite::Statement q(
      catalog.database(),
      "SELECT sharding_id, sharding FROM leaf_metadata WHERE sharding_id IS NOT NULL");
  int seen = 0;
  while (q.executeStep()) {
    auto sharding = catalog.load_sharding(q.getColumn(0).getInt64());
    REQUIRE(sharding);
    CHECK(to_serialized_string(*sharding) == q.getColumn(1).getString());
    ++seen;
  }
  CHECK(seen == 4);  // named, single-device, positional (legacy) and rng
  CHECK_FALSE(catalog.load_sharding(424242));
}

TEST_CASE("re-importing an unchanged checkpoint changes nothing") {
  Catalog catalog(":memory:");
  const auto c = sample_checkpoint("/runs/exp/5", 5);
  const auto first = catalog.ingest(c, "fp-a");
  const int changes = catalog.database().getTotalChanges();
  const auto rows = count(catalog, "SELECT count(*) FROM leaves");
  const auto again = catalog.ingest(c, "fp-a");
  CHECK(again.action == IngestAction::kUnchanged);
  CHECK(again.checkpoint_id == first.checkpoint_id);
  CHECK(again.leaf_count == 0);
  CHECK(catalog.database().getTotalChanges() == changes);
  CHECK(count(catalog, "SELECT count(*) FROM leaves") == rows);
  CHECK(catalog.fingerprint("/runs/exp/5") == "fp-a");
  CHECK_FALSE(catalog.fingerprint("/runs/exp/6"));
}

TEST_CASE("a changed checkpoint is replaced whole") {
  Catalog catalog(":memory:");
  auto c = sample_checkpoint("/runs/exp/5", 5);
  catalog.ingest(c, "fp-a");
  c.items.pop_back();  // the pytree item is gone
  c.step_metadata.metrics = R"({"loss": 0.25})";
  const auto result = catalog.ingest(c, "fp-b");
  CHECK(result.action == IngestAction::kReplaced);
  check_same(c, *catalog.load_checkpoint("/runs/exp/5"));
  CHECK(count(catalog, "SELECT count(*) FROM checkpoints") == 1);
  CHECK(count(catalog, "SELECT count(*) FROM leaves") == 0);
  CHECK(catalog.fingerprint("/runs/exp/5") == "fp-b");
  CHECK(catalog.verify().empty());
}

TEST_CASE("a failure in the middle of an ingest leaves the previous content") {
  TempDir dir;
  Catalog catalog((dir.path() / "c.db").string());
  const auto old_version = sample_checkpoint("/runs/exp/7", 7);
  catalog.ingest(old_version, "fp-old");

  auto new_version = sample_checkpoint("/runs/exp/7", 7);
  new_version.step_metadata.metrics = R"({"loss": 0.1})";
  new_version.items[2].leaves.push_back(
      testing::array_leaf("brand.new", new_version.items[2].directory,
                          R"({"sharding_type": "SingleDeviceSharding", "device_str": "cuda:3"})"));
  // Fail on the 10th leaf, after the checkpoint, items and new dedup rows were written.
  catalog.database().exec(
      "CREATE TEMP TRIGGER inject_failure BEFORE INSERT ON leaves WHEN NEW.ord = 9 "
      "BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
  CHECK_THROWS_AS(catalog.ingest(new_version, "fp-new"), Error);
  CHECK(catalog.fingerprint("/runs/exp/7") == "fp-old");
  check_same(old_version, *catalog.load_checkpoint("/runs/exp/7"));
  CHECK(count(catalog, "SELECT count(*) FROM shardings WHERE device_str = 'cuda:3'") == 0);

  // The catalog stays usable: the next ingest (whose dedup rows were rolled back) works.
  catalog.database().exec("DROP TRIGGER inject_failure");
  CHECK(catalog.ingest(new_version, "fp-new").action == IngestAction::kReplaced);
  check_same(new_version, *catalog.load_checkpoint("/runs/exp/7"));
  CHECK(catalog.verify().empty());
}

TEST_CASE("a forced ingest replaces an unchanged checkpoint in one transaction") {
  TempDir dir;
  Catalog catalog((dir.path() / "c.db").string());
  const auto old_version = sample_checkpoint("/runs/exp/8", 8);
  catalog.ingest(old_version, "fp");
  auto new_version = sample_checkpoint("/runs/exp/8", 8);
  new_version.step_metadata.metrics = R"({"loss": 0.1})";
  IngestOptions force;
  force.force = true;

  // The write fails after the old rows were deleted: the whole replace rolls back.
  catalog.database().exec(
      "CREATE TEMP TRIGGER inject_failure BEFORE INSERT ON leaves WHEN NEW.ord = 3 "
      "BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
  CHECK_THROWS_AS(catalog.ingest(new_version, "fp", force), Error);
  CHECK(catalog.fingerprint("/runs/exp/8") == "fp");
  check_same(old_version, *catalog.load_checkpoint("/runs/exp/8"));
  catalog.database().exec("DROP TRIGGER inject_failure");

  CHECK(catalog.ingest(new_version, "fp").action == IngestAction::kUnchanged);
  const auto forced = catalog.ingest(new_version, "fp", force);
  CHECK(forced.action == IngestAction::kReplaced);
  CHECK(forced.leaf_count == new_version.items[2].leaves.size());
  check_same(new_version, *catalog.load_checkpoint("/runs/exp/8"));
  CHECK(count(catalog, "SELECT count(*) FROM checkpoints") == 1);
  // Forcing a directory the catalog lacks is a plain insert.
  CHECK(catalog.ingest(sample_checkpoint("/runs/exp/9", 9), "fp", force).action ==
        IngestAction::kInserted);
  CHECK(catalog.verify().empty());
}

TEST_CASE("prune removes checkpoints whose folder is gone, or a given list") {
  TempDir dir;
  Catalog catalog(":memory:");
  const std::string root = dir.path().string();
  for (int step : {1, 2, 3}) {
    const auto step_dir = dir.path() / std::to_string(step);
    std::filesystem::create_directory(step_dir);
    catalog.ingest(sample_checkpoint(step_dir.string(), step, root), "fp");
  }
  catalog.ingest(sample_checkpoint("/elsewhere/gone", 9, "/elsewhere"), "fp");
  std::filesystem::remove(dir.path() / "2");

  CHECK(catalog.prune_missing(root) == std::vector<std::string>{(dir.path() / "2").string()});
  CHECK(catalog.list_checkpoints().size() == 3);
  CHECK(catalog.prune_missing() == std::vector<std::string>{"/elsewhere/gone"});
  CHECK(catalog.remove({(dir.path() / "1").string(), "/never/imported"}) == 1);
  const auto left = catalog.list_checkpoints();
  REQUIRE(left.size() == 1);
  CHECK(left[0].step == 3);
  CHECK(catalog.verify().empty());
}

TEST_CASE("prune_missing(folder) covers the folder and everything below it, by component") {
  TempDir dir;
  Catalog catalog(":memory:");
  const std::string base = dir.path().string();
  // None of these folders exists: each is missing.
  for (const std::string rel : {"/runs/a/1", "/runs/a/nested/exp/2", "/runs/ab/3", "/runs/a%/4",
                                "/runs/b/5"})
    catalog.ingest(sample_checkpoint(base + rel, 1, base + rel.substr(0, rel.rfind('/'))), "fp");
  std::filesystem::create_directories(dir.path() / "runs" / "a");
  const auto live = (dir.path() / "runs" / "a" / "6").string();
  std::filesystem::create_directory(live);
  catalog.ingest(sample_checkpoint(live, 6, (dir.path() / "runs" / "a").string()), "fp");

  using V = std::vector<std::string>;
  CHECK(catalog.prune_missing(base + "/runs/a/") ==
        V{base + "/runs/a/1", base + "/runs/a/nested/exp/2"});
  CHECK(catalog.prune_missing(base + "/runs/a").empty());
  CHECK(catalog.prune_missing(base + "/runs/b/5") == V{base + "/runs/b/5"});
  CHECK(catalog.prune_missing(base + "/runs/a_").empty());  // no wildcard matching
  CHECK(catalog.prune_missing(base + "/runs") == V{base + "/runs/a%/4", base + "/runs/ab/3"});
  const auto left = catalog.list_checkpoints();
  REQUIRE(left.size() == 1);
  CHECK(left[0].directory == live);
}

TEST_CASE("a version 1 catalog gains the shard views (migration 2) when opened for writing") {
  TempDir dir;
  const std::string path = (dir.path() / "catalog.db").string();
  {
    Catalog catalog(path);
    catalog.ingest(sample_checkpoint("/r/1", 1), "fp");
    for (const char* view : {"leaf_shards", "sharding_devices", "sharding_splits", "shape_elements", "dtype_sizes"})
      catalog.database().exec(std::string("DROP VIEW ") + view);
    // As version 1 wrote it: no shard views, and no table of the later migration 3.
    catalog.database().exec("DROP TABLE sharding_texts; PRAGMA user_version = 1");
  }
  Catalog catalog(path);
  CHECK(count(catalog, "PRAGMA user_version") == Catalog::schema_version());
  CHECK(count(catalog, "SELECT count(*) FROM sqlite_schema WHERE type = 'view'") == 10);
  CHECK(count(catalog, "SELECT count(*) FROM leaf_shards") > 0);
  CHECK(catalog.list_checkpoints().size() == 1);
}

TEST_CASE("opening an empty file creates the schema; a newer schema is refused") {
  TempDir dir;
  const std::string path = (dir.path() / "catalog.db").string();
  { std::ofstream(path).flush(); }  // an empty file
  {
    Catalog catalog(path);
    CHECK(count(catalog, "PRAGMA user_version") == Catalog::schema_version());
    CHECK(count(catalog, "PRAGMA application_id") == Catalog::application_id());
    CHECK(count(catalog, "PRAGMA foreign_keys") == 1);
    CHECK(catalog.database().execAndGet("PRAGMA journal_mode").getString() == "wal");
    // leaf_metadata, checkpoint_summary, mesh_usage, sharding_strings, import_errors, and the
    // shard views: dtype_sizes, shape_elements, sharding_splits, sharding_devices, leaf_shards.
    CHECK(count(catalog, "SELECT count(*) FROM sqlite_schema WHERE type = 'view'") == 10);
    catalog.ingest(sample_checkpoint("/r/1", 1), "fp");
  }
  {  // reopening keeps the content
    CatalogOptions options;
    options.read_only = true;
    Catalog catalog(path, options);
    CHECK(catalog.list_checkpoints().size() == 1);
  }
  {
    SQLite::Database db(path, SQLite::OPEN_READWRITE);
    db.exec("PRAGMA user_version = " + std::to_string(Catalog::schema_version() + 1));
  }
  try {
    Catalog catalog(path);
    FAIL("a newer catalog was opened");
  } catch (const Error& e) {
    const std::string message = e.what();
    CHECK(e.code() == Error::Code::kCatalog);
    CHECK(message.find("version " + std::to_string(Catalog::schema_version() + 1)) !=
          std::string::npos);
    CHECK(message.find("schema version " + std::to_string(Catalog::schema_version()) + ")") !=
          std::string::npos);
  }
}

TEST_CASE("a database that is not a catalog is refused") {
  TempDir dir;
  const std::string path = (dir.path() / "other.db").string();
  {
    SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec("CREATE TABLE t(x)");
  }
  CHECK_THROWS_WITH_AS(Catalog{path}, doctest::Contains("not a ckptcat catalog"), Error);
  CatalogOptions read_only;
  read_only.read_only = true;
  CHECK_THROWS_AS(Catalog((dir.path() / "missing.db").string(), read_only), Error);
}

TEST_CASE("foreign keys and integrity hold after imports, replaces and removals") {
  Catalog catalog(":memory:");
  for (int step = 0; step < 5; ++step)
    catalog.ingest(sample_checkpoint("/r/" + std::to_string(step), step), "a");
  catalog.ingest(sample_checkpoint("/r/2", 2), "b");
  catalog.remove({"/r/3"});
  CHECK(count(catalog, "SELECT count(*) FROM pragma_foreign_key_check") == 0);
  CHECK(catalog.database().execAndGet("PRAGMA integrity_check").getString() == "ok");
  CHECK(catalog.verify().empty());
  CHECK(count(catalog,
              "SELECT count(*) FROM leaf_extras x WHERE NOT EXISTS "
              "(SELECT 1 FROM leaves l WHERE l.item_id = x.item_id AND l.ord = x.ord)") == 0);
}

TEST_CASE("verify reports leaves whose references dangle") {
  Catalog catalog(":memory:");
  catalog.ingest(sample_checkpoint("/v/1", 1), "fp");
  REQUIRE(catalog.verify().empty());
  catalog.database().exec("UPDATE leaves SET spec_id = 999999 WHERE ord = 0");
  const auto problems = catalog.verify();
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].find("spec_id has no row in leaf_specs") != std::string::npos);
}

TEST_CASE("100 checkpoints sharing a 4,096-device mesh store it once") {
  Catalog catalog(":memory:");
  const std::string mesh = named_sharding_string({256, 16}, {"data", "model"}, 5);
  NamedShardingMetadata other_spec =
      std::get<NamedShardingMetadata>(sharding_from_serialized_string(mesh));
  other_spec.partition_spec = {std::vector<std::string>{"data", "model"}, std::monostate{}};
  const std::vector<std::string> shardings = {mesh, other_spec.to_serialized_string()};
  std::vector<std::string> per_leaf;
  for (int i = 0; i < 100; ++i) per_leaf.push_back(shardings[i % 2]);
  for (int step = 0; step < 100; ++step)
    catalog.ingest(arrays_checkpoint("/big/" + std::to_string(step), step, per_leaf), "fp");
  const auto stats = catalog.stats();
  CHECK(stats.leaves == 10000);
  CHECK(stats.meshes == 1);
  CHECK(stats.mesh_devices == 4096);
  CHECK(stats.shardings == 2);
  CHECK(stats.key_paths == 100);
  CHECK(stats.leaf_specs == 2);
  CHECK(count(catalog, "SELECT count(*) FROM mesh_axes") == 2);
  SQLite::Statement usage(
      catalog.database(),
      "SELECT shape, axis_names, device_count, arrays, checkpoints FROM mesh_usage");
  REQUIRE(usage.executeStep());
  CHECK(usage.getColumn(0).getString() == "[256, 16]");
  CHECK(usage.getColumn(1).getString() == R"(["data", "model"])");
  CHECK(usage.getColumn(2).getInt64() == 4096);
  CHECK(usage.getColumn(3).getInt64() == 10000);
  CHECK(usage.getColumn(4).getInt64() == 100);
  CHECK_FALSE(usage.executeStep());
  CHECK(view_sharding(catalog, "/big/42", "state", "layer1.w") == shardings[1]);

  // A fresh connection (cold caches) dedups against the stored rows.
  TempDir dir;
  const std::string path = (dir.path() / "c.db").string();
  {
    Catalog first(path);
    first.ingest(arrays_checkpoint("/big/a", 1, per_leaf), "fp");
  }
  Catalog second(path);
  second.ingest(arrays_checkpoint("/big/b", 2, per_leaf), "fp");
  CHECK(second.stats().meshes == 1);
  CHECK(second.stats().key_paths == 100);
}

TEST_CASE("list_checkpoints filters by root, step, time and finished") {
  Catalog catalog(":memory:");
  for (int step = 1; step <= 4; ++step) {
    auto c = sample_checkpoint("/a/" + std::to_string(step), step, "/a");
    if (step == 4) {
      c.finished = false;
      c.unfinished_reason = "tmp name";
      c.step_metadata.commit_timestamp_nsecs.reset();
    }
    catalog.ingest(c, "fp");
  }
  catalog.ingest(sample_checkpoint("/b/best", 10, "/b"), "fp");

  CHECK(catalog.list_checkpoints().size() == 5);
  CHECK(catalog.list_checkpoints(filter<CheckpointFilter>([](auto& f) { f.root = "/b"; })).size() ==
        1);
  auto range = catalog.list_checkpoints(filter<CheckpointFilter>([](auto& f) {
    f.root = "/a";
    f.min_step = 2;
    f.max_step = 3;
  }));
  REQUIRE(range.size() == 2);
  CHECK(range[0].step == 2);
  CHECK(range[1].step == 3);
  CHECK(range[0].item_count == 3);
  CHECK(range[0].leaf_count == sample_checkpoint("/x", 1).items[2].leaves.size());
  CHECK(range[0].stored_bytes > 0);
  CHECK(range[0].error_count ==
        6);  // 1 + 1 item problems, 1 item error, 1 checkpoint problem, 2 leaf errors
  CHECK(range[0].time_nsecs == 1700000000500000002);
  const auto unfinished =
      catalog.list_checkpoints(filter<CheckpointFilter>([](auto& f) { f.finished = false; }));
  REQUIRE(unfinished.size() == 1);
  CHECK(unfinished[0].time_nsecs == unfinished[0].mtime_nsecs);  // no commit timestamp
  CHECK(catalog
            .list_checkpoints(filter<CheckpointFilter>([](auto& f) {
              f.min_time_nsecs = 1700000000500000003;
              f.max_time_nsecs = 1700000000500000010;
            }))
            .size() == 2);  // steps 3 and 10
}

TEST_CASE("import errors are recorded with file and message") {
  Catalog catalog(":memory:");
  catalog.ingest(sample_checkpoint("/e/1", 1), "fp");
  catalog.ingest(sample_checkpoint("/e/2", 2), "fp");
  const auto errors = catalog.import_errors("/e/1");
  CHECK(errors.size() == 6);
  CHECK(catalog.import_errors().size() == 12);
  auto has = [&](const std::string& scope, const std::string& leaf, const std::string& text) {
    for (const auto& e : errors)
      if (e.scope == scope && e.leaf_name == leaf && e.message.find(text) != std::string::npos)
        return true;
    return false;
  };
  CHECK(has("checkpoint", "", "unknown key"));
  CHECK(has("item", "", "_METADATA: not JSON"));
  CHECK(has("item", "", "not JSON"));
  CHECK(has("leaf", "params.damaged", "not found"));
  CHECK(has("leaf", "params.broken", "bad sharding"));
  for (const auto& e : errors)
    if (e.scope == "leaf") CHECK(e.file == "/e/1/state");
}

TEST_CASE("find_leaves applies each filter") {
  Catalog catalog(":memory:");
  catalog.ingest(sample_checkpoint("/q/1", 1, "/q"), "fp");
  catalog.ingest(sample_checkpoint("/q/2", 2, "/q"), "fp");
  catalog.ingest(sample_checkpoint("/z/3", 3, "/z"), "fp");
  auto names = [&](void (*set)(LeafFilter&)) {
    std::vector<std::string> out;
    for (const auto& r : catalog.find_leaves(filter<LeafFilter>(set))) out.push_back(r.leaf.name);
    return out;
  };
  using V = std::vector<std::string>;
  CHECK(names([](LeafFilter& f) {
          f.checkpoint_directory = "/q/1";
          f.name_glob = "params.dense.*";
        }) == V{"params.dense.kernel", "params.dense.bias"});
  CHECK(names([](LeafFilter& f) {
          f.root = "/q";
          f.name_glob = "rng";
        }).size() == 2);
  CHECK(names([](LeafFilter& f) {
          f.checkpoint_directory = "/q/1";
          f.item = "extra";
        }).empty());
  CHECK(names([](LeafFilter& f) {
          f.checkpoint_directory = "/q/1";
          f.dtype = "uint32";
        }) == V{"rng"});
  CHECK(names([](LeafFilter& f) {
          f.checkpoint_directory = "/q/1";
          f.dtype = "int64";
        }) == V{"opt_state.0.mu.w"});
  CHECK(names([](LeafFilter& f) {
          f.checkpoint_directory = "/q/1";
          f.rank = 0;
        }) == V{"np_array"});
  CHECK(names([](LeafFilter& f) {
          f.checkpoint_directory = "/q/1";
          f.rank = 1;
        }) == V{"rng"});
  CHECK(names([](LeafFilter& f) {
          f.checkpoint_directory = "/q/1";
          f.shape = Shape{4};
        }) == V{"rng"});
  CHECK(names([](LeafFilter& f) {
          f.checkpoint_directory = "/q/1";
          f.mesh_axis = "model";
        }) == V{"params.dense.kernel"});
  CHECK(names([](LeafFilter& f) {
          f.checkpoint_directory = "/q/1";
          f.sharding_kind = ShardingKind::kSingleDevice;
        }) == V{"params.dense.bias", "params.odd", "rng"});
  CHECK(names([](LeafFilter& f) {
          f.checkpoint_directory = "/q/1";
          f.sharding_kind = ShardingKind::kPositional;
        }) == V{"params.legacy"});
  CHECK(names([](LeafFilter& f) {
          f.checkpoint_directory = "/q/1";
          f.min_stored_bytes = 100;
        }).size() == 6);
  CHECK(names([](LeafFilter& f) {
          f.checkpoint_directory = "/q/1";
          f.max_stored_bytes = 8;
        }) == V{"np_array", "opt_state.0.mu.w"});
  CHECK(names([](LeafFilter& f) {
          f.checkpoint_directory = "/q/1";
          f.min_stored_bytes = 3;
          f.max_stored_bytes = 8;
        }) == V{"opt_state.0.mu.w"});
  CHECK(names([](LeafFilter& f) {
          f.checkpoint_directory = "/q/1";
          f.value_type = "np.ndarray";
        }) == V{"np_array", "legacy.value"});
  CHECK(names([](LeafFilter& f) {
          f.checkpoint_directory = "/q/1";
          f.kind = LeafKind::kString;
        }) == V{"tag"});
  CHECK(names([](LeafFilter& f) { f.kind = LeafKind::kEmpty; }).size() == 15);
  CHECK(names([](LeafFilter& f) {
          f.kind = LeafKind::kEmpty;
          f.limit = 4;
        }).size() == 4);

  const auto hits =
      catalog.find_leaves(filter<LeafFilter>([](auto& f) { f.name_glob = "params.dense.kernel"; }));
  REQUIRE(hits.size() == 3);
  CHECK(hits[0].checkpoint_directory == "/q/1");
  CHECK(hits[0].step == 1);
  CHECK(hits[0].item_name == "state");
  CHECK(hits[0].item_directory == "/q/1/state");
  check_same(sample_checkpoint("/q/1", 1).items[2].leaves[0], hits[0].leaf);
}

TEST_CASE("checkpoints and their leaves are ordered by root, then step as a number") {
  Catalog catalog(":memory:");
  // Inserted out of order; "1000" sorts before "900" as text.
  auto best = sample_checkpoint("/r/a/best", 0, "/r/a");
  best.step.reset();
  catalog.ingest(best, "fp");
  catalog.ingest(sample_checkpoint("/r/b/5", 5, "/r/b"), "fp");
  catalog.ingest(sample_checkpoint("/r/a/1000", 1000, "/r/a"), "fp");
  catalog.ingest(sample_checkpoint("/r/a/900", 900, "/r/a"), "fp");
  const std::vector<std::string> expected{"/r/a/900", "/r/a/1000", "/r/a/best", "/r/b/5"};

  std::vector<std::string> listed;
  for (const auto& c : catalog.list_checkpoints()) listed.push_back(c.directory);
  CHECK(listed == expected);

  std::vector<std::string> found;
  for (const auto& r : catalog.find_leaves(filter<LeafFilter>([](auto& f) {
         f.name_glob = "params.dense.*";
       }))) {
    if (found.empty() || found.back() != r.checkpoint_directory)
      found.push_back(r.checkpoint_directory);
    else
      CHECK(r.leaf.name == "params.dense.bias");  // leaves in _METADATA order within one
  }
  CHECK(found == expected);
  const auto first = catalog.find_leaves(filter<LeafFilter>([](auto& f) {
    f.name_glob = "params.dense.*";
    f.limit = 1;
  }));
  REQUIRE(first.size() == 1);
  CHECK(first[0].step == 900);
}

TEST_CASE("checkpoint_summary view") {
  Catalog catalog(":memory:");
  catalog.ingest(sample_checkpoint("/s/1", 1, "/s"), "fp");
  SQLite::Statement q(catalog.database(),
                      "SELECT checkpoint_dir, root, step, finished, item_count, leaf_count, "
                      "stored_bytes, commit_timestamp_nsecs, error_count FROM checkpoint_summary");
  REQUIRE(q.executeStep());
  CHECK(q.getColumn(0).getString() == "/s/1");
  CHECK(q.getColumn(1).getString() == "/s");
  CHECK(q.getColumn(2).getInt64() == 1);
  CHECK(q.getColumn(3).getInt64() == 1);
  CHECK(q.getColumn(4).getInt64() == 3);
  CHECK(q.getColumn(5).getInt64() == int64_t(sample_checkpoint("/s/1", 1).items[2].leaves.size()));
  CHECK(q.getColumn(6).getInt64() == 6 * 512 + 2 + 8);
  CHECK(q.getColumn(7).getInt64() == 1700000000500000001);
  CHECK(q.getColumn(8).getInt64() == 6);
}

TEST_CASE("a second writer waits for the first instead of failing") {
  TempDir dir;
  const std::string path = (dir.path() / "c.db").string();
  Catalog first(path);
  CatalogOptions patient;
  patient.busy_timeout_ms = 20000;
  Catalog second(path, patient);
  first.database().exec("BEGIN IMMEDIATE");
  std::thread release([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    first.database().exec("COMMIT");
  });
  CHECK(second.ingest(sample_checkpoint("/w/1", 1), "fp").action == IngestAction::kInserted);
  release.join();
  CHECK(first.list_checkpoints().size() == 1);
}


TEST_CASE("after a damaged-content error the same Catalog keeps working") {
  // Each damage makes a load fail half way through its statements; the next
  // calls on the same Catalog must give the same clear error, or work where
  // the damage does not reach, never "bad parameter or other API misuse".
  const std::pair<const char*, const char*> damages[] = {
      {"unknown item kind",
       "UPDATE items SET kind = 'bogus' WHERE checkpoint_id = "
       "(SELECT id FROM checkpoints WHERE directory = '/runs/exp/200')"},
      {"dtype", "DELETE FROM dtypes"},
      {"unknown leaf kind", "UPDATE leaf_specs SET kind = 'bogus'"},
  };
  for (const auto& [what, sql] : damages) {
    const auto& what_value = what;  // clang 14: a structured binding cannot be captured
    CAPTURE(what_value);
    TempDir tmp;
    const std::string path = (tmp.path() / "c.db").string();
    const auto a = sample_checkpoint("/runs/exp/100", 100);
    const auto b = sample_checkpoint("/runs/exp/200", 200);
    Catalog catalog(path);
    catalog.ingest(a, "fp-a");
    catalog.ingest(b, "fp-b");
    {
      SQLite::Database raw(path, SQLite::OPEN_READWRITE);
      raw.exec("PRAGMA foreign_keys = OFF; PRAGMA ignore_check_constraints = ON;");
      raw.exec(sql);
    }
    std::string first_error;
    try {
      catalog.load_checkpoint("/runs/exp/200");
    } catch (const Error& e) {
      first_error = e.what();
    }
    CHECK_MESSAGE(first_error.find("damaged") != std::string::npos, first_error);
    CHECK_MESSAGE(first_error.find(what) != std::string::npos, first_error);
    CHECK_MESSAGE(first_error.rfind(path + ": ", 0) == 0, first_error);  // names the catalog
    for (int again = 0; again < 2; ++again) {
      std::string error;
      try {
        catalog.load_checkpoint("/runs/exp/200");
      } catch (const Error& e) {
        error = e.what();
      }
      CHECK(error == first_error);
    }
    CHECK(catalog.list_checkpoints({}).size() == 2);
    if (std::string(what) == "unknown item kind") {
      const auto loaded = catalog.load_checkpoint("/runs/exp/100");  // untouched by the damage
      REQUIRE(loaded);
      check_same(a, *loaded);
    }
  }
}

}  // namespace
}  // namespace ckptcat
