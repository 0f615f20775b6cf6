// The built ckptcat binary over ../shared/corpus (read in place, never
// written): import with errors reported for the damaged items, then ls, show,
// find, diff, export (checked against golden/leaves.jsonl) and verify.
#include <doctest/doctest.h>
#include <unistd.h>

#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "shared_case.h"
#include "tool_runner.h"

using namespace ckptcat::testing;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// One catalog of the whole corpus for every test of this program.
struct Corpus {
  fs::path corpus;
  TempDir temp;
  std::string db;
  ToolResult first_import;
};

const Corpus& corpus() {
  static Corpus* c = [] {
    auto* out = new Corpus;
    out->corpus = fs::canonical(shared_data_dir() / "corpus");
    out->db = (out->temp.path() / "corpus.db").string();
    out->first_import = run_tool({"import", "--db", out->db, out->corpus.string()});
    return out;
  }();
  return *c;
}

std::string at(const std::string& rel) { return (corpus().corpus / rel).string(); }

ToolResult tool(std::vector<std::string> args) {
  args.insert(args.begin() + 1, {"--db", corpus().db});
  return run_tool(args);
}

const std::string kAcsolver = "acsolverx-610model";

}  // namespace

SHARED_TEST_CASE("import: the damaged items are reported, everything else is imported (exit 1)") {
  const auto& r = corpus().first_import;
  CHECK(r.exit_code == 1);
  CHECK(r.out.empty());  // messages go to stderr
  const auto lines = lines_of(r.err);
  REQUIRE_FALSE(lines.empty());
  CHECK(std::regex_match(lines.back(),
                         std::regex(R"(imported 48 checkpoints \(48 new, 0 replaced, 0 unchanged\), 384 leaves in [0-9.]+ s; 11 errors, 7 warnings \(-v to show\))")));
  // Each error on its own line, naming the file.
  CHECK(has_line(r.err, "^error: .*/dummy_checkpointable_added/dummy/_METADATA: not valid JSON: "
                                 "unexpected .* at line [0-9]+, column [0-9]+ \\(at byte [0-9]+\\)$"));
  CHECK(r.err.find("json.exception") == std::string::npos);
  CHECK(has_line(r.err, "^error: .*/pytree_checkpointable_missing_metadata/state/_METADATA: file not found"));
  CHECK(has_line(r.err, "^error: .*/t5x-tiny-orbax/1 \\(leaf _optimizer.state.step\\): .*\\.zarray"));
  size_t errors = 0;
  for (const auto& l : lines) errors += l.rfind("error: ", 0) == 0;
  CHECK(errors == 11);
  CHECK(r.err.find("std::") == std::string::npos);
  CHECK(r.err.find("SQLite::") == std::string::npos);
}

SHARED_TEST_CASE("import again: everything unchanged, exit 0; -v shows warnings") {
  const auto r = tool({"import", "-v", corpus().corpus.string()});
  CHECK(r.exit_code == 0);
  CHECK(has_line(r.err, R"(^imported 0 checkpoints \(0 new, 0 replaced, 48 unchanged\), 0 leaves in)"));
  const auto forced = tool({"import", "--jobs", "2", "--force", "-v", at(kAcsolver)});
  CHECK(forced.exit_code == 0);
  CHECK(has_line(forced.err, R"(^imported 3 checkpoints \(0 new, 3 replaced, 0 unchanged\), 294 leaves)"));
}

SHARED_TEST_CASE("ls: one aligned row per checkpoint; PATH restricts; --json") {
  const auto all = tool({"ls"});
  CHECK(all.exit_code == 0);
  CHECK(lines_of(all.out).size() == 49);
  const auto r = tool({"ls", at(kAcsolver)});
  CHECK(r.exit_code == 0);
  const auto lines = lines_of(r.out);
  REQUIRE(lines.size() == 4);
  CHECK(std::regex_search(lines[0], std::regex("^STEP +STATE +TIME \\(UTC\\) +ITEMS +LEAVES +SIZE +ERRORS +PATH$")));
  CHECK(std::regex_search(lines[3], std::regex("^1000  finished  2026-06-22T08:16:22Z +3 +98 +4\\.3 MiB +0  .*/acsolverx-610model/1000$")));
  // Columns line up: PATH starts at the same offset on every line.
  const size_t path_col = lines[0].find("PATH");
  for (size_t i = 1; i < lines.size(); ++i) CHECK(lines[i].find('/') == path_col);

  const auto j = tool({"ls", "--json", at(kAcsolver)});
  CHECK(j.exit_code == 0);
  const auto rows = json::parse(j.out);
  REQUIRE(rows.size() == 3);
  CHECK(rows[2]["step"] == 1000);
  CHECK(rows[2]["time"] == "2026-06-22T08:16:22Z");
  CHECK(rows[2]["commit_timestamp_nsecs"] == 1782116182312247431);
  CHECK(rows[2]["leaves"] == 98);
  CHECK(rows[2]["finished"] == true);
}

SHARED_TEST_CASE("show: a checkpoint, an item, a path relative to the current folder") {
  const auto r = tool({"show", at(kAcsolver + "/1000")});
  CHECK(r.exit_code == 0);
  CHECK(has_line(r.out, "^step +1000 \\(finished\\)$"));
  CHECK(has_line(r.out, "^committed +2026-06-22T08:16:22Z$"));
  CHECK(has_line(r.out, "^items +config, params, solve_data$"));
  CHECK(has_line(r.out, "^params: pytree, ocdbt, 95 leaves"));
  CHECK(has_line(r.out, "^  params\\.Dense_0\\.kernel +array +float32 +\\(64, 256\\) +64 KiB +device rocm:0$"));
  CHECK(has_line(r.out, "^  best_paths +array +int32 +\\(157217, 96\\) +58 MiB +device rocm:0$"));

  const fs::path cwd = fs::current_path();
  fs::current_path(corpus().corpus);
  const auto rel = tool({"show", "--json", kAcsolver + "/1000/solve_data/"});
  fs::current_path(cwd);
  CHECK(rel.exit_code == 0);
  const auto j = json::parse(rel.out);
  CHECK(j["checkpoint"]["step"] == 1000);
  REQUIRE(j["items"].size() == 1);
  CHECK(j["items"][0]["name"] == "solve_data");
  CHECK(j["items"][0]["leaves"].size() == 3);

  const auto unknown = tool({"show", at(kAcsolver + "/1234")});
  CHECK(unknown.exit_code == 2);
  CHECK(unknown.out.empty());
  CHECK(unknown.err.find("1234: not in the catalog") != std::string::npos);
}

SHARED_TEST_CASE("find: filters across checkpoints") {
  auto count = [](const ToolResult& r) { return json::parse(r.out).size(); };
  CHECK(count(tool({"find", "--json", "--name", "params.Dense_0.*"})) == 6);
  CHECK(count(tool({"find", "--json", "--kind", "bare"})) == 6);
  CHECK(count(tool({"find", "--json", "--dtype", "int32", "--rank", "2"})) == 3);
  CHECK(count(tool({"find", "--json", "--shape", "4,24,8"})) == 12);
  CHECK(count(tool({"find", "--json", "--shape", "(4, 24, 8)", "--limit", "5"})) == 5);
  CHECK(count(tool({"find", "--json", "--min-bytes", "1M"})) == 3);
  CHECK(count(tool({"find", "--json", "--sharding", "single", "--value-type", "np.ndarray"})) == 0);
  const auto hits = json::parse(tool({"find", "--json", "--min-bytes", "1MiB"}).out);
  for (const auto& h : hits) {
    CHECK(h["name"] == "best_paths");
    CHECK(h["stored_bytes"].get<uint64_t>() >= (1u << 20));
    CHECK(h["checkpoint"].get<std::string>().find(kAcsolver) != std::string::npos);
  }
  const auto table = tool({"find", "--name", "*.rel_emb", "--limit", "1"});
  CHECK(table.exit_code == 0);
  CHECK(lines_of(table.out).size() == 2);
  // Steps in numeric order: 900 comes before 1000.
  CHECK(has_line(table.out, "^ 900  params\\..*\\.rel_emb +array +float32 +\\(4, 24, 8\\) +[0-9.]+ KiB +device rocm:0  /.*/900/params$"));
  const auto none = tool({"find", "--mesh-axis", "model"});
  CHECK(none.exit_code == 0);
  CHECK(none.out.empty());
  CHECK(none.err == "no leaves match\n");
}

SHARED_TEST_CASE("diff: identical steps, items against items, mixed arguments refused") {
  const auto same = tool({"diff", at(kAcsolver + "/900"), at(kAcsolver + "/1000")});
  CHECK(same.exit_code == 0);
  CHECK(same.out == "no differences\n");

  const std::string state =
      "orbax-compat/v1_checkpoints/composite_checkpoint/checkpoint_metadata_present/"
      "pytree_checkpointable_has_metadata/state";
  const auto items = tool({"diff", at(kAcsolver + "/900/params"), at(state)});
  CHECK(items.exit_code == 0);
  CHECK(has_line(items.out, "^  - +params\\.Dense_0\\.bias +array float32 \\(256,\\)$"));
  CHECK(has_line(items.out, "^  \\+ +a +array int32 \\(8,\\)$"));
  CHECK(lines_of(items.out).back() == "2 added, 95 removed, 0 changed");

  const auto mixed = tool({"diff", at(kAcsolver + "/900"), at(state)});
  CHECK(mixed.exit_code == 2);
  CHECK(mixed.err.find("cannot compare a checkpoint with an item") != std::string::npos);

  const auto j = tool({"diff", "--json", at(kAcsolver + "/900"), at(kAcsolver + "/950")});
  CHECK(j.exit_code == 0);
  CHECK(json::parse(j.out)["identical"] == true);
}

SHARED_TEST_CASE("export agrees with golden/leaves.jsonl for every leaf") {
  const auto r = tool({"export"});
  REQUIRE(r.exit_code == 0);
  const std::string prefix = corpus().corpus.string() + "/";
  // (relative item, name) -> exported object; item-level errors under name "".
  std::map<std::pair<std::string, std::string>, json> exported;
  for (const auto& line : lines_of(r.out)) {
    auto j = json::parse(line);
    std::string item = j["item"];
    REQUIRE(item.rfind(prefix, 0) == 0);
    item = item.substr(prefix.size());
    const std::string name = j.contains("name") ? j["name"].get<std::string>() : "";
    CHECK_MESSAGE(exported.emplace(std::make_pair(item, name), j).second, item << " " << name);
  }
  size_t checked = 0;
  std::set<std::string> golden_items;
  for (const auto& line : read_lines(shared_dir() / "golden" / "leaves.jsonl")) {
    const auto g = json::parse(line);
    const std::string item = g["item"];
    golden_items.insert(item);
    const std::string name = g.contains("name") ? g["name"].get<std::string>() : "";
    CAPTURE(item);
    CAPTURE(name);
    const auto it = exported.find({item, name});
    REQUIRE(it != exported.end());
    const json& e = it->second;
    ++checked;
    if (g.contains("error")) {
      CHECK(e.contains("error"));
      CHECK_FALSE(e.contains("name"));
      continue;
    }
    for (const char* field : {"value_type", "sharding", "write_shape"}) CHECK(e[field] == g[field]);
    if (g["kind"] == "array?") {
      // Top-level store damaged: shape and dtype may come from the
      // per-process databases, or stay unknown (then the leaf says why).
      CHECK(e["kind"] == "array");
      for (const char* field : {"shape", "dtype", "chunk_shape"})
        if (!e[field].is_null()) CHECK(e[field] == (g[field].is_null() ? e[field] : g[field]));
      if (e["shape"].is_null()) CHECK(e.contains("error"));
    } else {
      for (const char* field : {"kind", "shape", "dtype", "chunk_shape"}) CHECK(e[field] == g[field]);
      CHECK_FALSE(e.contains("error"));
    }
    CHECK(e["step"] == (item.rfind(kAcsolver, 0) == 0 ? json(std::stoll(item.substr(kAcsolver.size() + 1))) : json(nullptr)));
  }
  CHECK(checked == 377);
  // What export has beyond the golden file: items without _METADATA, which
  // Orbax does not read as pytree items (an error each, or t5x's msgpack tree).
  for (const auto& entry : exported) {  // no structured binding: CAPTURE below (clang 14)
    const auto& key = entry.first;
    const json& e = entry.second;
    if (golden_items.count(key.first)) continue;
    CAPTURE(key.first);
    CHECK_FALSE(fs::exists(corpus().corpus / key.first / "_METADATA"));
    if (key.second.empty()) CHECK(e.contains("error"));
  }
  // --format json: the same objects in one array.
  const auto arr = tool({"export", "--format", "json", at(kAcsolver + "/1000/params")});
  CHECK(arr.exit_code == 0);
  const auto objects = json::parse(arr.out);
  REQUIRE(objects.size() == 95);
  CHECK(objects[0] == exported.at({kAcsolver + "/1000/params", objects[0]["name"]}));
}

SHARED_TEST_CASE("verify: the missing acsolverx data files and the damaged stores (exit 1)") {
  const auto r = tool({"verify", at(kAcsolver)});
  CHECK(r.exit_code == 1);
  CHECK(has_line(r.out, "^/.*/acsolverx-610model/900/solve_data/ocdbt\\.process_0/d/8a056b87e133b55d4e6b3be32973f921: error: data-file-missing: "));
  CHECK(lines_of(r.out).size() == 3);
  CHECK(std::regex_match(r.err, std::regex("verified 3 checkpoints, 6 array stores \\([0-9,]+ keys\\): 3 errors, 0 warnings\n")));

  const auto all = tool({"verify", "--json"});
  CHECK(all.exit_code == 1);
  const auto j = json::parse(all.out);
  CHECK(j["checkpoints"] == 48);
  std::map<std::string, int> kinds;
  for (const auto& f : j["findings"]) ++kinds[f["kind"].get<std::string>()];
  CHECK(kinds["data-file-missing"] == 3);
  CHECK(kinds["store-unreadable"] == 6);           // missing manifest.ocdbt or d/ (per-process fallback)
  CHECK(kinds["chunks-without-metadata"] == 4);    // t5x arrays without .zarray
  CHECK(kinds["leaf-changed"] == 0);               // the catalog matches the disk
  CHECK(kinds["not-imported"] == 0);

  const auto clean = tool({"verify", at("orbax-compat/v1_checkpoints/composite_checkpoint/checkpoint_metadata_present")});
  CHECK(clean.exit_code == 0);
  CHECK(clean.out.empty());
  CHECK(has_line(clean.err, "^verified 2 checkpoints, 1 array store \\([0-9]+ keys\\): no problems$"));
}
