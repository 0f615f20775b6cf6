// The import pipeline as a library: outcomes per checkpoint, failures that do
// not stop the rest, progress reports, item paths, prune.
#include <SQLiteCpp/SQLiteCpp.h>
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <mutex>

#include "ckptcat/error.h"
#include "ckptcat/importer.h"
#include "ckptcat/verifier.h"
#include "orbax_writer.h"
#include "shared_data.h"

using namespace ckptcat;
using namespace ckptcat::testing;
namespace fs = std::filesystem;

namespace {

CheckpointSpec small_step() {
  CheckpointSpec step;
  ItemSpec& params = step.items.emplace_back(ItemSpec::pytree("params"));
  params.leaves.push_back(LeafSpec::array({"w"}, "float32", {4, 4}));
  params.leaves.push_back(LeafSpec::scalar({"step"}, "int32"));
  step.items.push_back(ItemSpec::json("config", "{}"));
  return step;
}

void write_run(const fs::path& root, int steps) {
  for (int s = 0; s < steps; ++s) write_checkpoint(root / std::to_string(s), small_step());
}

}  // namespace

TEST_CASE("a reader that throws fails one checkpoint; the rest is imported") {
  TempDir tmp;
  write_run(tmp.path() / "run", 6);
  Catalog catalog(":memory:");
  ImportOptions options;
  options.jobs = 3;
  options.reader = [](const orbax::CheckpointLocation& loc) {
    if (loc.step_name == "3") throw Error(Error::Code::kIO, "disk on fire", loc.directory.string());
    return orbax::read_checkpoint(loc);
  };
  std::mutex mutex;
  std::vector<ImportProgress> reports;
  options.progress = [&](const ImportProgress& p) {
    std::lock_guard lock(mutex);
    reports.push_back(p);
  };
  const auto s = Importer(catalog, options).run({tmp.path() / "run"});
  CHECK(s.discovered == 6);
  CHECK(s.inserted == 5);
  CHECK(s.failed == 1);
  CHECK(s.leaves == 10);
  CHECK(s.error_count() == 1);
  REQUIRE(s.problems.size() == 1);
  CHECK(s.problems[0].checkpoint == (tmp.path() / "run" / "3").string());
  CHECK(s.problems[0].file == (tmp.path() / "run" / "3").string());
  CHECK(s.problems[0].message == "cannot read checkpoint: disk on fire");
  CHECK(catalog.list_checkpoints().size() == 5);
  // One report per checkpoint plus the final one; done only grows.
  REQUIRE(reports.size() == 7);
  for (size_t i = 1; i < reports.size(); ++i) CHECK(reports[i].done >= reports[i - 1].done);
  CHECK(reports.back().done == 6);
  CHECK(reports.back().total == 6);
  CHECK(reports.back().leaves == 10);
  CHECK(reports.back().errors == 1);

  // The failed one is read again next time; the others are unchanged.
  const auto again = Importer(catalog, {}).run({tmp.path() / "run"});
  CHECK(again.inserted == 1);
  CHECK(again.unchanged == 5);
  CHECK(again.problems.empty());
}

TEST_CASE("a reader's filesystem error is reported plainly, naming its path") {
  TempDir tmp;
  write_run(tmp.path() / "run", 2);
  Catalog catalog(":memory:");
  ImportOptions options;
  const fs::path locked = tmp.path() / "run" / "1" / "params" / "_METADATA";
  options.reader = [&](const orbax::CheckpointLocation& loc) {
    if (loc.step_name == "1")
      throw fs::filesystem_error("status", locked,
                                 std::make_error_code(std::errc::permission_denied));
    return orbax::read_checkpoint(loc);
  };
  const auto s = Importer(catalog, options).run({tmp.path() / "run"});
  CHECK(s.failed == 1);
  REQUIRE(s.problems.size() == 1);
  CHECK(s.problems[0].file == locked.string());
  CHECK(s.problems[0].message ==
        "cannot read checkpoint: " + std::make_error_code(std::errc::permission_denied).message());
}

TEST_CASE("an item folder imports its whole checkpoint; force replaces; prune removes") {
  TempDir tmp;
  write_run(tmp.path() / "run", 2);
  Catalog catalog(":memory:");
  auto s = Importer(catalog, {}).run({tmp.path() / "run" / "1" / "params"});
  CHECK(s.inserted == 1);
  const auto cp = catalog.load_checkpoint((tmp.path() / "run" / "1").string());
  REQUIRE(cp.has_value());
  CHECK(cp->items.size() == 2);

  ImportOptions force;
  force.force = true;
  s = Importer(catalog, force).run({tmp.path() / "run"});
  CHECK(s.inserted == 1);
  CHECK(s.replaced == 1);
  CHECK(s.unchanged == 0);

  fs::remove_all(tmp.path() / "run" / "0");
  ImportOptions prune;
  prune.prune = true;
  // Prune is limited to the given paths: another path prunes nothing.
  fs::create_directories(tmp.path() / "elsewhere");
  s = Importer(catalog, prune).run({tmp.path() / "elsewhere"});
  CHECK(s.pruned == 0);
  s = Importer(catalog, prune).run({tmp.path() / "run"});
  CHECK(s.pruned == 1);
  CHECK(s.pruned_directories == std::vector<std::string>{(tmp.path() / "run" / "0").string()});
  CHECK(catalog.list_checkpoints().size() == 1);
}

TEST_CASE("a forced re-import that fails to store keeps the old entry") {
  TempDir tmp;
  write_run(tmp.path() / "run", 1);
  Catalog catalog(":memory:");
  CHECK(Importer(catalog, {}).run({tmp.path() / "run"}).inserted == 1);
  const std::string directory = (tmp.path() / "run" / "0").string();
  const auto before = catalog.load_checkpoint(directory);
  REQUIRE(before.has_value());

  catalog.database().exec(
      "CREATE TEMP TRIGGER inject_failure BEFORE INSERT ON leaves "
      "BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
  ImportOptions force;
  force.force = true;
  const auto s = Importer(catalog, force).run({tmp.path() / "run"});
  CHECK(s.failed == 1);
  CHECK(s.replaced == 0);
  REQUIRE(s.problems.size() == 1);
  CHECK(s.problems[0].message.find("cannot store checkpoint: ") == 0);
  const auto after = catalog.load_checkpoint(directory);
  REQUIRE(after.has_value());
  CHECK(after->items.size() == before->items.size());
  CHECK(catalog.list_checkpoints().size() == 1);

  catalog.database().exec("DROP TRIGGER inject_failure");
  CHECK(Importer(catalog, force).run({tmp.path() / "run"}).replaced == 1);
}

TEST_CASE("a missing path is a problem; with prune its entries go") {
  TempDir tmp;
  write_run(tmp.path() / "run", 1);
  Catalog catalog(":memory:");
  CHECK(Importer(catalog, {}).run({tmp.path() / "run"}).inserted == 1);
  fs::remove_all(tmp.path() / "run");
  ImportOptions prune;
  prune.prune = true;
  const auto s = Importer(catalog, prune).run({tmp.path() / "run"});
  CHECK(s.error_count() == 1);
  CHECK(s.problems[0].message == "does not exist");
  CHECK(s.pruned == 1);
  CHECK(catalog.list_checkpoints().empty());

  std::ofstream(tmp.path() / "notes.txt") << "a file\n";
  const auto file = Importer(catalog, {}).run({tmp.path() / "notes.txt"});
  REQUIRE(file.problems.size() == 1);
  CHECK(file.problems[0].message == "not a folder");
}

TEST_CASE("many checkpoints through a small queue") {
  TempDir tmp;
  write_run(tmp.path() / "run", 40);
  Catalog catalog(":memory:");
  ImportOptions options;
  options.jobs = 4;  // queue of 8 for 40 checkpoints
  std::atomic<uint64_t> calls{0};
  options.progress = [&](const ImportProgress&) { ++calls; };
  const auto s = Importer(catalog, options).run({tmp.path() / "run", tmp.path() / "run" / "7"});
  CHECK(s.discovered == 40);  // the second path adds nothing new
  CHECK(s.inserted == 40);
  CHECK(s.leaves == 80);
  CHECK(calls == 41);
}

TEST_CASE("verify: a changed checkpoint is reported only when asked to compare") {
  TempDir tmp;
  write_run(tmp.path() / "run", 1);
  Catalog catalog(":memory:");
  REQUIRE(Importer(catalog).run({tmp.path()}).error_count() == 0);
  // One more leaf on disk than in the catalog.
  CheckpointSpec grown = small_step();
  grown.items[0].leaves.push_back(LeafSpec::array({"b"}, "float32", {4}));
  fs::remove_all(tmp.path() / "run" / "0");
  write_checkpoint(tmp.path() / "run" / "0", grown);

  const auto leaf_added = [](const VerifyReport& report) {
    return std::count_if(report.findings.begin(), report.findings.end(), [](const VerifyFinding& f) {
      return f.kind == VerifyFinding::Kind::kLeafAdded;
    });
  };
  const VerifyReport compared = Verifier(catalog).run();
  CHECK(compared.checkpoints == 1);
  CHECK(leaf_added(compared) == 1);
  CHECK(compared.stores >= 1);

  VerifyOptions stores_only;
  stores_only.compare = false;
  const VerifyReport unread = Verifier(catalog, stores_only).run();
  CHECK(unread.checkpoints == 1);
  CHECK(leaf_added(unread) == 0);
  CHECK(unread.stores >= 1);

  VerifyOptions neither = stores_only;
  neither.stores = false;
  CHECK(Verifier(catalog, neither).run().stores == 0);
}
