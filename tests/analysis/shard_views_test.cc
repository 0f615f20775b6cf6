// The catalog's shard views (leaf_shards, sharding_devices) against the C++
// ShardAnalysis, leaf by leaf and device by device, on generated checkpoint
// trees (every run style of ckptcat-gen, a 4,096-device pod mesh included)
// and a hand-made checkpoint with uneven, invalid, positional, int4 and
// id-less shardings, all written, imported and read back through the catalog.
#include <doctest/doctest.h>

#include <SQLiteCpp/SQLiteCpp.h>

#include <map>
#include <tuple>

#include "ckptcat/catalog.h"
#include "ckptcat/importer.h"
#include "ckptcat/shards.h"
#include "generator.h"
#include "orbax_writer.h"
#include "shared_data.h"

using namespace ckptcat;
using namespace ckptcat::testing;
namespace fs = std::filesystem;

namespace {

std::string json_list(const Shape& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

// Every figure of one leaf, as text, so a mismatch prints both sides.
std::string figures(const LeafShards& s) {
  const bool placed = s.status == ShardStatus::kEven || s.status == ShardStatus::kUneven;
  if (!placed)
    return std::string(to_string(s.status)) + " logical=" + std::to_string(s.logical_bytes);
  return std::string(to_string(s.status)) + " " + json_list(s.shard_shape) +
         " logical=" + std::to_string(s.logical_bytes) + " shard=" + std::to_string(s.shard_bytes) +
         " distinct=" + std::to_string(s.distinct_shards) +
         " replication=" + std::to_string(s.replication) + " devices=" + std::to_string(s.device_count);
}

std::string sql_figures(SQLite::Statement& q) {
  const std::string status = q.getColumn("status").getString();
  const std::string logical = " logical=" + std::to_string(q.getColumn("logical_bytes").getInt64());
  if (status != "even" && status != "uneven") {
    CHECK(q.getColumn("shard_bytes").isNull());
    return status + logical;
  }
  return status + " " + q.getColumn("shard_shape").getString() + logical +
         " shard=" + std::to_string(q.getColumn("shard_bytes").getInt64()) +
         " distinct=" + std::to_string(q.getColumn("distinct_shards").getInt64()) +
         " replication=" + std::to_string(q.getColumn("replication").getInt64()) +
         " devices=" + std::to_string(q.getColumn("device_count").getInt64());
}

// Compares every checkpoint of the catalog; returns how many leaves it compared.
uint64_t compare_all(Catalog& catalog) {
  uint64_t compared = 0;
  SQLite::Statement rows(catalog.database(),
                         "SELECT item, ord, status, shard_shape, logical_bytes, shard_bytes, "
                         "distinct_shards, replication, device_count "
                         "FROM leaf_shards WHERE checkpoint_dir = ?1");
  SQLite::Statement devices(catalog.database(), R"(
      SELECT d.device_id, sum(t.bytes) AS bytes
      FROM (SELECT sharding_id, sum(shard_bytes) AS bytes FROM leaf_shards
            WHERE checkpoint_dir = ?1 GROUP BY sharding_id) t
      JOIN sharding_devices d USING (sharding_id)
      GROUP BY d.device_id ORDER BY d.device_id)");
  for (const auto& summary : catalog.list_checkpoints()) {
    CAPTURE(summary.directory);
    const auto checkpoint = catalog.load_checkpoint(summary.directory);
    REQUIRE(checkpoint);
    std::map<std::pair<std::string, int64_t>, std::string> from_sql;
    rows.bind(1, summary.directory);
    while (rows.executeStep())
      from_sql[{rows.getColumn(0).getString(), rows.getColumn(1).getInt64()}] = sql_figures(rows);
    rows.reset();

    ShardAnalysis analysis;
    size_t expected_rows = 0;
    for (const auto& item : checkpoint->items)
      for (size_t ord = 0; ord < item.leaves.size(); ++ord) {
        CAPTURE(item.leaves[ord].name);
        const LeafShards* s = analysis.add(item.leaves[ord]);
        const auto it = from_sql.find({item.name, static_cast<int64_t>(ord)});
        if (!s) {
          CHECK(it == from_sql.end());
          continue;
        }
        ++expected_rows;
        ++compared;
        REQUIRE(it != from_sql.end());
        CHECK(it->second == figures(*s));
      }
    CHECK(from_sql.size() == expected_rows);

    std::vector<DeviceBytes> sql_devices;
    devices.bind(1, summary.directory);
    while (devices.executeStep())
      sql_devices.push_back({devices.getColumn(0).getInt64(), static_cast<uint64_t>(devices.getColumn(1).getInt64())});
    devices.reset();
    CHECK(sql_devices == analysis.totals().devices);
  }
  return compared;
}

NamedShardingMetadata without_ids(NamedShardingMetadata s) {
  s.device_mesh.reset();
  return s;
}

}  // namespace

TEST_CASE("leaf_shards and sharding_devices agree with ShardAnalysis on generated trees") {
  TempDir tmp;
  gen::Options o = gen::preset_options(gen::Preset::kSmall);
  o.steps = 1;
  o.leaves = 40;
  o.jobs = 2;
  gen::write_tree(gen::plan_tree(o), tmp.path() / "tree");
  Catalog catalog(":memory:");
  const auto s = Importer(catalog, {}).run({tmp.path() / "tree"});
  REQUIRE(s.failed == 0);
  const uint64_t compared = compare_all(catalog);
  MESSAGE("compared " << compared << " leaves of " << s.imported() << " checkpoints");
  CHECK(compared > 100);
  // The pod run's 4,096-device mesh is among them.
  SQLite::Statement pod(catalog.database(),
                        "SELECT count(*) FROM leaf_shards WHERE device_count = 4096");
  REQUIRE(pod.executeStep());
  CHECK(pod.getColumn(0).getInt64() > 0);
}

TEST_CASE("the views agree on every spec form, uneven, invalid, positional, int4 and id-less meshes") {
  TempDir tmp;
  const auto mesh = [](std::vector<PartitionSpecEntry> spec) {
    return named_sharding({2, 4}, {"data", "model"}, std::move(spec));
  };
  using Axes = std::vector<std::string>;
  CheckpointSpec step;
  ItemSpec& params = step.items.emplace_back(ItemSpec::pytree("params"));
  auto add = [&](std::string name, std::string dtype, Shape shape, std::optional<ShardingMetadata> s) {
    auto leaf = LeafSpec::array({name}, std::move(dtype), std::move(shape));
    if (s) leaf.with_sharding(*s);
    params.leaves.push_back(std::move(leaf));
  };
  add("none", "float32", {8, 16}, mesh({std::monostate{}}));
  add("one", "float32", {8, 16}, mesh({"data"}));
  add("both", "float32", {8, 16}, mesh({"model", "data"}));
  add("multi", "float32", {16, 3}, mesh({Axes{"data", "model"}, std::monostate{}}));
  add("list1", "bfloat16", {8, 16}, mesh({Axes{"data"}, Axes{}}));
  add("scalar", "int32", {}, mesh({}));
  add("replicated", "bfloat16", {3, 5}, mesh({}));
  add("uneven", "float32", {10, 3}, mesh({"model", "data"}));
  add("unknown_axis", "float32", {8}, mesh({"expert"}));
  add("twice", "float32", {8, 8}, mesh({"data", Axes{"data"}}));
  add("too_long", "float32", {8}, mesh({"data", "model"}));
  add("int4", "int4", {8, 3}, mesh({"model"}));
  add("uint8", "uint8", {7}, mesh({}));
  add("old_mesh", "float32", {4, 4}, without_ids(mesh({"data"})));
  add("positional", "float32", {8, 4}, PositionalShardingMetadata{{2, 1}, std::nullopt});
  add("positional_rank", "float32", {8}, PositionalShardingMetadata{{2, 1}, std::nullopt});
  add("tpu", "float64", {5, 7}, SingleDeviceShardingMetadata{"TPU_3(process=0,(1,0,0,0))"});
  add("cpu", "float32", {2}, SingleDeviceShardingMetadata{"cpu:0"});
  add("nameless_device", "float32", {2}, SingleDeviceShardingMetadata{"weird"});
  params.leaves.push_back(LeafSpec::scalar({"step"}, "int64"));
  write_checkpoint(tmp.path() / "run" / "1", step);

  Catalog catalog(":memory:");
  const auto s = Importer(catalog, {}).run({tmp.path() / "run"});
  REQUIRE(s.failed == 0);
  CHECK(compare_all(catalog) == 19);

  // A few figures by hand, straight from the view.
  SQLite::Statement q(catalog.database(),
                      "SELECT name, status, shard_shape, shard_bytes, replication, problem "
                      "FROM leaf_shards ORDER BY ord");
  std::map<std::string, std::tuple<std::string, std::string, int64_t, int64_t, std::string>> by_name;
  while (q.executeStep())
    by_name[q.getColumn(0).getString()] = {
        q.getColumn(1).getString(), q.getColumn(2).getString(),
        q.getColumn(3).isNull() ? -1 : q.getColumn(3).getInt64(),
        q.getColumn(4).isNull() ? -1 : q.getColumn(4).getInt64(), q.getColumn(5).getString()};
  CHECK(by_name["multi"] == std::make_tuple("even", "[2, 3]", 24, 1, ""));
  CHECK(by_name["scalar"] == std::make_tuple("even", "[]", 4, 8, ""));
  CHECK(by_name["uneven"] ==
        std::make_tuple("uneven", "[3, 2]", 24, 1, "not divisible: dimension 0: 10 into 4, dimension 1: 3 into 2"));
  CHECK(std::get<0>(by_name["unknown_axis"]) == "invalid");
  CHECK(std::get<0>(by_name["twice"]) == "invalid");
  CHECK(std::get<0>(by_name["too_long"]) == "invalid");
  CHECK(by_name["int4"] == std::make_tuple("even", "[2, 3]", 3, 2, ""));
  CHECK(by_name["positional"] == std::make_tuple("even", "[4, 4]", 64, 1, ""));
  CHECK(std::get<0>(by_name["positional_rank"]) == "invalid");
  CHECK(by_name.count("step") == 0);  // scalars are not arrays

  SQLite::Statement ids(catalog.database(), R"(
      SELECT d.device_id, d.id_known FROM leaf_shards s JOIN sharding_devices d USING (sharding_id)
      WHERE s.name = ?1 ORDER BY d.pos)");
  auto devices_of = [&](const std::string& name) {
    std::vector<std::pair<int64_t, int>> out;
    ids.bind(1, name);
    while (ids.executeStep()) out.emplace_back(ids.getColumn(0).getInt64(), ids.getColumn(1).getInt());
    ids.reset();
    return out;
  };
  CHECK(devices_of("tpu") == std::vector<std::pair<int64_t, int>>{{3, 1}});
  CHECK(devices_of("nameless_device") == std::vector<std::pair<int64_t, int>>{{-1, 1}});
  CHECK(devices_of("positional") == std::vector<std::pair<int64_t, int>>{{0, 0}, {1, 0}});
  CHECK(devices_of("old_mesh").size() == 8);
  CHECK(devices_of("old_mesh")[7] == std::make_pair(int64_t{7}, 0));
}
