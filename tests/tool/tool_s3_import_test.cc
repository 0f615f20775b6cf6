// `ckptcat import s3://...` against a real S3-compatible server (s3rver) that
// the test starts once, with trees uploaded by boto3: the shared corpus and a
// generated tree give the same `ckptcat export` as the same trees imported
// from disk (item paths aside), verify re-reads them without a finding, a
// no-op re-import makes no object reads, and a
// name escaping the item is refused without a request outside the prefix.
// Through a forwarding proxy that injects faults (forwarding_proxy.h), faults
// that end give the same export, and a fault that never stops puts its item
// in error with a message naming the object, the rest imported as without it.
// Cases skip with a message when node, s3rver or boto3 are absent.
#include <doctest/doctest.h>
#include <stdlib.h>

#include <algorithm>
#include <fstream>
#include <memory>

#include "ckptcat/error.h"
#include "forwarding_proxy.h"
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

// `ckptcat export` of `db`, with `root` replaced by "ROOT".
std::string export_of(const std::string& db, const std::string& root) {
  const auto exported = run_tool({"export", "--db", db});
  REQUIRE(exported.exit_code == 0);
  return replace_all(exported.out, root, "ROOT");
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
  return {export_of(local_db, local.string()), export_of(s3_db, url)};
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
  CHECK(ckptcat::testing::number_before(again.err, "GETs") == 0);
  CHECK(ckptcat::testing::number_before(again.err, "listings") > 0);
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

// Faults injected by a forwarding proxy between ckptcat and the server.

namespace {

using ckptcat::testing::Fault;
using ckptcat::testing::FaultRule;
using ckptcat::testing::ForwardingProxy;
using ckptcat::testing::ProxyOptions;

// Faults that end: one request meets at most 5, so the client's 6th attempt
// gets through.
ProxyOptions transient_faults() {
  ProxyOptions options;
  options.rules = {
      {Fault::kTruncate, "_METADATA", 0, 1},  // every first read of a _METADATA
      {Fault::kSlowDown, "", 5, 1},
      {Fault::kInternalError, "", 7, 1},
      {Fault::kDrop, "", 11, 1},
      {Fault::kTooManyRetryAfter1, "", 97, 1},
  };
  return options;
}

// `ckptcat import -v` of `url` into `db` through `proxy`.
ckptcat::testing::ToolResult import_through(const ForwardingProxy& proxy, const std::string& db,
                                            const std::string& url, bool force = false) {
  std::vector<std::string> args = {"import", "-v", "--db", db, "--endpoint-url", proxy.endpoint(), url};
  if (force) args.insert(args.begin() + 1, "--force");
  return run_tool(args);
}

// A small generated tree (OCDBT single- and multi-process, Orbax's layout),
// written to `tree` and uploaded under `prefix`.
void upload_generated_tree(const fs::path& tree, const std::string& prefix) {
  ckptcat::gen::Options options;
  options.runs = 3;
  options.steps = 2;
  options.leaves = 16;
  options.jobs = 1;
  options.styles = {ckptcat::gen::Style::kManager, ckptcat::gen::Style::kMultiHost,
                    ckptcat::gen::Style::kOrbax};
  ckptcat::gen::write_tree(ckptcat::gen::plan_tree(options), tree);
  server().s3rver->upload(tree, kBucket, prefix, /*folder_markers=*/true);
}

// Imports `url` directly and through `proxy` with transient faults: both
// exports must be equal, and faults must have happened and been retried.
void check_same_export_through_faults(const fs::path& dir, const std::string& url) {
  const std::string direct_db = (dir / "direct.db").string(), faulty_db = (dir / "faulty.db").string();
  const auto direct = run_tool({"import", "--db", direct_db, url});
  INFO(direct.err);
  CHECK(direct.exit_code != 2);
  ForwardingProxy proxy(server().s3rver->endpoint(), transient_faults());
  const auto faulty = import_through(proxy, faulty_db, url);
  INFO(faulty.err);
  CHECK(faulty.exit_code == direct.exit_code);
  const long faults = proxy.counts().faults;
  CHECK(faults > 5);
  // Each fault is retried, but a drop libcurl may resend by itself.
  const long retries = ckptcat::testing::number_before(faulty.err, "retries");
  CHECK(retries > 0);
  CHECK(retries <= faults);
  const std::string expected = export_of(direct_db, url);
  CHECK(!expected.empty());
  CHECK(export_of(faulty_db, url) == expected);
}

}  // namespace

TEST_CASE("a generated tree imported through transient faults exports as without them") {
  if (skipped("s3 generated tree through faults")) return;
  ckptcat::testing::TempDir dir;
  upload_generated_tree(dir.path() / "tree", "faults/");
  check_same_export_through_faults(dir.path(), std::string("s3://") + kBucket + "/faults");
}

SHARED_TEST_CASE("the shared corpus imported through transient faults exports as without them") {
  if (skipped("s3 corpus through faults")) return;
  const fs::path corpus = fs::canonical(ckptcat::testing::shared_data_dir() / "corpus");
  server().s3rver->upload(corpus, kBucket, "corpus-faults/", /*folder_markers=*/true);
  ckptcat::testing::TempDir dir;
  check_same_export_through_faults(dir.path(), std::string("s3://") + kBucket + "/corpus-faults");
}

TEST_CASE("a fault that never stops puts its item in error, naming the object; the rest imports as without it") {
  if (skipped("s3 import through a lasting fault")) return;
  ckptcat::testing::TempDir dir;
  const fs::path tree = dir.path() / "tree";
  upload_generated_tree(tree, "lasting/");
  const std::string url = std::string("s3://") + kBucket + "/lasting";
  // The first _METADATA of the tree, in name order: every GET of it fails.
  std::vector<std::string> metadata;
  for (const auto& entry : fs::recursive_directory_iterator(tree))
    if (entry.path().filename() == "_METADATA") metadata.push_back(fs::relative(entry.path(), tree).string());
  REQUIRE(!metadata.empty());
  std::sort(metadata.begin(), metadata.end());
  const std::string failing = metadata.front();
  const std::string failing_url = url + "/" + failing;
  INFO(failing_url);

  ForwardingProxy proxy(server().s3rver->endpoint());
  const std::string clean_db = (dir.path() / "clean.db").string();
  const auto clean = import_through(proxy, clean_db, url);
  INFO(clean.err);
  REQUIRE(clean.exit_code == 0);

  ProxyOptions lasting;
  lasting.rules = {{Fault::kInternalError, "/lasting/" + failing, 0, FaultRule::kAlways}};
  proxy.set_options(lasting);
  const std::string db = (dir.path() / "s3.db").string();
  const auto imported = import_through(proxy, db, url);
  INFO(imported.err);
  CHECK(imported.exit_code == 1);  // done, with an error
  const size_t error_line = imported.err.find("error: " + failing_url + ": ");
  REQUIRE(error_line != std::string::npos);
  CHECK(imported.err.substr(error_line, imported.err.find('\n', error_line) - error_line).find("HTTP 500") !=
        std::string::npos);
  CHECK(proxy.counts().faults == 6);  // the client's attempts, then it gives up

  // Every other item is exactly as without the fault; the failing item's
  // lines name the object.
  const std::string item = url + "/" + fs::path(failing).parent_path().string();
  auto split = [&](const std::string& exported) {
    std::pair<std::string, std::string> others_and_item;
    for (const auto& line : ckptcat::testing::lines_of(exported))
      (line.find(item + "\"") != std::string::npos || line.find(item + "/") != std::string::npos
           ? others_and_item.second
           : others_and_item.first) += line + "\n";
    return others_and_item;
  };
  const auto with_fault = split(run_tool({"export", "--db", db}).out);
  const auto without = split(run_tool({"export", "--db", clean_db}).out);
  CHECK(!without.first.empty());
  CHECK(with_fault.first == without.first);
  CHECK(with_fault.second != without.second);
  CHECK(with_fault.second.find(failing_url) != std::string::npos);
}
