// Shards through the built tool: `show` (PER DEVICE column, per-device line,
// --json figures) and `plan` onto smaller, larger and non-dividing meshes,
// with its exit codes, on a fixture whose figures are computed by hand; the
// same figures through the C++ API and the leaf_shards view of the catalog
// the tool wrote; `plan` on a corpus checkpoint.
#include <doctest/doctest.h>

#include <SQLiteCpp/SQLiteCpp.h>

#include <nlohmann/json.hpp>

#include "ckptcat/catalog.h"
#include "ckptcat/shards.h"
#include "orbax_writer.h"
#include "shared_case.h"
#include "shared_data.h"
#include "tool_runner.h"

using namespace ckptcat;
using namespace ckptcat::testing;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// params over a (data=2, model=4) mesh plus one single-device array:
//   w     (8, 16) float32  P('data', 'model')   shard (4, 4)   64 B on 0..7
//   emb   (16, 4) bfloat16 P(('data','model'),) shard (2, 4)   16 B on 0..7
//   b     (16,)   float32  P(None)              shard (16,)    64 B on 0..7 (x8)
//   scale ()      float32  P()                  shard ()        4 B on 0..7
//   q     (8, 6)  int4     P('model')           shard (2, 6)    6 B on 0..7
//   opt   (10,)   float32  cpu:0                whole          40 B on 0
// Device 0: 194 B, devices 1..7: 154 B; logical 772 B.
struct Fixture {
  TempDir tmp;
  std::string db;
  std::string step;
  Fixture() {
    using Axes = std::vector<std::string>;
    auto mesh = [](std::vector<PartitionSpecEntry> spec) {
      return named_sharding({2, 4}, {"data", "model"}, std::move(spec));
    };
    CheckpointSpec cp;
    ItemSpec& params = cp.items.emplace_back(ItemSpec::pytree("params"));
    params.leaves.push_back(LeafSpec::array({"w"}, "float32", {8, 16}).with_sharding(mesh({"data", "model"})));
    params.leaves.push_back(
        LeafSpec::array({"emb"}, "bfloat16", {16, 4}).with_sharding(mesh({Axes{"data", "model"}})));
    params.leaves.push_back(LeafSpec::array({"b"}, "float32", {16}).with_sharding(mesh({std::monostate{}})));
    params.leaves.push_back(LeafSpec::array({"scale"}, "float32", {}).with_sharding(mesh({})));
    params.leaves.push_back(LeafSpec::array({"q"}, "int4", {8, 6}).with_sharding(mesh({"model"})));
    ItemSpec& opt = cp.items.emplace_back(ItemSpec::pytree("opt"));
    opt.leaves.push_back(LeafSpec::array({"opt"}, "float32", {10}));  // SingleDevice cpu:0
    opt.leaves.push_back(LeafSpec::scalar({"count"}, "int64"));
    step = (tmp.path() / "run" / "100").string();
    write_checkpoint(step, cp);
    db = (tmp.path() / "c.db").string();
    const auto r = run_tool({"import", "--db", db, (tmp.path() / "run").string()});
    REQUIRE(r.exit_code == 0);
  }
};

ToolResult plan(const Fixture& f, std::vector<std::string> args) {
  args.insert(args.begin(), {"plan", "--db", f.db});
  return run_tool(args);
}

}  // namespace

TEST_CASE("show: PER DEVICE column, per-device totals, --json figures") {
  Fixture f;
  const auto r = run_tool({"show", "--db", f.db, f.step});
  CHECK(r.exit_code == 0);
  CHECK(has_line(r.out, R"(^  NAME +KIND +DTYPE +SHAPE +PER DEVICE +SHARDING$)"));
  CHECK(has_line(r.out, R"(^  w +array +float32 +\(8, 16\) +64 B +mesh)"));
  CHECK(has_line(r.out, R"(^  q +array +int4 +\(8, 6\) +6 B +mesh)"));
  CHECK(has_line(r.out, R"(^  opt +array +float32 +\(10,\) +40 B +device cpu:0$)"));
  CHECK(has_line(r.out, R"(^  count +scalar +int64 +\(\) +-\s*$)"));
  CHECK(has_line(r.out, R"(^per device +8 devices, largest 194 B \(device 0\), smallest 154 B \(device 1\), logical 772 B, replication )"));
  CHECK(has_line(r.out, R"(^  per device: 8 devices, largest 154 B \(device 0\), smallest 154 B \(device 0\), logical 732 B)"));

  const auto j = run_tool({"show", "--json", "--db", f.db, f.step});
  CHECK(j.exit_code == 0);
  const auto doc = json::parse(j.out);
  auto item = [&](const std::string& name) {
    for (const auto& i : doc["items"])
      if (i["name"] == name) return i;
    FAIL("no item " << name);
    return json();
  };
  const json params = item("params"), opt = item("opt");
  const auto& w = params["leaves"][0]["shards"];
  CHECK(w["status"] == "even");
  CHECK(w["shard_shape"] == json::array({4, 4}));
  CHECK(w["shard_bytes"] == 64);
  CHECK(w["distinct_shards"] == 8);
  CHECK(w["replication"] == 1);
  const auto& b = params["leaves"][2]["shards"];
  CHECK(b["replication"] == 8);
  CHECK(b["logical_bytes"] == 64);
  CHECK(opt["leaves"][1]["shards"].is_null());  // a scalar
  CHECK(params["shard_totals"]["logical_bytes"] == 732);
  const auto& totals = doc["shard_totals"];
  CHECK(totals["logical_bytes"] == 772);
  CHECK(totals["largest_device"] == json({{"id", 0}, {"bytes", 194}}));
  CHECK(totals["smallest_device"] == json({{"id", 1}, {"bytes", 154}}));
  CHECK(totals["held_bytes"] == 154 * 8 + 40);
  CHECK(totals["devices"].size() == 8);

  // The same figures through the C++ API and the SQL view of that catalog.
  Catalog catalog(f.db, {.read_only = true});
  const auto cp = catalog.load_checkpoint(f.step);
  REQUIRE(cp);
  ShardAnalysis analysis;
  for (const auto& item : cp->items)
    for (const auto& l : item.leaves) analysis.add(l);
  const ShardTotals t = analysis.totals();
  CHECK(t.logical_bytes == totals["logical_bytes"].get<uint64_t>());
  CHECK(t.held_bytes == totals["held_bytes"].get<uint64_t>());
  for (size_t i = 0; i < t.devices.size(); ++i) {
    CHECK(totals["devices"][i]["id"] == t.devices[i].device_id);
    CHECK(totals["devices"][i]["bytes"] == t.devices[i].bytes);
  }
  SQLite::Statement q(catalog.database(), R"(
      SELECT d.device_id, sum(t.bytes) FROM
        (SELECT sharding_id, sum(shard_bytes) AS bytes FROM leaf_shards
         WHERE checkpoint_dir = ?1 GROUP BY sharding_id) t
      JOIN sharding_devices d USING (sharding_id) GROUP BY d.device_id ORDER BY d.device_id)");
  q.bind(1, f.step);
  size_t row = 0;
  while (q.executeStep()) {
    REQUIRE(row < totals["devices"].size());
    CHECK(totals["devices"][row]["id"] == q.getColumn(0).getInt64());
    CHECK(totals["devices"][row]["bytes"] == q.getColumn(1).getInt64());
    ++row;
  }
  CHECK(row == 8);
  SQLite::Statement w_row(catalog.database(),
                          "SELECT shard_shape, shard_bytes, replication FROM leaf_shards WHERE name = 'b'");
  REQUIRE(w_row.executeStep());
  CHECK(w_row.getColumn(0).getString() == "[16]");
  CHECK(w_row.getColumn(1).getInt64() == 64);
  CHECK(w_row.getColumn(2).getInt64() == 8);
}

TEST_CASE("plan: onto the same number of devices, a larger and a smaller mesh") {
  Fixture f;
  SUBCASE("data=4, model=2: divides; fits in 200 B, not in 199 B") {
    const auto r = plan(f, {f.step, "--mesh", "data=4,model=2", "--device-memory", "200"});
    CHECK(r.exit_code == 0);
    CHECK(has_line(r.out, R"(^target mesh +data=4, model=2 \(8 devices\)$)"));
    CHECK(has_line(r.out, R"(^per device +largest 200 B \(device 0\), smallest 160 B \(device 1\)$)"));
    CHECK(has_line(r.out, R"(^device memory +200 B: fits$)"));
    CHECK(has_line(r.out, R"(^largest contributors to device 0:$)"));
    CHECK(has_line(r.out, R"(^  params/w +float32 +\(8, 16\) +\(2, 8\) +64 B$)"));
    const auto tight = plan(f, {f.step, "--mesh", "data=4,model=2", "--device-memory", "199"});
    CHECK(tight.exit_code == 1);
    CHECK(has_line(tight.out, R"(^device memory +199 B: does not fit \(1 B over\)$)"));
  }
  SUBCASE("a larger mesh: data=2, model=8 (16 devices)") {
    const auto r = plan(f, {f.step, "--mesh", "data=2,model=8", "--json"});
    CHECK(r.exit_code == 0);
    const auto j = json::parse(r.out);
    CHECK(j["device_count"] == 16);
    CHECK(j["every_device_bytes"] == 32 + 8 + 64 + 4 + 3);
    CHECK(j["largest_device"] == json({{"id", 0}, {"bytes", 151}}));
    CHECK(j["smallest_device"] == json({{"id", 1}, {"bytes", 111}}));
    CHECK(j["divides"] == true);
    CHECK(j["fits"].is_null());
    CHECK(j["logical_bytes"] == 772);
    CHECK(j["top"][0]["name"] == "b");
    CHECK(j["top"][0]["bytes_on_largest_device"] == 64);
  }
  SUBCASE("a smaller mesh without the model axis: reported, exit 1") {
    const auto r = plan(f, {f.step, "--mesh", "data=2"});
    CHECK(r.exit_code == 1);
    CHECK(has_line(r.out, R"(^missing axes +model \(3 arrays\): those dimensions are counted unsplit$)"));
    CHECK(has_line(r.out, R"(^per device +largest 452 B \(device 0\), smallest 412 B \(device 1\)$)"));
    const auto j = json::parse(plan(f, {f.step, "--mesh", "data=2", "--json"}).out);
    CHECK(j["missing_axes"] == json::array({json({{"axis", "model"}, {"arrays", 3}})}));
    CHECK(j["divides"] == false);
  }
  SUBCASE("a mesh that does not divide: the arrays are listed, exit 1") {
    const auto r = plan(f, {"--mesh", "data=3,model=4", f.step + "/params"});
    CHECK(r.exit_code == 1);
    CHECK(has_line(r.out, R"(^not divisible +2 arrays \(JAX refuses them\)$)"));
    CHECK(has_line(r.out, R"(^  w \(8, 16\) float32: not divisible: dimension 0: 8 into 3$)"));
    CHECK(has_line(r.out, R"(^  emb \(16, 4\) bfloat16: not divisible: dimension 0: 16 into 12$)"));
  }
  SUBCASE("usage errors exit 2") {
    for (const char* bad : {"data", "data=0", "data=2,data=2", "=4", "data=x"}) {
      const auto r = plan(f, {f.step, "--mesh", bad});
      CHECK(r.exit_code == 2);
      CHECK(r.err.find("--mesh") != std::string::npos);
    }
    CHECK(plan(f, {f.step}).exit_code == 2);
    CHECK(plan(f, {f.step, "--mesh", "data=2", "--device-memory", "lots"}).exit_code == 2);
  }
}

SHARED_TEST_CASE("plan on a corpus checkpoint onto smaller and larger meshes") {
  TempDir tmp;
  const fs::path step = fs::canonical(shared_dir() / "corpus" / "acsolverx-610model" / "1000");
  const std::string db = (tmp.path() / "c.db").string();
  REQUIRE(run_tool({"import", "--db", db, step.string()}).exit_code == 0);

  // Every array is on rocm:0: it stays whole on device 0 of any mesh.
  Catalog catalog(db, {.read_only = true});
  const auto cp = catalog.load_checkpoint(step.string());
  REQUIRE(cp);
  ShardAnalysis analysis;
  for (const auto& item : cp->items)
    for (const auto& l : item.leaves) analysis.add(l);
  const ShardTotals t = analysis.totals();
  REQUIRE(t.devices.size() == 1);
  CHECK(t.devices[0].device_id == 0);
  CHECK(t.devices[0].bytes == t.logical_bytes);

  for (const char* mesh : {"data=1", "data=64,model=8"}) {
    CAPTURE(mesh);
    const auto r = run_tool({"plan", "--db", db, step.string(), "--mesh", mesh, "--json"});
    CHECK(r.exit_code == 0);
    const auto j = json::parse(r.out);
    CHECK(j["largest_device"] == json({{"id", 0}, {"bytes", t.logical_bytes}}));
    CHECK(j["logical_bytes"] == t.logical_bytes);
    CHECK(j["divides"] == true);
  }
  const auto small = run_tool({"plan", "--db", db, step.string(), "--mesh", "data=4", "--device-memory", "1MiB"});
  CHECK(small.exit_code == 1);
  CHECK(has_line(small.out, R"(^device memory +1\.0 MiB: does not fit)"));
  CHECK(has_line(small.out, R"(^per device +largest .* \(device 0\), smallest 0 B \(device 1\)$)"));
}
