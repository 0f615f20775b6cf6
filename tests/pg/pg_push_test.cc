// ckptcat push into a real PostgreSQL server (pg_server.h): the five views on
// PostgreSQL equal, row for row and byte for byte (ids aside), those of one
// SQLite catalog that imported everything pushed; pushing again writes
// nothing; concurrent pushers give the union; a killed push leaves every
// checkpoint as before or after; newer schemas, bad connection strings and
// unreachable servers are refused with exit status 2.
#include <doctest/doctest.h>

#include <SQLiteCpp/SQLiteCpp.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <iterator>
#include <map>
#include <set>
#include <memory>
#include <thread>

#include "child_process.h"
#include "ckptcat/pull.h"
#include "connection.h"
#include "orbax_writer.h"
#include "pg_schema.h"
#include "pg_server.h"
#include "shared_case.h"
#include "shared_data.h"
#include "tool_runner.h"

using namespace ckptcat;
using namespace ckptcat::testing;
namespace fs = std::filesystem;

namespace {

constexpr const char* kViews[] = {"leaf_metadata", "checkpoint_summary", "mesh_usage",
                                  "sharding_strings", "import_errors"};

// A run of training steps: sharded params (meshes shared across runs, and a
// 4,096-device mesh in `big_mesh` runs), scalars, strings, an empty
// container, a leaf with its zarr metadata missing (a leaf error) and a
// _sharding entry that is not a sharding (kept raw).
CheckpointSpec make_step(int variant, bool big_mesh) {
  CheckpointSpec step;
  ItemSpec& params = step.items.emplace_back(ItemSpec::pytree("params"));
  params.leaves.push_back(
      LeafSpec::array({"dense", "kernel"}, "float32", {512, 256 + 64 * variant})
          .with_sharding(named_sharding({2, 4}, {"data", "model"}, {"data", "model"}))
          .with_write_shape({256, 64}));
  params.leaves.push_back(
      LeafSpec::array({"dense", "bias"}, "bfloat16", {256})
          .with_sharding(named_sharding({2, 4}, {"data", "model"}, {std::monostate{}})));
  params.leaves.push_back(LeafSpec::array({"embed"}, "float32", {64, 8}));  // single device
  if (big_mesh)
    params.leaves.push_back(
        LeafSpec::array({"wide"}, "float32", {4096, 16})
            .with_sharding(named_sharding({16, 256}, {"replica", "fsdp"},
                                          {std::vector<std::string>{"replica", "fsdp"}})));
  LeafSpec broken = LeafSpec::array({"broken"}, "float32", {3});
  broken.write_zarr_metadata = false;
  params.leaves.push_back(broken);
  LeafSpec odd = LeafSpec::array({"odd"}, "int32", {2});
  odd.raw_sharding = R"({"sharding_type": "Unknown\tkind", "x": "\\n"})";
  params.leaves.push_back(odd);
  params.leaves.push_back(LeafSpec::scalar({"step"}, "int64"));
  params.leaves.push_back(LeafSpec::string({"name"}, "run\twith\ttabs\nand lines"));
  params.leaves.push_back(LeafSpec::empty({"opt", "state"}, "Dict"));
  step.items.push_back(ItemSpec::json("config", R"({"lr": 0.1, "note": "caf\u00e9"})"));
  return step;
}

void write_run(const fs::path& root, const std::vector<int64_t>& steps, int variant,
               bool big_mesh) {
  for (int64_t s : steps) write_checkpoint(root / step_folder_name(s), make_step(variant, big_mesh));
}

void import(const fs::path& db, const std::vector<fs::path>& paths, bool force = false) {
  std::vector<std::string> args{"import", "--db", db.string()};
  if (force) args.push_back("--force");
  for (const auto& p : paths) args.push_back(p.string());
  const ToolResult r = run_tool(args);
  INFO(r.err);
  REQUIRE(r.exit_code <= 1);  // 1: the trees hold leaves in error on purpose
}

ToolResult push(const fs::path& db, const std::string& to,
                std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"push", "--db", db.string(), "--to", to};
  args.insert(args.end(), extra.begin(), extra.end());
  return run_tool(args);
}

// The columns of a view other than ids (which belong to each database).
std::vector<std::string> natural_columns(SQLite::Database& db, const std::string& view) {
  SQLite::Statement q(db, "SELECT * FROM " + view + " LIMIT 0");
  std::vector<std::string> out;
  for (int i = 0; i < q.getColumnCount(); ++i) {
    std::string name = q.getColumnName(i);
    if (!name.ends_with("_id")) out.push_back(name);
  }
  return out;
}

std::string select_sql(const std::vector<std::string>& columns, const std::string& view) {
  std::string sql = "SELECT ";
  for (size_t i = 0; i < columns.size(); ++i) sql += (i ? ", " : "") + columns[i];
  return sql + " FROM " + view;
}

// Rows as "col<TAB>col..." ("\N" for NULL); a multiset, sorted.
using Rows = std::multiset<std::string>;

std::string row_text(int columns, const std::function<bool(int)>& is_null,
                     const std::function<std::string(int)>& text) {
  std::string row;
  for (int i = 0; i < columns; ++i) {
    if (i) row += '\t';
    row += is_null(i) ? std::string("\\N") : text(i);
  }
  return row;
}

Rows sqlite_rows(const fs::path& file, const std::string& view, const std::string& where = "") {
  SQLite::Database db(file.string(), SQLite::OPEN_READONLY);
  const auto columns = natural_columns(db, view);
  SQLite::Statement q(db, select_sql(columns, view) + where);
  Rows rows;
  while (q.executeStep())
    rows.insert(row_text(
        q.getColumnCount(), [&](int i) { return q.isColumnNull(i); },
        [&](int i) { return q.getColumn(i).getString(); }));
  return rows;
}

Rows pg_rows(const std::string& conninfo, const fs::path& sqlite_file, const std::string& view,
             const std::string& where = "") {
  SQLite::Database db(sqlite_file.string(), SQLite::OPEN_READONLY);
  const auto columns = natural_columns(db, view);
  pg::Connection pg(conninfo);
  const pg::Result r = pg.exec(select_sql(columns, view) + where, "reading a view");
  Rows rows;
  for (int row = 0; row < r.rows(); ++row)
    rows.insert(row_text(
        r.columns(), [&](int i) { return r.is_null(row, i); },
        [&](int i) { return std::string(r.text(row, i)); }));
  return rows;
}

// Every view: the same column names on both engines, the same rows.
void check_views_equal(const std::string& conninfo, const fs::path& sqlite_file) {
  pg::Connection pg(conninfo);
  SQLite::Database db(sqlite_file.string(), SQLite::OPEN_READONLY);
  for (const char* view : kViews) {
    CAPTURE(view);
    std::vector<std::string> sqlite_columns;
    {
      SQLite::Statement q(db, std::string("SELECT * FROM ") + view + " LIMIT 0");
      for (int i = 0; i < q.getColumnCount(); ++i) sqlite_columns.push_back(q.getColumnName(i));
    }
    const pg::Result c = pg.exec(
        std::string("SELECT column_name FROM information_schema.columns WHERE table_name = '") +
            view + "' ORDER BY ordinal_position",
        "reading view columns");
    std::vector<std::string> pg_columns;
    for (int i = 0; i < c.rows(); ++i) pg_columns.emplace_back(c.text(i, 0));
    CHECK(pg_columns == sqlite_columns);
    const Rows expected = sqlite_rows(sqlite_file, view);
    const Rows got = pg_rows(conninfo, sqlite_file, view);
    CHECK(got.size() == expected.size());
    if (got != expected) {
      std::vector<std::string> only_pg, only_sqlite;
      std::set_difference(got.begin(), got.end(), expected.begin(), expected.end(),
                          std::back_inserter(only_pg));
      std::set_difference(expected.begin(), expected.end(), got.begin(), got.end(),
                          std::back_inserter(only_sqlite));
      FAIL_CHECK("rows differ; first only on PostgreSQL: "
                 << (only_pg.empty() ? "-" : only_pg[0])
                 << "\nfirst only in SQLite: " << (only_sqlite.empty() ? "-" : only_sqlite[0]));
    }
  }
}

// Everything stored, with each row's xmin (changed by any rewrite) and the
// identity sequences (advanced by any insert, even one that conflicted).
std::string database_state(const std::string& conninfo) {
  pg::Connection pg(conninfo);
  const pg::Result tables = pg.exec(
      "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename",
      "listing tables");
  std::string state;
  for (int i = 0; i < tables.rows(); ++i) {
    const std::string t(tables.text(i, 0));
    const pg::Result r = pg.exec("SELECT count(*), md5(coalesce(string_agg(x::text || ':' || "
                                 "x.xmin::text, ',' ORDER BY x::text), '')) FROM " + t + " x",
                                 "hashing a table");
    state += t + " " + std::string(r.text(0, 0)) + " " + std::string(r.text(0, 1)) + "\n";
  }
  const pg::Result s = pg.exec(
      "SELECT sequencename, coalesce(last_value, 0) FROM pg_sequences ORDER BY 1", "sequences");
  for (int i = 0; i < s.rows(); ++i)
    state += std::string(s.text(i, 0)) + " " + std::string(s.text(i, 1)) + "\n";
  return state;
}

std::string last_line(const std::string& text) {
  const auto lines = lines_of(text);
  return lines.empty() ? "" : lines.back();
}

}  // namespace

TEST_CASE("two catalogs pushed give the views of one catalog that imported both") {
  CKPTCAT_PG_SERVER_OR_SKIP(server);
  TempDir tmp;
  write_run(tmp.path() / "runA", {0, 100, 200}, 0, false);
  write_run(tmp.path() / "runB", {0, 100}, 1, true);
  write_checkpoint(tmp.path() / "runB" / step_folder_name(300), make_step(0, false));
  const fs::path a = tmp.path() / "a.db", b = tmp.path() / "b.db", both = tmp.path() / "both.db";
  import(a, {tmp.path() / "runA"});
  import(b, {tmp.path() / "runB"});
  import(both, {tmp.path() / "runA", tmp.path() / "runB"});
  const std::string db = server->create_database();

  const ToolResult first = push(a, db);
  INFO(first.err);
  CHECK(first.exit_code == 0);
  CHECK(last_line(first.err).starts_with("pushed 3 checkpoints (3 new, 0 replaced, 0 unchanged)"));
  const ToolResult second = push(b, db);
  INFO(second.err);
  CHECK(second.exit_code == 0);
  CHECK(last_line(second.err).starts_with("pushed 3 checkpoints (3 new, 0 replaced, 0 unchanged)"));
  check_views_equal(db, both);
  // The shared rows exist once: one 4,096-device mesh, one 2x4 mesh.
  pg::Connection pg(db);
  CHECK(pg.exec("SELECT count(*) FROM meshes", "").int64(0, 0) == 2);
  CHECK(pg.exec("SELECT count(*) FROM mesh_devices", "").int64(0, 0) == 4096 + 8);
  // Each sharding's string once, for every sharding a leaf names.
  CHECK(pg.exec("SELECT count(*) FROM sharding_texts", "").int64(0, 0) ==
        pg.exec("SELECT count(DISTINCT sharding_id) FROM leaf_specs", "").int64(0, 0));

  // What the read commands see (--db postgresql://): a pulled copy whose
  // views are those of the catalog that imported both, and that verifies.
  const fs::path pulled_file = tmp.path() / "pulled.db";
  {
    Catalog pulled(pulled_file.string());
    pull(db, pulled);
    CHECK(pulled.verify().empty());
  }
  for (const char* view : kViews) {
    CAPTURE(view);
    CHECK(sqlite_rows(pulled_file, view) == sqlite_rows(both, view));
  }
}

TEST_CASE("a version 2 database gains sharding_texts through migration 3") {
  CKPTCAT_PG_SERVER_OR_SKIP(server);
  TempDir tmp;
  const fs::path run = tmp.path() / "run", catalog = tmp.path() / "c.db";
  write_run(run, {0, 100}, 0, true);
  import(catalog, {run});
  const std::string db = server->create_database();
  REQUIRE(push(catalog, db).exit_code == 0);
  {
    // Back to what version 2 wrote: no sharding_texts (leaf_metadata, which
    // joins it, goes with it; sharding_strings stays).
    pg::Connection pg(db);
    pg.exec("DROP TABLE sharding_texts CASCADE; UPDATE ckptcat_schema SET version = 2", "");
  }
  const ToolResult again = push(catalog, db);
  INFO(again.err);
  CHECK(again.exit_code == 0);
  CHECK(last_line(again.err).starts_with("pushed 2 checkpoints (0 new, 0 replaced, 2 unchanged)"));
  pg::Connection pg(db);
  CHECK(pg.exec("SELECT version FROM ckptcat_schema", "").int64(0, 0) ==
        pg::latest_schema_version());
  CHECK(pg.exec("SELECT count(*) FROM sharding_texts", "").int64(0, 0) ==
        pg.exec("SELECT count(DISTINCT sharding_id) FROM leaf_specs", "").int64(0, 0));
  check_views_equal(db, catalog);
}

SHARED_TEST_CASE("the corpus pushed from two catalogs gives the views of one that imported it all") {
  CKPTCAT_PG_SERVER_OR_SKIP(server);
  const fs::path corpus = shared_data_dir() / "corpus";
  std::vector<fs::path> first, second;
  int i = 0;
  for (const auto& entry : fs::directory_iterator(corpus))
    if (entry.is_directory() && entry.path().filename() != "LICENSES")
      (i++ % 2 ? second : first).push_back(entry.path());
  std::sort(first.begin(), first.end());
  std::sort(second.begin(), second.end());
  TempDir tmp;
  const fs::path a = tmp.path() / "a.db", b = tmp.path() / "b.db", all = tmp.path() / "all.db";
  import(a, first);
  import(b, second);
  std::vector<fs::path> every = first;
  every.insert(every.end(), second.begin(), second.end());
  import(all, every);
  const std::string db = server->create_database();
  for (const auto& catalog : {a, b}) {
    const ToolResult r = push(catalog, db);
    INFO(r.err);
    CHECK(r.exit_code == 0);
  }
  check_views_equal(db, all);
}

TEST_CASE("pushing again writes nothing; a changed checkpoint is replaced whole") {
  CKPTCAT_PG_SERVER_OR_SKIP(server);
  TempDir tmp;
  const fs::path run = tmp.path() / "run", catalog = tmp.path() / "c.db";
  write_run(run, {0, 100, 200}, 0, false);
  import(catalog, {run});
  const std::string db = server->create_database();
  REQUIRE(push(catalog, db).exit_code == 0);
  const std::string before = database_state(db);

  const ToolResult again = push(catalog, db);
  CHECK(again.exit_code == 0);
  CHECK(last_line(again.err).starts_with("pushed 3 checkpoints (0 new, 0 replaced, 3 unchanged), 0 leaves"));
  CHECK(database_state(db) == before);

  // Step 100 rewritten with another model: re-imported, pushed, replaced.
  fs::remove_all(run / step_folder_name(100));
  write_checkpoint(run / step_folder_name(100), make_step(2, true));
  import(catalog, {run});
  const ToolResult changed = push(catalog, db);
  INFO(changed.err);
  CHECK(changed.exit_code == 0);
  CHECK(last_line(changed.err).starts_with("pushed 3 checkpoints (0 new, 1 replaced, 2 unchanged)"));
  check_views_equal(db, catalog);
  // --force replaces all, and the views stay the same.
  const ToolResult forced = push(catalog, db, {"--force"});
  CHECK(last_line(forced.err).starts_with("pushed 3 checkpoints (0 new, 3 replaced, 0 unchanged)"));
  check_views_equal(db, catalog);
}

TEST_CASE("four pushers at once, of the same and different checkpoints, give the union") {
  CKPTCAT_PG_SERVER_OR_SKIP(server);
  TempDir tmp;
  // Catalog k holds run k (its own) and the shared run, so pushers overlap.
  write_run(tmp.path() / "shared", {0, 100, 200, 300}, 0, true);
  std::vector<fs::path> catalogs;
  std::vector<fs::path> everything{tmp.path() / "shared"};
  for (int k = 0; k < 4; ++k) {
    const fs::path run = tmp.path() / ("run" + std::to_string(k));
    write_run(run, {0, 100, 200}, k % 3, k == 1);
    catalogs.push_back(tmp.path() / ("c" + std::to_string(k) + ".db"));
    import(catalogs.back(), {tmp.path() / "shared", run});
    everything.push_back(run);
  }
  const fs::path all = tmp.path() / "all.db";
  import(all, everything);
  const std::string db = server->create_database();
  std::vector<std::unique_ptr<ToolProcess>> pushers;
  for (const auto& c : catalogs)
    pushers.push_back(std::make_unique<ToolProcess>(std::vector<std::string>{
        "push", "--db", c.string(), "--to", db, "--batch-leaves", "12"}));
  for (auto& p : pushers) {
    const ToolResult r = p->finish();
    INFO(r.err);
    CHECK(r.exit_code == 0);
  }
  check_views_equal(db, all);
}

TEST_CASE("a push killed by SIGKILL leaves every checkpoint as before or after") {
  CKPTCAT_PG_SERVER_OR_SKIP(server);
  TempDir tmp;
  const fs::path run = tmp.path() / "run", before = tmp.path() / "before.db",
                 after = tmp.path() / "after.db";
  std::vector<int64_t> steps;
  for (int64_t s = 0; s < 40; ++s) steps.push_back(s * 10);
  write_run(run, steps, 0, false);
  import(before, {run});
  const std::string db = server->create_database();
  REQUIRE(push(before, db).exit_code == 0);
  // Every step rewritten: the new push replaces each checkpoint.
  fs::remove_all(run);
  write_run(run, steps, 1, false);
  import(after, {run});

  // A checkpoint's rows in a view, by directory.
  auto by_checkpoint = [](const Rows& rows) {
    std::map<std::string, Rows> out;
    for (const auto& row : rows) out[row.substr(0, row.find('\t'))].insert(row);
    return out;
  };
  std::map<std::string, std::map<std::string, Rows>> old_rows, new_rows;
  for (const char* view : {"leaf_metadata", "checkpoint_summary", "import_errors"}) {
    old_rows[view] = by_checkpoint(sqlite_rows(before, view));
    new_rows[view] = by_checkpoint(sqlite_rows(after, view));
  }

  bool killed_midway = false;
  for (int delay_ms : {30, 80, 150, 250, 400}) {
    ChildProcess pusher(ckptcat_binary(),
                        {"push", "--db", after.string(), "--to", db, "--batch-leaves", "10"},
                        tmp.path() / "push");
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    pusher.kill(SIGKILL);
    const int status = pusher.wait();
    if (status == 128 + SIGKILL) killed_midway = true;
    for (const char* view : {"leaf_metadata", "checkpoint_summary", "import_errors"}) {
      CAPTURE(view);
      const auto now = by_checkpoint(pg_rows(db, after, view));
      for (const auto& [dir, rows] : old_rows["checkpoint_summary"]) {
        const auto& dir_value = dir;  // clang 14: a structured binding cannot be captured
        CAPTURE(dir_value);
        const auto it = now.find(dir);
        const Rows got = it == now.end() ? Rows{} : it->second;
        const Rows was = old_rows[view].count(dir) ? old_rows[view][dir] : Rows{};
        const Rows will = new_rows[view].count(dir) ? new_rows[view][dir] : Rows{};
        CHECK((got == was || got == will));
      }
    }
    // Sessions of the killed client end with its socket; let the server notice.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    // Start over from the old state for the next delay.
    REQUIRE(push(before, db, {"--force"}).exit_code == 0);
  }
  CHECK(killed_midway);
  REQUIRE(push(after, db).exit_code == 0);
  check_views_equal(db, after);
}

TEST_CASE("catalogs and databases of a newer schema are refused with exit 2") {
  CKPTCAT_PG_SERVER_OR_SKIP(server);
  TempDir tmp;
  const fs::path run = tmp.path() / "run", catalog = tmp.path() / "c.db";
  write_run(run, {0}, 0, false);
  import(catalog, {run});
  const std::string db = server->create_database();
  REQUIRE(push(catalog, db).exit_code == 0);

  {
    pg::Connection pg(db);
    pg.exec("UPDATE ckptcat_schema SET version = 999", "");
  }
  const ToolResult newer_db = push(catalog, db);
  CHECK(newer_db.exit_code == 2);
  CHECK(newer_db.err.find("catalog schema version 999 is newer than this ckptcat supports") !=
        std::string::npos);

  const fs::path newer = tmp.path() / "newer.db";
  fs::copy_file(catalog, newer);
  {
    SQLite::Database sqlite(newer.string(), SQLite::OPEN_READWRITE);
    sqlite.exec("PRAGMA user_version = 999");
  }
  const ToolResult newer_catalog = push(newer, server->create_database());
  CHECK(newer_catalog.exit_code == 2);
  CHECK(newer_catalog.err.find("newer") != std::string::npos);

  // A database with other tables is not taken over.
  const std::string other = server->create_database();
  {
    pg::Connection pg(other);
    pg.exec("CREATE TABLE payroll (id integer)", "");
  }
  const ToolResult foreign = push(catalog, other);
  CHECK(foreign.exit_code == 2);
  CHECK(foreign.err.find("not a ckptcat catalog") != std::string::npos);
}

TEST_CASE("bad connection strings and unreachable servers: a clear error and exit 2") {
  TempDir tmp;
  const fs::path run = tmp.path() / "run", catalog = tmp.path() / "c.db";
  write_run(run, {0}, 0, false);
  import(catalog, {run});

  const ToolResult garbage = push(catalog, "this is not a connection string");
  CHECK(garbage.exit_code == 2);
  CHECK(garbage.err.find("invalid PostgreSQL connection string") != std::string::npos);

  const ToolResult unknown_option = push(catalog, "host=/tmp colour=blue");
  CHECK(unknown_option.exit_code == 2);
  CHECK(unknown_option.err.find("colour") != std::string::npos);

  const ToolResult nowhere = push(catalog, "host=/nonexistent-ckptcat-socket dbname=x user=u");
  CHECK(nowhere.exit_code == 2);
  CHECK(nowhere.err.find("cannot connect") != std::string::npos);
  CHECK(nowhere.err.find("/nonexistent-ckptcat-socket") != std::string::npos);

  const ToolResult secret =
      push(catalog, "postgresql://alice:s3cret-pw@127.0.0.1:1/fleet?connect_timeout=5");
  CHECK(secret.exit_code == 2);
  CHECK(secret.err.find("cannot connect") != std::string::npos);
  CHECK(secret.err.find("s3cret-pw") == std::string::npos);
  CHECK(secret.err.find("fleet") != std::string::npos);

  CKPTCAT_PG_SERVER_OR_SKIP(server);
  const ToolResult no_database = push(catalog, server->conninfo("no_such_database"));
  CHECK(no_database.exit_code == 2);
  CHECK(no_database.err.find("\"no_such_database\" does not exist") != std::string::npos);
}
