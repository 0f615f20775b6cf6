// ckptcat-pg-bench: `ckptcat push` of a generated tree (1,000,000 leaves at full
// size) into a PostgreSQL server it starts itself (pg_server.h), against
// a bare COPY of the same leaf rows into a table shaped like `leaves`; the
// re-push (nothing to write); and leaf_metadata of one checkpoint and a full
// scan on PostgreSQL beside SQLite. Prints figures beside their targets.
//
//   ckptcat-pg-bench --ckptcat build/tools/ckptcat/ckptcat --gen build/tools/gen/ckptcat-gen
//   ckptcat-pg-bench ... --smoke          # a small tree, seconds
#include <SQLiteCpp/SQLiteCpp.h>
#include <sqlite3.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "child_process.h"
#include "connection.h"
#include "pg_server.h"
#include "shared_data.h"

using namespace ckptcat;
using namespace ckptcat::testing;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Runs `program args...` to completion, its output into files under `logs`;
// exits on failure (status above 1), with the program's stderr.
void run(const fs::path& logs, const std::string& program, const std::vector<std::string>& args) {
  static int runs = 0;
  ChildProcess child(program, args, logs / ("run" + std::to_string(runs++)));
  const int status = child.wait();
  if (status > 1) {
    std::cerr << "ckptcat-pg-bench: " << program << " " << args.at(0) << " failed (exit "
              << status << ")\n" << child.err();
    std::exit(1);
  }
}

// COPY of every `leaves` row of the SQLite catalog into bare_leaves, a table
// with the same columns and primary key: the floor a push is measured against.
uint64_t bare_copy(pg::Connection& pg, const fs::path& catalog) {
  pg.exec("CREATE TABLE bare_leaves (item_id bigint NOT NULL, ord integer NOT NULL, "
          "key_path_id bigint NOT NULL, spec_id bigint NOT NULL, stored_chunks bigint, "
          "stored_bytes bigint, PRIMARY KEY (item_id, ord))",
          "creating bare_leaves");
  SQLite::Database db(catalog.string(), SQLite::OPEN_READONLY);
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db.getHandle(),
                         "SELECT item_id, ord, key_path_id, spec_id, stored_chunks, stored_bytes "
                         "FROM leaves",
                         -1, &raw, nullptr) != SQLITE_OK) {
    std::cerr << "ckptcat-pg-bench: cannot read " << catalog << '\n';
    std::exit(1);
  }
  pg.exec("BEGIN", "begin");
  pg::Connection::Copy copy(pg, "COPY bare_leaves FROM STDIN", "copying leaves");
  while (sqlite3_step(raw) == SQLITE_ROW) {
    for (int i = 0; i < 6; ++i) {
      if (sqlite3_column_type(raw, i) == SQLITE_NULL) copy.null();
      else copy.field(reinterpret_cast<const char*>(sqlite3_column_text(raw, i)));
    }
    copy.end_row();
  }
  sqlite3_finalize(raw);
  const uint64_t rows = copy.finish();
  pg.exec("COMMIT", "commit");
  return rows;
}

double time_pg(pg::Connection& pg, const std::string& sql, uint64_t* rows) {
  const auto start = Clock::now();
  const pg::Result r = pg.exec(sql, "querying");
  *rows = static_cast<uint64_t>(r.rows());
  return seconds_since(start);
}

double time_sqlite(const fs::path& catalog, const std::string& sql, uint64_t* rows) {
  SQLite::Database db(catalog.string(), SQLite::OPEN_READONLY);
  const auto start = Clock::now();
  SQLite::Statement q(db, sql);
  *rows = 0;
  size_t bytes = 0;
  while (q.executeStep()) {
    ++*rows;
    for (int i = 0; i < q.getColumnCount(); ++i) bytes += q.getColumn(i).getBytes();
  }
  (void)bytes;
  return seconds_since(start);
}

std::string rate(uint64_t rows, double s) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.0f rows/s (%.2f s)", rows / s, s);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ckptcat push into PostgreSQL: throughput against a bare COPY, re-push, queries"};
  std::string ckptcat, gen, tree_arg;
  bool smoke = false;
  app.add_option("--ckptcat", ckptcat, "the ckptcat binary")->required();
  app.add_option("--gen", gen, "the ckptcat-gen binary (writes the tree)");
  app.add_option("--tree", tree_arg, "use this generated tree instead");
  app.add_flag("--smoke", smoke, "a small tree (seconds)");
  CLI11_PARSE(app, argc, argv);

  if (!fs::exists(pg_bin_dir() / "initdb")) {
    std::cerr << "SKIP: PostgreSQL server binaries not found in " << pg_bin_dir() << '\n';
    return 77;
  }
  TempDir tmp;
  fs::path tree = tree_arg;
  if (tree.empty()) {
    if (gen.empty()) {
      std::cerr << "ckptcat-pg-bench: give --gen or --tree\n";
      return 2;
    }
    tree = tmp.path() / "tree";
    std::cerr << "writing the tree...\n";
    if (smoke)
      run(tmp.path(), gen,
          {"--preset", "small", "--runs", "2", "--steps", "5", "--leaves", "200", "--quiet",
           tree.string()});
    else  // 3 runs (manager, multihost, export styles) x 333 steps: ~1,000,000 leaves.
      run(tmp.path(), gen,
          {"--preset", "bench", "--runs", "3", "--steps", "333", "--quiet", tree.string()});
  }
  const fs::path catalog = tmp.path() / "c.db";
  std::cerr << "importing...\n";
  run(tmp.path(), ckptcat, {"import", "--db", catalog.string(), tree.string()});
  uint64_t leaves = 0;
  std::string one_checkpoint;
  {
    SQLite::Database db(catalog.string(), SQLite::OPEN_READONLY);
    leaves = static_cast<uint64_t>(db.execAndGet("SELECT count(*) FROM leaves").getInt64());
    one_checkpoint = db.execAndGet(
        "SELECT directory FROM checkpoints ORDER BY leaf_count DESC, directory LIMIT 1").getString();
  }
  std::cerr << "starting PostgreSQL...\n";
  PgServer server(pg_bin_dir());
  const std::string floor_db = server.create_database();
  const std::string push_db = server.create_database();

  pg::Connection floor_pg(floor_db);
  auto start = Clock::now();
  const uint64_t copied = bare_copy(floor_pg, catalog);
  const double floor_s = seconds_since(start);

  start = Clock::now();
  run(tmp.path(), ckptcat, {"push", "--db", catalog.string(), "--to", push_db});
  const double push_s = seconds_since(start);
  start = Clock::now();
  run(tmp.path(), ckptcat, {"push", "--db", catalog.string(), "--to", push_db});
  const double repush_s = seconds_since(start);

  pg::Connection pg(push_db);
  pg.exec("ANALYZE", "analyze");
  const std::string one = "SELECT * FROM leaf_metadata WHERE checkpoint_dir = " +
                          pg.quote_literal(one_checkpoint);
  uint64_t one_rows_pg = 0, one_rows_sqlite = 0, all_rows_pg = 0, all_rows_sqlite = 0;
  const double one_pg = time_pg(pg, one, &one_rows_pg);
  const double one_sqlite = time_sqlite(catalog, one, &one_rows_sqlite);
  const double all_pg = time_pg(pg, "SELECT * FROM leaf_metadata", &all_rows_pg);
  const double all_sqlite = time_sqlite(catalog, "SELECT * FROM leaf_metadata", &all_rows_sqlite);

  char line[256];
  std::printf("| measure | figure | target |\n|---|---|---|\n");
  std::printf("| leaves in the catalog | %llu | |\n", static_cast<unsigned long long>(leaves));
  std::printf("| bare COPY of the leaf rows | %s | |\n", rate(copied, floor_s).c_str());
  std::printf("| push (first) | %s | |\n", rate(leaves, push_s).c_str());
  std::snprintf(line, sizeof line, "%.2fx", push_s / floor_s);
  std::printf("| push / bare COPY | %s | <= 3x |\n", line);
  std::snprintf(line, sizeof line, "%.3f s (%.1f%% of the first push)", repush_s,
                100 * repush_s / push_s);
  std::printf("| re-push (nothing to write) | %s | < 10%% |\n", line);
  std::snprintf(line, sizeof line, "%.1f ms PostgreSQL, %.1f ms SQLite (%llu rows)", 1000 * one_pg,
                1000 * one_sqlite, static_cast<unsigned long long>(one_rows_pg));
  std::printf("| leaf_metadata of one checkpoint | %s | |\n", line);
  std::snprintf(line, sizeof line, "%.2f s PostgreSQL, %.2f s SQLite (%llu rows)", all_pg,
                all_sqlite, static_cast<unsigned long long>(all_rows_pg));
  std::printf("| leaf_metadata, full scan | %s | |\n", line);
  if (one_rows_pg != one_rows_sqlite || all_rows_pg != all_rows_sqlite) {
    std::cerr << "ckptcat-pg-bench: row counts differ between the engines\n";
    return 1;
  }
  return 0;
}
