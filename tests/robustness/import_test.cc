// Crash safety and concurrency of `ckptcat import` on a generated tree of a
// few hundred checkpoints (tools/gen):
//  - SIGKILL at random moments: the catalog always passes integrity_check and
//    holds only whole checkpoints; a final import gives exactly the content of
//    a clean import (same `ckptcat export` output);
//  - readers querying during an import only ever see whole checkpoints (WAL
//    snapshots);
//  - two importers on one catalog both finish, without "database is locked".
#include <doctest/doctest.h>
#include <signal.h>
#include <unistd.h>

#include <SQLiteCpp/SQLiteCpp.h>

#include <chrono>
#include <map>
#include <thread>

#include "child_process.h"
#include "damage.h"
#include "generator.h"
#include "shared_data.h"

namespace fs = std::filesystem;
using ckptcat::testing::ChildProcess;
using ckptcat::testing::ckptcat_binary;
using ckptcat::testing::run_ckptcat;
using Clock = std::chrono::steady_clock;

namespace {

// What a clean import of the tree gives: leaves per checkpoint directory and
// the export text; built once per program.
struct CleanImport {
  ckptcat::testing::TempDir dir;
  fs::path tree;
  std::map<std::string, int64_t> leaves;  // directory -> leaf count
  std::string exported;
  double seconds = 0;
};

// directory -> (stored leaf_count, leaves actually present), read in one
// statement so it is one snapshot of the catalog.
std::map<std::string, std::pair<int64_t, int64_t>> leaf_counts(SQLite::Database& db) {
  std::map<std::string, std::pair<int64_t, int64_t>> out;
  SQLite::Statement q(db,
                      "SELECT c.directory, c.leaf_count, "
                      "(SELECT count(*) FROM leaves l JOIN items i ON l.item_id = i.id "
                      " WHERE i.checkpoint_id = c.id) FROM checkpoints c");
  while (q.executeStep())
    out[q.getColumn(0).getString()] = {q.getColumn(1).getInt64(), q.getColumn(2).getInt64()};
  return out;
}

std::string integrity(SQLite::Database& db) {
  return db.execAndGet("PRAGMA integrity_check").getString();
}

const CleanImport& clean_import() {
  static CleanImport* clean = [] {
    auto* c = new CleanImport;
    c->tree = c->dir.path() / "tree";
    ckptcat::gen::Options options;
    options.runs = 4;
    options.steps = 60;  // 240 checkpoints
    options.leaves = 24;
    options.jobs = 2;
    ckptcat::gen::write_tree(ckptcat::gen::plan_tree(options), c->tree);
    const fs::path db = c->dir.path() / "clean.db";
    const auto start = Clock::now();
    std::string err;
    const int status = run_ckptcat({"import", "--db", db.string(), c->tree.string()}, nullptr, &err);
    c->seconds = std::chrono::duration<double>(Clock::now() - start).count();
    if (status != 0) {
      std::fprintf(stderr, "clean import failed (%d): %s\n", status, err.c_str());
      std::exit(1);
    }
    SQLite::Database catalog(db.string(), SQLite::OPEN_READONLY);
    for (const auto& [directory, counts] : leaf_counts(catalog)) c->leaves[directory] = counts.second;
    run_ckptcat({"export", "--db", db.string()}, &c->exported);
    return c;
  }();
  return *clean;
}

// Every checkpoint the catalog holds is whole: both its stored leaf_count and
// its leaf rows equal the clean import's count.
void check_whole_checkpoints(SQLite::Database& db, const CleanImport& clean, const std::string& when) {
  CHECK_MESSAGE(integrity(db) == "ok", when);
  for (const auto& entry : leaf_counts(db)) {  // no structured binding: captured by CHECKs (clang 14)
    const std::string& directory = entry.first;
    const auto& counts = entry.second;
    const auto expected = clean.leaves.find(directory);
    REQUIRE_MESSAGE(expected != clean.leaves.end(), when << ": unknown checkpoint " << directory);
    CHECK_MESSAGE(counts.first == expected->second, when << ": " << directory << " leaf_count");
    CHECK_MESSAGE(counts.second == expected->second, when << ": " << directory << " leaf rows");
  }
}

}  // namespace

TEST_CASE("SIGKILL at random moments of an import leaves only whole checkpoints") {
  const CleanImport& clean = clean_import();
  REQUIRE(clean.leaves.size() >= 200);
  ckptcat::testing::TempDir tmp;
  const fs::path db = tmp.path() / "killed.db";
  ckptcat::testing::SeededRandom random(20261128);
  const auto span_us = static_cast<uint64_t>(clean.seconds * 1.1e6) + 1;

  int kills = 0, completed = 0;
  for (int attempt = 0; kills < 24 && attempt < 120; ++attempt) {
    // Mostly --force, so every run rewrites (replaces) checkpoints and a kill
    // lands inside a write whatever was stored before.
    std::vector<std::string> args = {"import", "--db", db.string(), clean.tree.string()};
    if (attempt % 4 != 0) args.push_back("--force");
    const auto delay = std::chrono::microseconds(random.below(span_us));
    ChildProcess child(ckptcat_binary(), args, tmp.path() / "import");
    std::this_thread::sleep_for(delay);
    if (!child.poll()) {
      child.kill(SIGKILL);
      // The import may still finish between poll() and kill(): then it exits 0.
      const int status = child.wait();
      CHECK_MESSAGE((status == 128 + SIGKILL || status == 0), child.err());
      ++(status == 0 ? completed : kills);
    } else {
      CHECK_MESSAGE(*child.poll() == 0, child.err());
      ++completed;
    }
    // A kill before the catalog's first commit leaves no file, or one without
    // tables: both hold no checkpoint, which is whole by definition.
    if (!fs::exists(db)) continue;
    SQLite::Database catalog(db.string(), SQLite::OPEN_READONLY);
    if (!catalog.tableExists("checkpoints")) {
      CHECK(catalog.execAndGet("SELECT count(*) FROM sqlite_schema").getInt64() == 0);
      continue;
    }
    check_whole_checkpoints(catalog, clean, "after kill " + std::to_string(kills));
  }
  CHECK(kills >= 20);
  MESSAGE("SIGKILL: ", kills, " kills survived (", completed,
          " imports finished before their kill time); clean import took ", clean.seconds, " s");

  std::string err;
  REQUIRE_MESSAGE(run_ckptcat({"import", "--db", db.string(), clean.tree.string()}, nullptr, &err) == 0,
                  err);
  std::string exported;
  REQUIRE(run_ckptcat({"export", "--db", db.string()}, &exported) == 0);
  CHECK(exported == clean.exported);
  SQLite::Database catalog(db.string(), SQLite::OPEN_READONLY);
  CHECK(leaf_counts(catalog).size() == clean.leaves.size());
}

TEST_CASE("readers during an import see whole checkpoints only") {
  const CleanImport& clean = clean_import();
  ckptcat::testing::TempDir tmp;
  const fs::path db = tmp.path() / "catalog.db";
  ChildProcess child(ckptcat_binary(), {"import", "--db", db.string(), clean.tree.string()},
                     tmp.path() / "import");
  int snapshots = 0, partial = 0;
  while (!child.poll()) {
    try {
      SQLite::Database catalog(db.string(), SQLite::OPEN_READONLY);
      catalog.setBusyTimeout(10000);
      const auto counts = leaf_counts(catalog);
      ++snapshots;
      if (!counts.empty() && counts.size() < clean.leaves.size()) ++partial;
      for (const auto& entry : counts) {
        const std::string& directory = entry.first;
        const auto& c = entry.second;
        const auto expected = clean.leaves.find(directory);
        REQUIRE_MESSAGE(expected != clean.leaves.end(), directory);
        CHECK_MESSAGE(c.first == expected->second, directory);
        CHECK_MESSAGE(c.second == expected->second, directory);
      }
    } catch (const SQLite::Exception& e) {
      // Before the importer created the file and its schema there is nothing to read.
      const std::string what = e.what();
      CHECK_MESSAGE((what.find("no such table") != std::string::npos ||
                     what.find("unable to open") != std::string::npos ||
                     what.find("not a database") != std::string::npos),
                    what);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  CHECK_MESSAGE(child.wait() == 0, child.err());
  MESSAGE("readers: ", snapshots, " snapshots during the import, ", partial,
          " of them mid-import; none showed a partial checkpoint");
  CHECK(partial > 0);
}

TEST_CASE("two importers on one catalog both finish") {
  const CleanImport& clean = clean_import();
  ckptcat::testing::TempDir tmp;
  const fs::path db = tmp.path() / "catalog.db";
  // Create the catalog first, so both start from the same schema; then one
  // imports the whole tree while the other force-imports it again.
  {
    ChildProcess first(ckptcat_binary(), {"import", "--db", db.string(), clean.tree.string()},
                       tmp.path() / "first");
    ChildProcess second(ckptcat_binary(),
                        {"import", "--db", db.string(), "--force", clean.tree.string()},
                        tmp.path() / "second");
    CHECK_MESSAGE(first.wait() == 0, first.err());
    CHECK_MESSAGE(second.wait() == 0, second.err());
    CHECK(first.err().find("locked") == std::string::npos);
    CHECK(second.err().find("locked") == std::string::npos);
    CHECK(first.err().find("busy") == std::string::npos);
    CHECK(second.err().find("busy") == std::string::npos);
  }
  std::string exported;
  REQUIRE(run_ckptcat({"export", "--db", db.string()}, &exported) == 0);
  CHECK(exported == clean.exported);
  SQLite::Database catalog(db.string(), SQLite::OPEN_READONLY);
  CHECK(integrity(catalog) == "ok");
  check_whole_checkpoints(catalog, clean, "after two importers");
}
