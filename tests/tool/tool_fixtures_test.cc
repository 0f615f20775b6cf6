// The built ckptcat binary over checkpoint trees generated at test time
// (orbax_writer.h): incremental import, --force, --prune, --jobs, two imports
// at once, diff of changed steps, verify of damaged stores; and usage errors.
#include <doctest/doctest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

#include "orbax_writer.h"
#include "shared_data.h"
#include "tool_runner.h"

using namespace ckptcat;
using namespace ckptcat::testing;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// A training step: sharded params, a scalar and a JSON item. `variant`
// changes the params the way a model change would.
CheckpointSpec make_step(int variant = 0, uint64_t chunk_value_bytes = 16) {
  CheckpointSpec step;
  ItemSpec& params = step.items.emplace_back(ItemSpec::pytree("params"));
  const Shape kernel = variant ? Shape{1024, 256} : Shape{512, 256};
  params.leaves.push_back(
      LeafSpec::array({"dense", "kernel"}, "float32", kernel)
          .with_sharding(named_sharding({2, 4}, {"data", "model"}, {"data", "model"}))
          .with_write_shape({256, 64}));
  params.leaves.push_back(LeafSpec::array({"dense", "bias"}, variant ? "float32" : "bfloat16", {256}));
  if (variant) params.leaves.push_back(LeafSpec::array({"dense", "extra"}, "float32", {3}));
  else params.leaves.push_back(LeafSpec::scalar({"step"}, "int64"));
  for (auto& leaf : params.leaves) leaf.chunk_value_bytes = chunk_value_bytes;
  step.items.push_back(ItemSpec::json("config", R"({"lr": 0.1})"));
  return step;
}

// <root>/<step_folder_name(step)> for each step.
void write_steps(const fs::path& root, const std::vector<int64_t>& steps, int variant = 0) {
  for (int64_t s : steps) write_checkpoint(root / step_folder_name(s), make_step(variant));
}

std::string slurp_catalog(const fs::path& db) {
  std::string bytes = read_file(db);
  for (const char* suffix : {"-wal", "-journal"})
    if (fs::exists(db.string() + suffix)) bytes += read_file(db.string() + suffix);
  return bytes;
}

std::string summary(const ToolResult& r) {
  const auto lines = lines_of(r.err);
  return lines.empty() ? "" : lines.back();
}

std::vector<fs::path> data_files(const fs::path& process_dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(process_dir / "d")) out.push_back(e.path());
  return out;
}

}  // namespace

TEST_CASE("re-import skips unchanged checkpoints; --force, touching one, --prune") {
  TempDir tmp;
  const fs::path root = tmp.path() / "run";
  write_steps(root, {0, 100, 200, 300});
  const std::string db = (tmp.path() / "c.db").string();

  auto first = run_tool({"import", "--db", db, root.string()});
  CHECK(first.exit_code == 0);
  CHECK(first.out.empty());
  CHECK(std::regex_match(summary(first), std::regex(R"(imported 4 checkpoints \(4 new, 0 replaced, 0 unchanged\), 12 leaves in [0-9.]+ s)")));

  const std::string before = slurp_catalog(db);
  auto again = run_tool({"import", "--db", db, root.string()});
  CHECK(again.exit_code == 0);
  CHECK(summary(again).rfind("imported 0 checkpoints (0 new, 0 replaced, 4 unchanged), 0 leaves in ", 0) == 0);
  CHECK(slurp_catalog(db) == before);  // nothing written

  auto forced = run_tool({"import", "--db", db, "--force", root.string()});
  CHECK(forced.exit_code == 0);
  CHECK(summary(forced).rfind("imported 4 checkpoints (0 new, 4 replaced, 0 unchanged), 12 leaves", 0) == 0);

  // A metadata file modified: only its checkpoint is read and replaced.
  const fs::path touched = root / step_folder_name(200) / "params" / "_METADATA";
  fs::last_write_time(touched, fs::last_write_time(touched) + std::chrono::seconds(5));
  auto one = run_tool({"import", "--db", db, root.string()});
  CHECK(summary(one).rfind("imported 1 checkpoint (0 new, 1 replaced, 3 unchanged), 3 leaves", 0) == 0);

  // A step folder deleted: kept until --prune, which removes only it.
  fs::remove_all(root / step_folder_name(300));
  auto kept = run_tool({"import", "--db", db, root.string()});
  CHECK(kept.exit_code == 0);
  CHECK(lines_of(run_tool({"ls", "--db", db}).out).size() == 5);
  auto gone = run_tool({"verify", "--db", db});
  CHECK(gone.exit_code == 1);
  CHECK(has_line(gone.out, "/" + step_folder_name(300) + ": error: folder-missing: checkpoint folder is gone$"));
  auto pruned = run_tool({"import", "--db", db, "--prune", "-v", root.string()});
  CHECK(pruned.exit_code == 0);
  CHECK(has_line(pruned.err, "^pruned .*/" + step_folder_name(300) + "$"));
  CHECK(summary(pruned).find(", pruned 1") != std::string::npos);
  const auto listed = json::parse(run_tool({"ls", "--db", db, "--json"}).out);
  REQUIRE(listed.size() == 3);
  CHECK(listed[2]["step"] == 200);
  CHECK(run_tool({"verify", "--db", db}).exit_code == 0);
}

TEST_CASE("ls and find order steps as numbers: 900 before 1000, unnumbered last") {
  TempDir tmp;
  const fs::path root = tmp.path() / "run";
  write_steps(root, {1000, 900, 50});
  write_checkpoint(root / "best", make_step());
  const std::string db = (tmp.path() / "c.db").string();
  REQUIRE(run_tool({"import", "--db", db, root.string()}).exit_code == 0);
  const std::vector<std::string> expected{step_folder_name(50), step_folder_name(900),
                                          step_folder_name(1000), "best"};

  std::vector<std::string> listed;
  for (const auto& row : json::parse(run_tool({"ls", "--db", db, "--json"}).out))
    listed.push_back(fs::path(row["directory"].get<std::string>()).filename().string());
  CHECK(listed == expected);
  const auto table = lines_of(run_tool({"ls", "--db", db}).out);
  REQUIRE(table.size() == 5);
  CHECK(table[1].rfind("  50 ", 0) == 0);
  CHECK(table[4].rfind("   - ", 0) == 0);

  std::vector<std::string> found;
  for (const auto& hit : json::parse(
           run_tool({"find", "--db", db, "--json", "--name", "dense.kernel"}).out))
    found.push_back(fs::path(hit["checkpoint"].get<std::string>()).filename().string());
  CHECK(found == expected);
  const auto first = lines_of(run_tool({"find", "--db", db, "--name", "dense.*", "--limit", "1"}).out);
  REQUIRE(first.size() == 2);
  CHECK(first[1].rfind("  50  dense.kernel ", 0) == 0);
}

TEST_CASE("progress is drawn on stderr only when it is a terminal") {
  TempDir tmp;
  write_steps(tmp.path() / "run", {1, 2, 3});
  const auto r = run_tool_stderr_tty(
      {"import", "--db", (tmp.path() / "c.db").string(), (tmp.path() / "run").string()});
  CHECK(r.exit_code == 0);
  // Redrawn in place with \r, cleared before the summary.
  CHECK(r.err.find("\r\033[K3/3 checkpoints, 9 leaves, ") != std::string::npos);
  CHECK(r.err.find(" checkpoints/s, 0 errors") != std::string::npos);
  CHECK(r.err.find("\r\033[Kimported 3 checkpoints (3 new") != std::string::npos);
  // Not a terminal (every other test): no progress, no escape sequences.
  const auto plain = run_tool({"import", "--db", (tmp.path() / "d.db").string(), (tmp.path() / "run").string()});
  CHECK(plain.err.find('\r') == std::string::npos);
  CHECK(plain.err.find("checkpoints/s") == std::string::npos);
}

TEST_CASE("--jobs 1 and --jobs 4 build identical catalogs") {
  TempDir tmp;
  std::vector<int64_t> steps;
  for (int64_t s = 0; s < 12; ++s) steps.push_back(s * 10);
  write_steps(tmp.path() / "a", steps);
  write_steps(tmp.path() / "b", {5, 6, 7}, /*variant=*/1);
  const std::string db1 = (tmp.path() / "one.db").string(), db4 = (tmp.path() / "four.db").string();
  CHECK(run_tool({"import", "--db", db1, "--jobs", "1", tmp.path().string()}).exit_code == 0);
  CHECK(run_tool({"import", "--db", db4, "--jobs", "4", tmp.path().string()}).exit_code == 0);
  const auto e1 = run_tool({"export", "--db", db1});
  const auto e4 = run_tool({"export", "--db", db4});
  CHECK(lines_of(e1.out).size() == 12 * 3 + 3 * 3);
  CHECK(e1.out == e4.out);
  CHECK(run_tool({"ls", "--db", db1, "--json"}).out == run_tool({"ls", "--db", db4, "--json"}).out);
}

TEST_CASE("two imports into one catalog at once both succeed") {
  TempDir tmp;
  std::vector<int64_t> steps;
  for (int64_t s = 0; s < 8; ++s) steps.push_back(s);
  write_steps(tmp.path() / "runs" / "a", steps);
  write_steps(tmp.path() / "runs" / "b", steps, /*variant=*/1);
  const std::string db = (tmp.path() / "shared.db").string();
  ToolProcess p1({"import", "--db", db, (tmp.path() / "runs" / "a").string()});
  ToolProcess p2({"import", "--db", db, (tmp.path() / "runs").string()});
  const auto r1 = p1.finish();
  const auto r2 = p2.finish();
  CHECK_MESSAGE(r1.exit_code == 0, r1.err);
  CHECK_MESSAGE(r2.exit_code == 0, r2.err);
  CHECK(json::parse(run_tool({"ls", "--db", db, "--json"}).out).size() == 16);
  const auto check = run_tool({"verify", "--db", db});
  CHECK_MESSAGE(check.exit_code == 0, check.out);
}

TEST_CASE("diff: leaves added, removed and changed") {
  TempDir tmp;
  write_checkpoint(tmp.path() / "run" / "1", make_step(0));
  write_checkpoint(tmp.path() / "run" / "2", make_step(1));
  const std::string db = (tmp.path() / "c.db").string();
  REQUIRE(run_tool({"import", "--db", db, (tmp.path() / "run").string()}).exit_code == 0);
  const std::string a = (tmp.path() / "run" / "1").string(), b = (tmp.path() / "run" / "2").string();
  const auto r = run_tool({"diff", "--db", db, a, b});
  CHECK(r.exit_code == 0);
  const auto lines = lines_of(r.out);
  REQUIRE(lines.size() == 8);
  CHECK(lines[0] == "--- " + a);
  CHECK(lines[1] == "+++ " + b);
  CHECK(lines[2] == "item params");
  CHECK(std::regex_match(lines[3], std::regex(R"(  ~  dense\.kernel  shape \(512, 256\) -> \(1024, 256\))")));
  CHECK(std::regex_match(lines[4], std::regex(R"(  ~  dense\.bias    dtype bfloat16 -> float32)")));
  CHECK(std::regex_match(lines[5], std::regex(R"(  -  step          scalar int64 \(\))")));
  CHECK(lines[6] == "  +  dense.extra   array float32 (3,)");
  CHECK(lines[7] == "1 added, 1 removed, 2 changed");
  CHECK(r.err.empty());
  const auto j = json::parse(run_tool({"diff", "--db", db, "--json", a + "/params", b + "/params"}).out);
  CHECK(j["identical"] == false);
  REQUIRE(j["items"].size() == 1);
  const auto& leaves = j["items"][0]["leaves"];
  REQUIRE(leaves.size() == 4);
  CHECK(leaves[0] == json::parse(R"J({"name": "dense.kernel", "change": "changed", "fields": [{"field": "shape", "before": "(512, 256)", "after": "(1024, 256)"}]})J"));
  CHECK(leaves[3]["change"] == "added");
}

TEST_CASE("verify: changed leaves, new checkpoints, missing and truncated data files") {
  TempDir tmp;
  const fs::path root = tmp.path() / "run";
  write_checkpoint(root / "1", make_step(0, /*chunk_value_bytes=*/4096));  // out-of-line values
  write_checkpoint(root / "2", make_step(0, 4096));
  write_checkpoint(root / "3", make_step(0));
  const std::string db = (tmp.path() / "c.db").string();
  REQUIRE(run_tool({"import", "--db", db, root.string()}).exit_code == 0);
  REQUIRE(run_tool({"verify", "--db", db}).exit_code == 0);

  for (const auto& f : data_files(root / "1" / "params" / "ocdbt.process_0")) fs::remove(f);
  for (const auto& f : data_files(root / "2" / "params" / "ocdbt.process_0")) fs::resize_file(f, 100);
  fs::remove_all(root / "3");
  write_checkpoint(root / "3", make_step(1));   // the step rewritten with another model
  write_checkpoint(root / "4", make_step(0));   // a step not imported yet

  const auto r = run_tool({"verify", "--db", db, "--json", root.string()});
  CHECK(r.exit_code == 1);
  const auto j = json::parse(r.out);
  std::map<std::string, std::vector<json>> by_kind;
  for (const auto& f : j["findings"]) by_kind[f["kind"].get<std::string>()].push_back(f);
  REQUIRE(by_kind["data-file-missing"].size() >= 1);
  for (const auto& f : by_kind["data-file-missing"])
    CHECK(f["file"].get<std::string>().find("/run/1/params/ocdbt.process_0/d/") != std::string::npos);
  REQUIRE(by_kind["value-out-of-range"].size() >= 1);
  CHECK(by_kind["value-out-of-range"][0]["message"].get<std::string>().find("past the end of the file (100 bytes)") != std::string::npos);
  REQUIRE(by_kind["leaf-changed"].size() == 2);
  CHECK(by_kind["leaf-changed"][0]["leaf"] == "dense.kernel");
  CHECK(by_kind["leaf-changed"][0]["message"].get<std::string>().rfind("shape (512, 256) -> (1024, 256)", 0) == 0);
  CHECK(by_kind["leaf-added"].size() == 1);
  CHECK(by_kind["leaf-removed"].size() == 1);
  REQUIRE(by_kind["not-imported"].size() == 1);
  CHECK(by_kind["not-imported"][0]["checkpoint"] == (root / "4").string());
  CHECK(by_kind["not-imported"][0]["severity"] == "warning");

  const auto text = run_tool({"verify", "--db", db, root.string()});
  CHECK(text.exit_code == 1);
  CHECK(has_line(text.out, "^" + (root / "3" / "params").string() + R"( \(leaf dense\.bias\): error: leaf-changed: dtype bfloat16 -> float32$)"));
  // An item folder verifies its checkpoint only.
  const auto item = run_tool({"verify", "--db", db, "--json", (root / "1" / "params").string()});
  CHECK(item.exit_code == 1);
  const auto ij = json::parse(item.out);
  CHECK(ij["checkpoints"] == 1);
  for (const auto& f : ij["findings"]) CHECK(f["checkpoint"] == (root / "1").string());
}

TEST_CASE("zarr keys without metadata are found; a leaf error makes import exit 1") {
  TempDir tmp;
  CheckpointSpec step = make_step();
  step.items[0].leaves[1].write_zarr_metadata = false;
  write_checkpoint(tmp.path() / "run" / "1", step);
  const std::string db = (tmp.path() / "c.db").string();
  const auto imported = run_tool({"import", "--db", db, (tmp.path() / "run").string()});
  CHECK(imported.exit_code == 1);
  CHECK(has_line(imported.err, R"(^error: .*/run/1/params \(leaf dense\.bias\): )"));
  CHECK(summary(imported).find("; 1 error") != std::string::npos);
  const auto r = run_tool({"verify", "--db", db});
  CHECK(r.exit_code == 1);
  CHECK(has_line(r.out, R"(manifest\.ocdbt key "dense\.bias/": error: chunks-without-metadata: 1 chunk key of array "dense\.bias" without zarr metadata)"));
}

TEST_CASE("usage errors exit 2 with a message; --help and --version exit 0") {
  TempDir tmp;
  const std::string db = (tmp.path() / "c.db").string();
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"frobnicate"}, "frobnicate"},
      {{"import", "--db", db}, "PATH is required"},
      {{"ls", "--db", db, "--bogus"}, "--bogus"},
      {{"find", "--db", db, "--rank", "x"}, "--rank"},
      {{"find", "--db", db, "--kind", "tensor"}, "tensor"},
      {{"find", "--db", db, "--min-bytes", "12 apples"}, "not a byte count"},
      {{"import", "--db", db, "--jobs", "0", "."}, "--jobs"},
      {{"export", "--db", db, "--format", "csv"}, "csv"},
      {{"ls", "--db", db}, "no catalog at " + db},
  };
  for (const auto& c : cases) {
    CAPTURE(c.args[0]);
    const auto r = run_tool(c.args);
    CHECK(r.exit_code == 2);
    CHECK(r.out.empty());
    CHECK_MESSAGE(r.err.find(c.message) != std::string::npos, r.err);
  }
  const auto none = run_tool({});
  CHECK(none.exit_code == 2);
  CHECK(none.err.find("Usage: ckptcat") != std::string::npos);

  const auto help = run_tool({"--help"});
  CHECK(help.exit_code == 0);
  CHECK(help.out.find("Exit status: 0 success; 1 done, but") != std::string::npos);
  const auto sub_help = run_tool({"find", "--help"});
  CHECK(sub_help.exit_code == 0);
  CHECK(sub_help.out.find("--mesh-axis") != std::string::npos);
  const auto version = run_tool({"--version"});
  CHECK(version.exit_code == 0);
  CHECK(std::regex_match(version.out, std::regex(R"(ckptcat [0-9]+\.[0-9]+\.[0-9]+ \(catalog schema [0-9]+\)\n)")));
}

TEST_CASE("a file that is not a catalog, a missing path, an unknown checkpoint") {
  TempDir tmp;
  const fs::path text = tmp.path() / "notes.db";
  std::ofstream(text) << "these are not the tables you are looking for\n";
  for (const char* command : {"ls", "import"}) {
    CAPTURE(command);
    std::vector<std::string> args = {command, "--db", text.string()};
    if (std::string(command) == "import") args.push_back(tmp.path().string());
    const auto r = run_tool(args);
    CHECK(r.exit_code == 2);
    CHECK(r.err.rfind("ckptcat: " + text.string() + ": ", 0) == 0);
    CHECK(r.err.find("SQLite::") == std::string::npos);
  }
  CHECK(read_file(text) == "these are not the tables you are looking for\n");

  const std::string db = (tmp.path() / "c.db").string();
  const auto missing = run_tool({"import", "--db", db, (tmp.path() / "nowhere").string()});
  CHECK(missing.exit_code == 1);
  CHECK(has_line(missing.err, "^error: " + (tmp.path() / "nowhere").string() + ": does not exist$"));
  const auto file = run_tool({"import", "--db", db, text.string()});
  CHECK(file.exit_code == 1);
  CHECK(has_line(file.err, "^error: " + text.string() + ": not a folder$"));
  const auto unknown = run_tool({"show", "--db", db, tmp.path().string()});
  CHECK(unknown.exit_code == 2);
  CHECK(unknown.err == "ckptcat: " + tmp.path().string() +
                           ": not in the catalog (neither a checkpoint nor an item of one; see ckptcat ls)\n");
}
