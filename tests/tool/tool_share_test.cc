// Catalogs that others read, through the built ckptcat binary: every read
// command on a catalog in a folder the reader cannot write, `publish`, stock
// sqlite3 on the published copy, and writing commands refused with exit 2.
#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>

#include "orbax_writer.h"
#include "read_only_folder.h"
#include "shared_data.h"
#include "tool_runner.h"

using namespace ckptcat;
using namespace ckptcat::testing;
namespace fs = std::filesystem;

namespace {

constexpr const char* kImmutableNote = "reading the catalog as immutable";

// Two steps that differ (so `diff` has something to say): sharded params and a scalar.
void write_run(const fs::path& root) {
  for (int step : {1, 2}) {
    CheckpointSpec spec;
    ItemSpec& params = spec.items.emplace_back(ItemSpec::pytree("params"));
    params.leaves.push_back(
        LeafSpec::array({"dense", "kernel"}, "float32", step == 1 ? Shape{64, 32} : Shape{128, 32})
            .with_sharding(named_sharding({2, 4}, {"data", "model"}, {"data", "model"})));
    params.leaves.push_back(LeafSpec::array({"dense", "bias"}, "bfloat16", {32}));
    params.leaves.push_back(LeafSpec::scalar({"step"}, "int64"));
    write_checkpoint(root / std::to_string(step), spec);
  }
}

// `tmp` made enterable by an unprivileged reader, with a `share` folder in it.
fs::path make_share(const TempDir& tmp) {
  fs::permissions(tmp.path(), fs::perms::others_read | fs::perms::others_exec |
                                  fs::perms::group_read | fs::perms::group_exec,
                  fs::perm_options::add);
  fs::create_directory(tmp.path() / "share");
  return tmp.path() / "share";
}

size_t count_of(const std::string& text, const std::string& part) {
  size_t n = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

// `ckptcat args...` as the reader.
ProgramResult run_as_reader(const ReadOnlyFolder& folder, std::vector<std::string> args) {
  args.insert(args.begin(), ReadOnlyFolder::runnable_copy(std::getenv("CKPTCAT_BIN")));
  return folder.run_program(args);
}

// The sqlite3 shell on $PATH, or "" (the test then skips what needs it, saying so).
std::string sqlite3_shell() {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  for (size_t start = 0; start <= dirs.size();) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    const fs::path candidate = fs::path(dirs.substr(start, end - start)) / "sqlite3";
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
    start = end + 1;
  }
  return "";
}

// Rows in any order: a copy need not list a view's rows in the same order.
std::vector<std::string> sorted_lines(const std::string& text) {
  auto lines = lines_of(text);
  std::sort(lines.begin(), lines.end());
  return lines;
}

// The read commands of the tool, on `db`, for a run whose steps are in `run`.
std::map<std::string, std::vector<std::string>> read_commands(const std::string& db,
                                                              const fs::path& run) {
  const std::string a = (run / "1").string(), b = (run / "2").string();
  return {
      {"ls", {"ls", "--db", db}},
      {"ls --json", {"ls", "--db", db, "--json"}},
      {"show", {"show", "--db", db, b + "/params"}},
      {"find", {"find", "--db", db, "--mesh-axis", "model"}},
      {"diff", {"diff", "--db", db, a, b}},
      {"export", {"export", "--db", db}},
      {"verify", {"verify", "--db", db, run.string()}},
  };
}

}  // namespace

TEST_CASE("every read command works on a catalog in a folder the reader cannot write") {
  TempDir tmp;
  const fs::path share = make_share(tmp);
  const fs::path run = tmp.path() / "run";
  write_run(run);
  const std::string db = (share / "ckptcat.db").string();
  REQUIRE(run_tool({"import", "--db", db, run.string()}).exit_code == 0);
  // What the commands print where the catalog is writable.
  std::map<std::string, ToolResult> expected;
  for (const auto& [command, args] : read_commands(db, run)) {
    const std::string& name = command;  // clang 14: a structured binding cannot be captured
    expected[name] = run_tool(args);
    REQUIRE_MESSAGE(expected[name].exit_code == 0, name, expected[name].err);
  }
  // The read-only connections above left their -shm (and an empty -wal): remove
  // them, as copying only the catalog file to a share would.
  REQUIRE((!fs::exists(db + "-wal") || fs::file_size(db + "-wal") == 0));
  fs::remove(db + "-wal");
  fs::remove(db + "-shm");

  ReadOnlyFolder folder(share);
  if (folder.skip_cases()) return;
  const std::string shell = sqlite3_shell();
  if (shell.empty()) {
    MESSAGE("skipped the sqlite3 part: no sqlite3 shell on $PATH (tools/bootstrap installs it)");
  } else {
    // The failure the fallback is for, and the immutable form the README shows.
    const auto plain = folder.run_program({shell, "-readonly", db, "SELECT count(*) FROM leaf_metadata"});
    CHECK(plain.exit_code != 0);
    CHECK_MESSAGE(plain.err.find("readonly database") != std::string::npos, plain.err);
    const auto immutable = folder.run_program(
        {shell, "file:" + db + "?immutable=1", "SELECT count(*) FROM leaf_metadata"});
    CHECK_MESSAGE(immutable.exit_code == 0, immutable.err);
    CHECK(immutable.out == "6\n");
  }
  for (const auto& [name, args] : read_commands(db, run)) {
    const auto& name_value = name;  // clang 14: a structured binding cannot be captured
    CAPTURE(name_value);
    const auto r = run_as_reader(folder, args);
    CHECK_MESSAGE(r.exit_code == 0, r.err);
    CHECK(r.out == expected[name].out);
    CHECK(count_of(r.err, kImmutableNote) == 1);  // said once
    CHECK(r.err.rfind("ckptcat: note: " + db + ": the folder is read-only", 0) == 0);
  }
  // publish reads an immutable catalog as well, into a folder the reader may write.
  const fs::path outbox = tmp.path() / "outbox";
  fs::create_directory(outbox);
  fs::permissions(outbox, fs::perms::all);
  const std::string copy = (outbox / "published.db").string();
  const auto published = run_as_reader(folder, {"publish", "--db", db, copy});
  CHECK_MESSAGE(published.exit_code == 0, published.err);
  CHECK(count_of(published.err, kImmutableNote) == 1);
  CHECK(run_tool({"ls", "--db", copy}).out == expected["ls"].out);

  const auto import = run_as_reader(folder, {"import", "--db", db, run.string()});
  CHECK(import.exit_code == 2);
  CHECK(import.out.empty());
  CHECK_MESSAGE(std::regex_search(import.err, std::regex("^ckptcat: " + db + ": catalog error: cannot write to the catalog: .*read-only")),
                import.err);
  CHECK_FALSE(fs::exists(db + "-shm"));
  CHECK_FALSE(fs::exists(db + "-wal"));
}

TEST_CASE("publish: a copy equal view by view, read by sqlite3 and ckptcat from a read-only folder") {
  TempDir tmp;
  const fs::path share = make_share(tmp);
  const fs::path run = tmp.path() / "run";
  write_run(run);
  const std::string db = (tmp.path() / "ckptcat.db").string();
  const std::string copy = (share / "published.db").string();
  REQUIRE(run_tool({"import", "--db", db, run.string()}).exit_code == 0);

  const auto published = run_tool({"publish", "--db", db, copy});
  CHECK_MESSAGE(published.exit_code == 0, published.err);
  CHECK(published.out.empty());
  CHECK(std::regex_match(published.err, std::regex("published " + db + " to " + copy +
                                                   ": 2 checkpoints, 6 leaves, [0-9.]+ KiB\n")));
  CHECK(fs::is_regular_file(copy));
  CHECK_FALSE(fs::exists(copy + "-wal"));
  const std::string header = read_file(copy).substr(0, 20);
  CHECK(header.substr(0, 16) == std::string("SQLite format 3\0", 16));
  CHECK(header[18] == 1);  // rollback journal, not WAL (2)
  CHECK(header[19] == 1);

  // Usage errors, none of which touch the copy.
  const auto again = run_tool({"publish", "--db", db, copy});
  CHECK(again.exit_code == 2);
  CHECK(again.err == "ckptcat: " + copy + ": already exists (add --force to replace it)\n");
  const auto itself = run_tool({"publish", "--db", db, "--force", db});
  CHECK(itself.exit_code == 2);
  CHECK(itself.err.find(": is the catalog itself") != std::string::npos);
  const std::string nowhere = (tmp.path() / "nowhere" / "x.db").string();
  const auto no_folder = run_tool({"publish", "--db", db, nowhere});
  CHECK(no_folder.exit_code == 2);
  CHECK(no_folder.err.find("ckptcat: " + nowhere + ": invalid: folder " + (tmp.path() / "nowhere").string() +
                           " does not exist") == 0);
  const auto no_catalog = run_tool({"publish", "--db", (tmp.path() / "none.db").string(), nowhere});
  CHECK(no_catalog.exit_code == 2);
  CHECK(no_catalog.err.find("no catalog at") != std::string::npos);
  const auto forced = run_tool({"publish", "--db", db, "--force", copy});
  CHECK_MESSAGE(forced.exit_code == 0, forced.err);

  const auto source_ls = run_tool({"ls", "--db", db});
  const auto source_export = run_tool({"export", "--db", db});
  ReadOnlyFolder folder(share);
  if (folder.skip_cases()) return;
  // ckptcat reads it in place, with no fallback and so no note.
  const auto ls = run_as_reader(folder, {"ls", "--db", copy});
  CHECK_MESSAGE(ls.exit_code == 0, ls.err);
  CHECK(ls.out == source_ls.out);
  CHECK(ls.err.empty());
  const auto exported = run_as_reader(folder, {"export", "--db", copy});
  CHECK(exported.out == source_export.out);
  // Writing commands refuse it with a clear message.
  const auto import = run_as_reader(folder, {"import", "--db", copy, run.string()});
  CHECK(import.exit_code == 2);
  CHECK_MESSAGE(import.err == "ckptcat: " + copy + ": catalog error: cannot write to the catalog: the catalog file is read-only\n",
                import.err);

  const std::string shell = sqlite3_shell();
  if (shell.empty()) {
    MESSAGE("skipped the sqlite3 part: no sqlite3 shell on $PATH (tools/bootstrap installs it)");
    return;
  }
  // Stock sqlite3, as the reader: the same identity and, view by view, the same rows.
  const auto views = run_program({shell, db, "SELECT name FROM sqlite_schema WHERE type = 'view' ORDER BY name"}).out;
  REQUIRE(lines_of(views).size() >= 5);
  const auto identity = [&](const std::string& file) {
    return folder.run_program({shell, file, "PRAGMA application_id; PRAGMA user_version; PRAGMA journal_mode"});
  };
  const auto copy_identity = identity(copy);
  CHECK_MESSAGE(copy_identity.exit_code == 0, copy_identity.err);
  CHECK(lines_of(copy_identity.out).at(2) == "delete");
  CHECK(lines_of(copy_identity.out).at(0) == lines_of(run_program({shell, db, "PRAGMA application_id"}).out).at(0));
  CHECK(lines_of(copy_identity.out).at(1) == lines_of(run_program({shell, db, "PRAGMA user_version"}).out).at(0));
  for (const auto& view : lines_of(views)) {
    CAPTURE(view);
    const std::string sql = "SELECT * FROM " + view;
    const auto source_rows = run_program({shell, "-header", db, sql});
    const auto copy_rows = folder.run_program({shell, "-header", copy, sql});
    CHECK_MESSAGE(copy_rows.exit_code == 0, copy_rows.err);
    CHECK(sorted_lines(copy_rows.out) == sorted_lines(source_rows.out));
    if (view == "leaf_metadata") CHECK(lines_of(source_rows.out).size() == 7);  // header, 6 leaves
  }
}
