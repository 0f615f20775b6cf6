// `ckptcat import s3://...` against a real S3-compatible server (s3rver) that
// the test starts once, with trees uploaded by boto3: the shared corpus and a
// generated tree give the same `ckptcat export` as the same trees imported
// from disk (item paths aside), verify re-reads them without a finding, a
// no-op re-import makes no object reads, and a
// name escaping the item is refused without a request outside the prefix.
// Cases skip with a message when node, s3rver or boto3 are absent.
#include <doctest/doctest.h>
#include <stdlib.h>

#include <fstream>
#include <memory>
#include <regex>

#include "ckptcat/error.h"
#include "generator.h"
#include "helpers.h"
#include "mounts.h"
#include "object_store.h"
#include "shared_case.h"
#include "shared_data.h"
#include "tool_runner.h"

namespace fs = std::filesystem;
using ckptcat::testing::run_tool;

namespace {

constexpr const char* kBucket = "ckpt";

// One server for the program; trees are uploaded by the cases that use them.
struct Server {
  std::unique_ptr<ckptcat::testing::S3rver> s3rver;
  std::string skip_reason;
};

Server& server() {
  static Server instance = [] {
    Server s;
    std::string why;
    if (auto reason = ckptcat::testing::S3rver::unavailable()) {
      s.skip_reason = *reason;
    } else if (!ckptcat::testing::python_with_boto3(&why)) {
      s.skip_reason = why;
    } else {
      s.s3rver = std::make_unique<ckptcat::testing::S3rver>(std::vector<std::string>{kBucket});
      // The ckptcat children read these (s3rver accepts any signature).
      setenv("AWS_ENDPOINT_URL", s.s3rver->endpoint().c_str(), 1);
      setenv("AWS_ACCESS_KEY_ID", "S3RVER", 1);
      setenv("AWS_SECRET_ACCESS_KEY", "S3RVER", 1);
      setenv("AWS_REGION", "us-east-1", 1);
      setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent", 1);
      setenv("AWS_CONFIG_FILE", "/nonexistent", 1);
    }
    return s;
  }();
  return instance;
}

bool skipped(const char* what) {
  if (server().s3rver) return false;
  ckptcat::testing::skip_case(what, server().skip_reason);
  return true;
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = 0; (at = text.find(from, at)) != std::string::npos; at += to.size())
    text.replace(at, from.size(), to);
  return text;
}

// Imports `local` and `url` into two catalogs; both exports, each with its
// root replaced by "ROOT".
std::pair<std::string, std::string> exports(const fs::path& dir, const fs::path& local,
                                            const std::string& url) {
  const std::string local_db = (dir / "local.db").string(), s3_db = (dir / "s3.db").string();
  run_tool({"import", "--db", local_db, local.string()});
  const auto imported = run_tool({"import", "--db", s3_db, url});
  INFO(imported.err);
  CHECK(imported.exit_code != 2);
  const auto local_export = run_tool({"export", "--db", local_db});
  const auto s3_export = run_tool({"export", "--db", s3_db});
  REQUIRE(local_export.exit_code == 0);
  REQUIRE(s3_export.exit_code == 0);
  return {replace_all(local_export.out, local.string(), "ROOT"), replace_all(s3_export.out, url, "ROOT")};
}

// The count before `what` in the -v request line ("12 GETs").
long requests(const std::string& err, const std::string& what) {
  std::smatch m;
  const std::regex pattern("([0-9,]+) " + what);
  if (!std::regex_search(err, m, pattern)) return -1;
  return std::stol(replace_all(m[1].str(), ",", ""));
}

}  // namespace

SHARED_TEST_CASE("the shared corpus imported through s3:// exports as from disk; a no-op re-import reads no object") {
  if (skipped("s3 corpus import")) return;
  // Canonical: the catalog names folders by their normal absolute path.
  const fs::path corpus = fs::canonical(ckptcat::testing::shared_data_dir() / "corpus");
  server().s3rver->upload(corpus, kBucket, "corpus/", /*folder_markers=*/true);
  ckptcat::testing::TempDir dir;
  const std::string url = std::string("s3://") + kBucket + "/corpus";
  const auto exported = exports(dir.path(), corpus, url);
  CHECK(!exported.first.empty());
  CHECK(exported.first == exported.second);

  const auto again = run_tool({"import", "-v", "--db", (dir.path() / "s3.db").string(), url});
  INFO(again.err);
  CHECK(ckptcat::testing::has_line(again.err, "^imported 0 checkpoints \\(0 new, 0 replaced, [1-9][0-9]* unchanged\\)"));
  CHECK(requests(again.err, "GETs") == 0);
  CHECK(requests(again.err, "listings") > 0);
}

TEST_CASE("a generated tree imported through s3:// exports as from disk") {
  if (skipped("s3 generated tree import")) return;
  ckptcat::testing::TempDir dir;
  ckptcat::gen::Options options;
  options.runs = 2;
  options.steps = 2;
  options.leaves = 16;
  options.jobs = 1;
  options.styles = {ckptcat::gen::Style::kManager, ckptcat::gen::Style::kMultiHost};
  const fs::path tree = dir.path() / "tree";
  ckptcat::gen::write_tree(ckptcat::gen::plan_tree(options), tree);
  server().s3rver->upload(tree, kBucket, "gen/", /*folder_markers=*/true);
  const auto exported = exports(dir.path(), tree, std::string("s3://") + kBucket + "/gen");
  CHECK(!exported.first.empty());
  CHECK(exported.first == exported.second);

  // verify re-reads the store and finds it as catalogued.
  const auto verified = run_tool({"verify", "--db", (dir.path() / "s3.db").string()});
  INFO(verified.out, verified.err);
  CHECK(verified.exit_code == 0);
  CHECK(ckptcat::testing::has_line(verified.err + verified.out, "no problems"));
}

TEST_CASE("a name escaping the item is refused per leaf, nothing outside the prefix is read") {
  if (skipped("s3 hostile names")) return;
  ckptcat::testing::TempDir dir;
  // A direct checkpoint whose _METADATA names "../other/x", and a zarr array
  // at other/x/.zarray beside the imported prefix that it would reach.
  const fs::path tree = dir.path() / "tree";
  fs::create_directories(tree / "hostile" / "1");
  std::ofstream(tree / "hostile" / "1" / "_METADATA")
      << R"j({"tree_metadata": {"('../other/x',)": {"key_metadata": [{"key": "../other/x", "key_type": 2}],)j"
         R"( "value_metadata": {"value_type": "jax.Array", "skip_deserialize": false}}}, "use_zarr3": false})";
  fs::create_directories(tree / "other" / "x");
  std::ofstream(tree / "other" / "x" / ".zarray")
      << R"j({"zarr_format": 2, "shape": [4], "chunks": [4], "dtype": "<f4", "compressor": null,)j"
         R"( "fill_value": null, "order": "C", "filters": null})";
  server().s3rver->upload(tree, kBucket, "esc/", /*folder_markers=*/true);
  const std::string db = (dir.path() / "s3.db").string();
  const auto imported = run_tool({"import", "-v", "--db", db, std::string("s3://") + kBucket + "/esc/hostile"});
  INFO(imported.err);
  CHECK(ckptcat::testing::has_line(imported.err, "escapes the item folder"));
  const auto exported = run_tool({"export", "--db", db});
  INFO(exported.out);
  CHECK(exported.out.find("escapes the item folder") != std::string::npos);
  CHECK(exported.out.find("\"shape\":[4]") == std::string::npos);

  // The store itself refuses locations outside its prefix or with ".."
  // before any request.
  const auto url = ckptcat::objstore::parse_object_url(std::string("s3://") + kBucket + "/esc/hostile");
  int clients = 0;
  ckptcat::storage::ObjectStore store(url, [&]() -> std::unique_ptr<ckptcat::objstore::ObjectStoreClient> {
    ++clients;
    return nullptr;
  });
  CHECK_THROWS_AS(store.key_of("s3://ckpt/esc/hostile/../other/x/.zarray"), ckptcat::Error);
  CHECK_THROWS_AS(store.key_of("s3://ckpt/esc/other/x/.zarray"), ckptcat::Error);
  std::string text;
  CHECK_THROWS_AS(store.read_bounded("s3://ckpt/esc/hostile/1/../../other/x/.zarray", text, 100),
                  ckptcat::Error);
  CHECK(store.key_of("s3://ckpt/esc/hostile/1/_METADATA") == "esc/hostile/1/_METADATA");
  CHECK(clients == 0);
  CHECK_THROWS_AS(ckptcat::storage::store_for("s3://ckpt/esc/other/x/.zarray"), ckptcat::Error);
}
