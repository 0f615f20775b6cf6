// ckptcat-bench: the catalog's speed and size figures, measured in one run on
// trees written by ckptcat-gen into a temporary folder, printed as one table
// with the project's targets.
//
//   ckptcat-bench                # full: 1,000 x 1,000 leaves, 10,000 no-op checkpoints, ...
//   ckptcat-bench --smoke        # everything on tiny trees, in seconds (CI)
//   ckptcat-bench --checkpoints 200 --leaves 500 --noop-checkpoints 2000 --item-leaves 10000
//
// What each row measures:
//  - ingest: Importer::run on a fresh catalog (discover, read on `jobs` reader
//    threads, one writer thread) in a fresh child process (this program with
//    --child-import), leaves per wall second; also leaves per CPU second of
//    the whole child (all threads), which is what one core gives.
//  - raw SQLite floor: the same number of leaf rows inserted through one
//    prepared statement in one transaction into a table shaped like `leaves`,
//    with the catalog's pragmas. ingest / floor says how far the pipeline is
//    from the cost of the rows alone. Ingest and floor run three times each
//    (fresh files every time) and report the fastest run with the median; the
//    ratio compares fastest runs. The generated tree is flushed to disk first.
//  - no-op re-import: Importer::run again on an imported tree of
//    --noop-checkpoints checkpoints (nothing changed, so nothing is read),
//    against a bare walk of the same tree (recursive_directory_iterator + stat
//    of every entry). Best of two runs each, page cache warm for both.
//  - load_item: Catalog::load_item of one --item-leaves item (best and median of 5).
//  - shards: ShardAnalysis over that loaded item, and the per-device SQL query
//    over the leaf_shards view for its checkpoint (README), best of 5 each.
//  - export: `ckptcat export` over the 1,000 x 1,000 catalog, output to /dev/null.
//  - bytes per leaf: catalog file size / leaves, after import and after VACUUM.
//  - peak memory: the highest VmHWM of the all-jobs ingest children (own_peak_rss).
//
// --profile orbax and --profile pod (both: --profile all) measure trees shaped
// like real saves instead, each row beside its floor (see run_profile):
//  - orbax: what Orbax writes (one OCDBT root node per item with the values
//    inline, two processes, the 8-device mesh in full in every _sharding
//    entry), 40 steps x 2,000 leaves;
//  - pod: a 4,096-device mesh (16 x 16 x 16), 20 steps x 1,000 leaves, each
//    step's ~64 MB _sharding identical.
#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <SQLiteCpp/SQLiteCpp.h>

#include "ckptcat/catalog.h"
#include "ckptcat/importer.h"
#include "ckptcat/shards.h"
#include "generator.h"

extern char** environ;

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6;
}

struct Timing {
  double wall = 0, cpu = 0;
};
Timing timed(const std::function<void()>& f) {
  const double cpu0 = cpu_seconds();
  const auto t0 = Clock::now();
  f();
  return {seconds_since(t0), cpu_seconds() - cpu0};
}

// A shared machine's neighbours slow single runs by up to half: the ingest
// and floor rows run kRepeats times and keep the fastest run (the figure a
// quiet machine gives), printing the median beside it.
constexpr int kRepeats = 3;
struct Repeated {
  Timing best;
  double median_wall = 0;
};
Repeated repeated(const std::function<Timing()>& once) {
  std::vector<Timing> runs;
  for (int i = 0; i < kRepeats; ++i) runs.push_back(once());
  std::sort(runs.begin(), runs.end(), [](const Timing& a, const Timing& b) { return a.wall < b.wall; });
  return {runs.front(), runs[runs.size() / 2].wall};
}

// Removes a SQLite file and its WAL companions.
void remove_database(const fs::path& file) {
  for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(file.string() + suffix);
}

struct Row {
  std::string measure, value, target;
  std::optional<bool> met;
};

void print_table(const std::vector<Row>& rows) {
  size_t w0 = 7, w1 = 5, w2 = 6;
  for (const auto& r : rows) {
    w0 = std::max(w0, r.measure.size());
    w1 = std::max(w1, r.value.size());
    w2 = std::max(w2, r.target.size());
  }
  auto line = [&](const std::string& a, const std::string& b, const std::string& c,
                  const std::string& d) {
    std::printf("| %-*s | %-*s | %-*s | %-3s |\n", int(w0), a.c_str(), int(w1), b.c_str(),
                int(w2), c.c_str(), d.c_str());
  };
  line("measure", "value", "target", "met");
  std::printf("|%s|%s|%s|-----|\n", std::string(w0 + 2, '-').c_str(),
              std::string(w1 + 2, '-').c_str(), std::string(w2 + 2, '-').c_str());
  for (const auto& r : rows) line(r.measure, r.value, r.target, r.met ? (*r.met ? "yes" : "no") : "");
}

std::string fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

// "1,234,567"
std::string grouped(double v) {
  const std::string digits = std::to_string(static_cast<long long>(v + 0.5));
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

ckptcat::ImportSummary import_tree(const fs::path& tree, const std::string& catalog_path,
                                   unsigned jobs) {
  ckptcat::Catalog catalog(catalog_path);
  ckptcat::ImportOptions options;
  options.jobs = jobs;
  ckptcat::Importer importer(catalog, options);
  return importer.run({tree});
}

void check_import(const ckptcat::ImportSummary& s, uint64_t expected_leaves, const char* what) {
  if (s.failed != 0 || s.error_count() != 0 || s.leaves != expected_leaves)
    throw std::runtime_error(std::string(what) + ": " + std::to_string(s.failed) + " failed, " +
                             std::to_string(s.error_count()) + " errors, " +
                             std::to_string(s.leaves) + " leaves (expected " +
                             std::to_string(expected_leaves) + ")" +
                             (s.problems.empty() ? "" : "; first: " + s.problems[0].file + ": " +
                                                            s.problems[0].message));
}

// The raw floor: `rows` narrow rows through one prepared statement in one
// transaction, into a table shaped like the catalog's `leaves`.
double sqlite_floor_seconds(const fs::path& file, uint64_t rows, uint64_t per_item) {
  SQLite::Database db(file.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
  db.exec("PRAGMA journal_mode = WAL");
  db.exec("PRAGMA synchronous = NORMAL");
  db.exec(
      "CREATE TABLE leaves (item_id INTEGER NOT NULL, ord INTEGER NOT NULL, "
      "key_path_id INTEGER NOT NULL, spec_id INTEGER NOT NULL, stored_chunks INTEGER, "
      "stored_bytes INTEGER, PRIMARY KEY (item_id, ord)) WITHOUT ROWID");
  const auto t0 = Clock::now();
  SQLite::Transaction tx(db);
  SQLite::Statement insert(db, "INSERT INTO leaves VALUES (?, ?, ?, ?, ?, ?)");
  for (uint64_t i = 0; i < rows; ++i) {
    const int64_t ord = static_cast<int64_t>(i % per_item);
    insert.bind(1, static_cast<int64_t>(i / per_item + 1));
    insert.bind(2, ord);
    insert.bind(3, ord + 1);
    insert.bind(4, ord % 37 + 1);
    insert.bind(5, int64_t{4});
    insert.bind(6, int64_t{64});
    insert.exec();
    insert.reset();
  }
  tx.commit();
  return seconds_since(t0);
}

double walk_seconds(const fs::path& tree, uint64_t* entries) {
  const auto t0 = Clock::now();
  uint64_t n = 0;
  struct stat st {};
  for (auto it = fs::recursive_directory_iterator(tree); it != fs::recursive_directory_iterator(); ++it) {
    if (::stat(it->path().c_str(), &st) == 0) ++n;
  }
  if (entries) *entries = n;
  return seconds_since(t0);
}

// One import run as a user runs it: this program with --child-import in a
// fresh process, timed from here. (In this process the generator has churned
// the heap with its own threads; imports timed here ran up to 40% slower than
// the same import started on its own.)
struct ChildImport {
  Timing timing;      // wall from here; CPU = the child's user + system time
  uint64_t peak_rss;  // bytes: the child's own VmHWM
};

// The peak resident memory of this process's own address space (VmHWM). Not
// ru_maxrss: posix_spawn starts the child in the parent's memory, and Linux
// counts that memory's peak (this program's, generator included) into the
// child's ru_maxrss at exec.
uint64_t own_peak_rss() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6)) * 1024;  // "... kB"
  throw std::runtime_error("no VmHWM in /proc/self/status");
}
ChildImport run_child_import(const std::string& self, const fs::path& tree, const fs::path& catalog,
                         unsigned jobs, uint64_t leaves) {
  std::vector<std::string> args = {self, "--child-import", tree.string(), "--child-catalog",
                                   catalog.string(), "--jobs", std::to_string(jobs),
                                   "--child-leaves", std::to_string(leaves), "--child-report",
                                   (catalog.string() + ".rss")};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const auto t0 = Clock::now();
  pid_t pid = 0;
  if (posix_spawn(&pid, self.c_str(), nullptr, nullptr, argv.data(), environ) != 0)
    throw std::runtime_error("cannot start " + self);
  int status = 0;
  rusage usage{};
  if (wait4(pid, &status, 0, &usage) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw std::runtime_error("the child import failed");
  const auto seconds = [](const timeval& t) { return double(t.tv_sec) + double(t.tv_usec) / 1e6; };
  uint64_t peak_rss = 0;
  std::ifstream(catalog.string() + ".rss") >> peak_rss;
  if (peak_rss == 0) throw std::runtime_error("the child import reported no peak memory");
  return {{seconds_since(t0), seconds(usage.ru_utime) + seconds(usage.ru_stime)}, peak_rss};
}

std::string default_ckptcat_path(const std::string& self) {
  // build/tests/bench/ckptcat-bench -> build/tools/ckptcat/ckptcat
  const fs::path p = fs::path(self).parent_path() / ".." / ".." / "tools" / "ckptcat" / "ckptcat";
  return p.lexically_normal().string();
}

// Runs `args` (found on PATH) with stdin from /dev/null and stdout to
// /dev/null; its wall time. Throws when it fails.
double spawn_seconds(std::vector<std::string> args) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  const auto t0 = Clock::now();
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, args[0].c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot start " + args[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw std::runtime_error(args[0] + " failed: " + args.back());
  return seconds_since(t0);
}

double export_seconds(const std::string& ckptcat, const fs::path& catalog) {
  return spawn_seconds({ckptcat, "export", "--db", catalog.string()});
}

ckptcat::gen::Tree write_generated(const fs::path& dir, int runs, int steps, int leaves,
                                   double* seconds,
                                   ckptcat::gen::Preset preset = ckptcat::gen::Preset::kBench) {
  ckptcat::gen::Options o = ckptcat::gen::preset_options(preset);
  o.runs = runs;
  o.steps = steps;
  o.leaves = leaves;
  ckptcat::gen::Tree tree = ckptcat::gen::plan_tree(o);
  const auto t0 = Clock::now();
  ckptcat::gen::write_tree(tree, dir);
  if (seconds) *seconds = seconds_since(t0);
  // Flush the tree's dirty pages now: written back during the timed imports,
  // they made the ingest rows vary by a third from run to run.
  ::sync();
  return tree;
}

struct Sizes {
  int checkpoints = 1000, leaves = 1000, noop_checkpoints = 10000, noop_leaves = 10,
      item_leaves = 10000;
};

void run_catalog(const Sizes& z, unsigned all, const fs::path& tmp, const std::string& self,
                 const std::string& ckptcat, std::vector<Row>& rows) {

  // ---- the big tree: ingest, floor, export, bytes per leaf, peak memory ----
  const int runs = std::max(1, std::min(10, z.checkpoints));
  const int steps = std::max(1, z.checkpoints / runs);
  double gen_s = 0;
  const fs::path big = tmp / "tree";
  const auto tree = write_generated(big, runs, steps, z.leaves, &gen_s);
  const uint64_t leaves = tree.leaf_count();
  const std::string shape = grouped(double(tree.checkpoint_count())) + " ckpt x " +
                            grouped(z.leaves) + " leaves";
  rows.push_back({"generate " + shape, fmt("%.1f s", gen_s) + " (" + grouped(leaves / gen_s) + " leaves/s)", "", {}});

  const fs::path cat1 = tmp / "one.ckptcat";
  const Repeated t1 = repeated([&] {
    remove_database(cat1);
    return run_child_import(self, big, cat1, 1, leaves).timing;
  });
  const double rate1 = double(leaves) / t1.best.wall;
  rows.push_back({"ingest, 1 job (" + shape + ")",
                  grouped(rate1) + " leaves/s (" + fmt("%.2f s", t1.best.wall) + ", median " +
                      fmt("%.2f s", t1.median_wall) + "; " + grouped(leaves / t1.best.cpu) +
                      " leaves/CPU-s)",
                  ">= 150,000 leaves/s", rate1 >= 150000});

  const fs::path catn = tmp / "all.ckptcat";
  uint64_t peak = 0;  // of the all-jobs imports
  const Repeated tn = repeated([&] {
    remove_database(catn);
    const ChildImport run = run_child_import(self, big, catn, all, leaves);
    peak = std::max(peak, run.peak_rss);
    return run.timing;
  });
  rows.push_back({"ingest, " + std::to_string(all) + " jobs",
                  grouped(leaves / tn.best.wall) + " leaves/s (" + fmt("%.2f s", tn.best.wall) +
                      ", median " + fmt("%.2f s", tn.median_wall) + ")",
                  "", {}});

  const Repeated floor = repeated([&] {
    remove_database(tmp / "floor.sqlite");
    return Timing{sqlite_floor_seconds(tmp / "floor.sqlite", leaves, uint64_t(z.leaves)), 0};
  });
  const double floor_s = floor.best.wall;
  rows.push_back({"raw SQLite floor (" + grouped(leaves) + " rows, 1 tx)",
                  grouped(leaves / floor_s) + " rows/s (" + fmt("%.2f s", floor_s) + ", median " +
                      fmt("%.2f s", floor.median_wall) + ")",
                  "", {}});
  const double ratio = t1.best.wall / floor_s;
  rows.push_back({"ingest 1 job / floor (best runs)", fmt("%.1fx", ratio), "<= 2x", ratio <= 2.0});

  const double export_s = export_seconds(ckptcat, catn);
  rows.push_back({"export (ckptcat export > /dev/null)",
                  grouped(leaves / export_s) + " leaves/s (" + fmt("%.2f s", export_s) + ")", "", {}});

  {
    const double bytes = double(fs::file_size(catn));
    const double per_leaf = bytes / double(leaves);
    rows.push_back({"catalog bytes per leaf (after import)",
                    fmt("%.1f", per_leaf) + " (" + fmt("%.1f MB", bytes / 1e6) + ")", "<= 64",
                    per_leaf <= 64});
    {
      ckptcat::Catalog c(catn.string());
      c.database().exec("VACUUM");
    }
    const double vbytes = double(fs::file_size(catn));
    rows.push_back({"catalog bytes per leaf (after VACUUM)",
                    fmt("%.1f", vbytes / double(leaves)) + " (" + fmt("%.1f MB", vbytes / 1e6) + ")",
                    "<= 64", vbytes / double(leaves) <= 64});
  }

  rows.push_back({"peak RSS importing " + grouped(leaves) + " leaves (" + std::to_string(all) + " jobs)",
                  fmt("%.1f MB", double(peak) / 1e6), "< 100 MB", double(peak) < 100e6});
  fs::remove_all(big);
  for (const char* f : {"one.ckptcat", "all.ckptcat", "floor.sqlite"})
    remove_database(tmp / f);

  // ---- no-op re-import against a bare walk ----
  {
    const fs::path noop = tmp / "noop";
    const int nruns = std::max(1, std::min(100, z.noop_checkpoints / 10));
    double noop_gen = 0;
    const auto ntree = write_generated(noop, nruns, std::max(1, z.noop_checkpoints / nruns),
                                       z.noop_leaves, &noop_gen);
    const fs::path cat = tmp / "noop.ckptcat";
    check_import(import_tree(noop, cat.string(), all), ntree.leaf_count(), "noop first import");
    uint64_t entries = 0;
    double walk = walk_seconds(noop, &entries);
    double reimport = 1e300;
    for (int i = 0; i < 2; ++i) {
      ckptcat::ImportSummary s;
      const Timing t = timed([&] { s = import_tree(noop, cat.string(), all); });
      if (s.unchanged != ntree.checkpoint_count()) throw std::runtime_error("no-op re-import changed something");
      reimport = std::min(reimport, t.wall);
      walk = std::min(walk, walk_seconds(noop, nullptr));
    }
    const std::string what = grouped(double(ntree.checkpoint_count())) + " ckpt, " + grouped(entries) + " entries";
    rows.push_back({"no-op re-import (" + what + ")", fmt("%.3f s", reimport), "", {}});
    rows.push_back({"bare walk + stat (same tree)", fmt("%.3f s", walk), "", {}});
    rows.push_back({"no-op re-import / walk", fmt("%.1fx", reimport / walk), "<= 3x", reimport / walk <= 3});
    fs::remove_all(noop);
    fs::remove(cat);
  }

  // ---- reconstructing one large item ----
  {
    const fs::path one = tmp / "item";
    ckptcat::gen::Options o = ckptcat::gen::preset_options(ckptcat::gen::Preset::kBench);
    o.runs = 1, o.steps = 1, o.leaves = z.item_leaves;
    const auto itree = ckptcat::gen::plan_tree(o);
    ckptcat::gen::write_tree(itree, one);
    const fs::path cat = tmp / "item.ckptcat";
    check_import(import_tree(one, cat.string(), all), itree.leaf_count(), "item import");
    ckptcat::Catalog catalog(cat.string());
    const std::string dir = (fs::absolute(one) / itree.runs[0].name / itree.runs[0].step_folder(0))
                                .lexically_normal().string();
    std::vector<double> ms;
    for (int i = 0; i < 5; ++i) {
      std::optional<ckptcat::ItemMetadata> item;
      const Timing t = timed([&] { item = catalog.load_item(dir, itree.runs[0].state.name); });
      if (!item || item->leaves.size() != size_t(z.item_leaves))
        throw std::runtime_error("load_item did not return the item of " + dir);
      ms.push_back(t.wall * 1e3);
    }
    std::sort(ms.begin(), ms.end());
    rows.push_back({"load_item, " + grouped(z.item_leaves) + " leaves (best / median of 5)",
                    fmt("%.2f", ms[0]) + " / " + fmt("%.2f ms", ms[2]), "< 10 ms", ms[2] < 10});

    const auto item = catalog.load_item(dir, itree.runs[0].state.name);
    double analysis_s = 1e9, sql_s = 1e9;
    uint64_t devices = 0;
    for (int i = 0; i < 5; ++i) {
      analysis_s = std::min(analysis_s, timed([&] {
        ckptcat::ShardAnalysis analysis;
        for (const auto& leaf : item->leaves) analysis.add(leaf);
        devices = analysis.totals().devices.size();
      }).wall);
      sql_s = std::min(sql_s, timed([&] {
        SQLite::Statement q(catalog.database(), R"(
            SELECT d.device_id, sum(t.bytes) FROM
              (SELECT sharding_id, sum(shard_bytes) AS bytes FROM leaf_shards
               WHERE checkpoint_dir = ?1 GROUP BY sharding_id) t
            JOIN sharding_devices d USING (sharding_id) GROUP BY d.device_id)");
        q.bind(1, dir);
        uint64_t rows_seen = 0;
        while (q.executeStep()) ++rows_seen;
        if (rows_seen != devices) throw std::runtime_error("leaf_shards: device count differs from ShardAnalysis");
      }).wall);
    }
    rows.push_back({"shards of that item: ShardAnalysis (best of 5)", fmt("%.2f ms", analysis_s * 1e3), "", {}});
    rows.push_back({"per-device bytes in SQL over leaf_shards (best of 5)", fmt("%.2f ms", sql_s * 1e3), "", {}});
    fs::remove_all(one);
    fs::remove(cat);
  }
}

void run_profile(const std::string& name, ckptcat::gen::Preset preset, bool smoke, unsigned all,
                 const fs::path& tmp, const std::string& self, const std::string& ckptcat,
                 std::vector<Row>& rows);

int run(const Sizes& z, const std::vector<std::string>& profiles, bool smoke, unsigned jobs,
        const fs::path& tmp, const std::string& self, const std::string& ckptcat) {
  std::vector<Row> rows;
  const unsigned all = jobs ? jobs : std::max(1u, std::thread::hardware_concurrency());
  fs::create_directories(tmp);
  auto wanted = [&](const char* name) {
    return std::find(profiles.begin(), profiles.end(), name) != profiles.end() ||
           std::find(profiles.begin(), profiles.end(), "all") != profiles.end();
  };
  if (wanted("catalog")) run_catalog(z, all, tmp, self, ckptcat, rows);
  if (wanted("orbax"))
    run_profile("orbax", ckptcat::gen::Preset::kOrbax, smoke, all, tmp, self, ckptcat, rows);
  if (wanted("pod"))
    run_profile("pod", ckptcat::gen::Preset::kPod, smoke, all, tmp, self, ckptcat, rows);

  // Wall-clock rows depend on what else runs; the load average says how much did.
  std::string load;
  if (FILE* f = std::fopen("/proc/loadavg", "r")) {
    char buf[64] = {};
    if (std::fgets(buf, sizeof buf, f)) load = std::string(buf).substr(0, std::string(buf).find(' '));
    std::fclose(f);
  }
  std::printf("ckptcat-bench: %u cores, %u jobs, load average (1 min) at the end: %s\n",
              std::thread::hardware_concurrency(), all, load.empty() ? "?" : load.c_str());
  print_table(rows);
  return 0;
}

double best_of(int n, const std::function<double()>& f) {
  double best = 1e300;
  for (int i = 0; i < n; ++i) best = std::min(best, f());
  return best;
}

// The read floor of a step: every file of its folder (metadata files, OCDBT
// manifests and nodes with their inline values; these trees keep no chunk
// bytes out of line worth counting) read whole, as `cat` would, page cache
// warm. Best of 3.
double read_floor_seconds(const fs::path& step, uint64_t* bytes) {
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(step))
    if (e.is_regular_file()) files.push_back(e.path());
  std::vector<char> buffer(1 << 20);
  uint64_t total = 0;
  const double best = best_of(3, [&] {
    total = 0;
    const auto t0 = Clock::now();
    for (const auto& f : files) {
      const int fd = ::open(f.c_str(), O_RDONLY);
      if (fd < 0) throw std::runtime_error("cannot open " + f.string());
      ssize_t n = 0;
      while ((n = ::read(fd, buffer.data(), buffer.size())) > 0) total += uint64_t(n);
      ::close(fd);
    }
    return seconds_since(t0);
  });
  if (bytes) *bytes = total;
  return best;
}

bool have_sqlite3_shell() {
  try {
    spawn_seconds({"sqlite3", "-version"});
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

// A profile: one tree shaped like real saves, every figure beside its floor.
//  - ingest 1 job / all jobs: as the main table (fresh child processes).
//  - first step: ingest of the first step alone (a fresh catalog; all of its
//    files are new, so every text is parsed); its _sharding bytes per second
//    of that whole import.
//  - repeated step: (ingest of all steps - first step) / (steps - 1), 1 job:
//    what a step costs whose metadata repeats the previous step's; against
//    the read floor of one step (read_floor_seconds).
//  - raw SQLite floor: the same rows into a bare `leaves`-shaped table.
//  - stock sqlite3 (the shell, a fresh process per query): a full
//    leaf_metadata scan, SELECT count(*), sum(length(sharding)), and one
//    item through the view, against the same queries over a plain table
//    holding the view's rows (CREATE TABLE AS SELECT * FROM leaf_metadata,
//    indexed on checkpoint_dir, item as the catalog is); process start-up
//    (an empty query) is subtracted from both.
//  - export leaves/s, load_item of one step's item.
void run_profile(const std::string& name, ckptcat::gen::Preset preset, bool smoke, unsigned all,
                 const fs::path& tmp, const std::string& self, const std::string& ckptcat,
                 std::vector<Row>& rows) {
  const ckptcat::gen::Options defaults = ckptcat::gen::preset_options(preset);
  const int steps = smoke ? 3 : defaults.steps;
  const int leaf_count = smoke ? 40 : defaults.leaves;
  const bool pod = preset == ckptcat::gen::Preset::kPod;
  const fs::path dir = tmp / name;
  double gen_s = 0;
  const auto tree = write_generated(dir, 1, steps, leaf_count, &gen_s, preset);
  const uint64_t leaves = tree.leaf_count();
  const auto& run0 = tree.runs[0];
  const fs::path first_step = dir / run0.name / run0.step_folder(0);
  const std::string item_name = run0.state.name;
  const uint64_t sharding_bytes = fs::file_size(first_step / item_name / "_sharding");
  const std::string p = name + ": ";
  rows.push_back({p + "generate " + std::to_string(steps) + " steps x " + grouped(leaf_count) +
                      " leaves",
                  fmt("%.1f s", gen_s) + "; _sharding " + fmt("%.1f MB", sharding_bytes / 1e6) +
                      " a step",
                  "", {}});

  const fs::path cat1 = tmp / (name + "-one.ckptcat"), catn = tmp / (name + "-all.ckptcat");
  uint64_t peak = 0;
  const Repeated t1 = repeated([&] {
    remove_database(cat1);
    const ChildImport r = run_child_import(self, dir, cat1, 1, leaves);
    peak = std::max(peak, r.peak_rss);
    return r.timing;
  });
  const double rate1 = double(leaves) / t1.best.wall;
  rows.push_back({p + "ingest, 1 job",
                  grouped(rate1) + " leaves/s (" + fmt("%.2f s", t1.best.wall) + ", median " +
                      fmt("%.2f s", t1.median_wall) + ")",
                  pod ? "" : ">= 600,000 leaves/s", pod ? std::optional<bool>() : rate1 >= 600000});
  const Repeated tn = repeated([&] {
    remove_database(catn);
    const ChildImport r = run_child_import(self, dir, catn, all, leaves);
    peak = std::max(peak, r.peak_rss);
    return r.timing;
  });
  rows.push_back({p + "ingest, " + std::to_string(all) + " jobs",
                  grouped(leaves / tn.best.wall) + " leaves/s (" + fmt("%.2f s", tn.best.wall) +
                      ", median " + fmt("%.2f s", tn.median_wall) + ")",
                  pod ? "faster than 1 job" : "",
                  pod ? std::optional<bool>(tn.best.wall < t1.best.wall) : std::nullopt});

  const Repeated floor = repeated([&] {
    remove_database(tmp / "floor.sqlite");
    return Timing{sqlite_floor_seconds(tmp / "floor.sqlite", leaves, uint64_t(leaf_count)), 0};
  });
  remove_database(tmp / "floor.sqlite");
  rows.push_back({p + "ingest 1 job / raw SQLite floor (" + fmt("%.3f s", floor.best.wall) + ")",
                  fmt("%.1fx", t1.best.wall / floor.best.wall), pod ? "" : "<= 2x",
                  pod ? std::optional<bool>() : t1.best.wall / floor.best.wall <= 2});

  // The first step alone, then what each further step added.
  const fs::path cat0 = tmp / (name + "-first.ckptcat");
  const Repeated t0 = repeated([&] {
    remove_database(cat0);
    const ChildImport r = run_child_import(self, first_step, cat0, 1, uint64_t(leaf_count));
    peak = std::max(peak, r.peak_rss);
    return r.timing;
  });
  remove_database(cat0);
  rows.push_back({p + "first step alone (fresh process and catalog)",
                  fmt("%.3f s", t0.best.wall) + "; _sharding at " +
                      fmt("%.0f MB/s", sharding_bytes / 1e6 / t0.best.wall),
                  pod ? ">= 200 MB/s" : "",
                  pod ? std::optional<bool>(sharding_bytes / 1e6 / t0.best.wall >= 200)
                      : std::nullopt});
  uint64_t step_bytes = 0;
  const double read_floor = read_floor_seconds(first_step, &step_bytes);
  if (steps > 1) {
    const double repeated_step = std::max(0.0, t1.best.wall - t0.best.wall) / (steps - 1);
    rows.push_back({p + "repeated step / read floor (" + fmt("%.1f ms", read_floor * 1e3) +
                        " to read " + fmt("%.1f MB", step_bytes / 1e6) + ")",
                    fmt("%.1f ms", repeated_step * 1e3) + " = " +
                        fmt("%.1fx", repeated_step / read_floor),
                    pod ? "<= 2x" : "", pod ? std::optional<bool>(repeated_step / read_floor <= 2)
                                            : std::nullopt});
  }
  rows.push_back({p + "peak RSS (1 and " + std::to_string(all) + " jobs)",
                  fmt("%.1f MB", double(peak) / 1e6), "< 150 MB", double(peak) < 150e6});

  // Stock sqlite3 over the view and over a plain table of the same rows.
  if (have_sqlite3_shell()) {
    const fs::path plain = tmp / (name + "-plain.sqlite");
    remove_database(plain);
    const std::string build_plain =
        "ATTACH '" + catn.string() + "' AS c; CREATE TABLE leaf_metadata AS SELECT * FROM "
        "c.leaf_metadata; CREATE INDEX by_item ON leaf_metadata(checkpoint_dir, item);";
    spawn_seconds({"sqlite3", plain.string(), build_plain});
    const std::string dir_of_step =
        fs::absolute(first_step).lexically_normal().string();
    const std::string scan = "SELECT count(*), sum(length(sharding)) FROM leaf_metadata;";
    const std::string one_item = "SELECT * FROM leaf_metadata WHERE checkpoint_dir = '" +
                                 dir_of_step + "' AND item = '" + item_name + "';";
    auto shell = [&](const fs::path& db, const std::string& sql) {
      return best_of(3, [&] { return spawn_seconds({"sqlite3", db.string(), sql}); });
    };
    const double startup = std::min(shell(catn, "SELECT 1;"), shell(plain, "SELECT 1;"));
    const double scan_view = std::max(1e-6, shell(catn, scan) - startup);
    const double scan_plain = std::max(1e-6, shell(plain, scan) - startup);
    const double item_view = std::max(1e-6, shell(catn, one_item) - startup);
    const double item_plain = std::max(1e-6, shell(plain, one_item) - startup);
    rows.push_back({p + "sqlite3: full leaf_metadata scan",
                    fmt("%.2f us a leaf", scan_view / leaves * 1e6) + " (" +
                        fmt("%.3f s", scan_view) + ")",
                    pod ? "" : "< 3 us a leaf",
                    pod ? std::optional<bool>() : scan_view / leaves * 1e6 < 3});
    rows.push_back({p + "sqlite3: full scan, view / plain table (" +
                        fmt("%.3f s", scan_plain) + ")",
                    fmt("%.1fx", scan_view / scan_plain), "<= 2x", scan_view / scan_plain <= 2});
    rows.push_back({p + "sqlite3: one item through the view / plain table (" +
                        fmt("%.1f ms", item_plain * 1e3) + ")",
                    fmt("%.1f ms", item_view * 1e3) + " = " + fmt("%.1fx", item_view / item_plain),
                    "<= 2x", item_view / item_plain <= 2});
    remove_database(plain);
  } else {
    rows.push_back({p + "sqlite3 rows", "skipped: no sqlite3 shell on PATH", "", {}});
  }

  const double export_s = export_seconds(ckptcat, catn);
  rows.push_back({p + "export (ckptcat export > /dev/null)",
                  grouped(leaves / export_s) + " leaves/s (" + fmt("%.2f s", export_s) + ")", "",
                  {}});
  {
    ckptcat::Catalog catalog(catn.string());
    const std::string step_dir = fs::absolute(first_step).lexically_normal().string();
    std::vector<double> ms;
    for (int i = 0; i < 5; ++i) {
      std::optional<ckptcat::ItemMetadata> item;
      const Timing t = timed([&] { item = catalog.load_item(step_dir, item_name); });
      if (!item || item->leaves.size() != size_t(leaf_count))
        throw std::runtime_error("load_item did not return the item of " + step_dir);
      ms.push_back(t.wall * 1e3);
    }
    std::sort(ms.begin(), ms.end());
    rows.push_back({p + "load_item, " + grouped(leaf_count) + " leaves (best / median of 5)",
                    fmt("%.2f", ms[0]) + " / " + fmt("%.2f ms", ms[2]),
                    pod ? "< 20 ms" : "", pod ? std::optional<bool>(ms[2] < 20) : std::nullopt});
  }
  fs::remove_all(dir);
  for (const auto& f : {cat1, catn}) remove_database(f);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ckptcat benchmarks: ingest, no-op re-import, load_item, export, size, memory"};
  Sizes z;
  bool smoke = false, keep = false;
  unsigned jobs = 0;
  std::string tmp_dir, ckptcat_path, child_import, child_catalog, child_report;
  uint64_t child_leaves = 0;
  app.add_flag("--smoke", smoke, "everything on tiny trees (seconds)");
  app.add_option("--checkpoints", z.checkpoints, "checkpoints of the ingest tree")->check(CLI::PositiveNumber);
  app.add_option("--leaves", z.leaves, "leaves per checkpoint of the ingest tree")->check(CLI::PositiveNumber);
  app.add_option("--noop-checkpoints", z.noop_checkpoints, "checkpoints of the no-op re-import tree")
      ->check(CLI::PositiveNumber);
  app.add_option("--item-leaves", z.item_leaves, "leaves of the load_item checkpoint")->check(CLI::PositiveNumber);
  app.add_option("--jobs", jobs, "reader threads of the multi-job rows (default: all cores)");
  app.add_option("--tmp", tmp_dir, "work folder (default: a new folder in the system temp folder)");
  app.add_flag("--keep", keep, "keep the work folder");
  app.add_option("--ckptcat", ckptcat_path, "the ckptcat program (for the export row)");
  std::vector<std::string> profiles = {"all"};
  app.add_option("--profile", profiles,
                 "catalog (the bench preset tree), orbax (what Orbax writes), pod (4,096 "
                 "devices) or all")
      ->check(CLI::IsMember({"catalog", "orbax", "pod", "all"}))
      ->delimiter(',');
  app.add_option("--child-import", child_import)->group("");  // internal: a timed import child
  app.add_option("--child-catalog", child_catalog)->group("");
  app.add_option("--child-leaves", child_leaves)->group("");
  app.add_option("--child-report", child_report)->group("");  // where the child writes its VmHWM
  CLI11_PARSE(app, argc, argv);

  const std::string self = fs::read_symlink("/proc/self/exe").string();
  try {
    if (!child_import.empty()) {
      check_import(import_tree(child_import, child_catalog, jobs), child_leaves, "child import");
      if (!child_report.empty()) std::ofstream(child_report) << own_peak_rss();
      return 0;
    }
    if (smoke) z = {20, 50, 100, 5, 500};
    const fs::path tmp = tmp_dir.empty() ? fs::temp_directory_path() /
                                               ("ckptcat-bench-" + std::to_string(getpid()))
                                         : fs::path(tmp_dir);
    if (ckptcat_path.empty()) ckptcat_path = default_ckptcat_path(self);
    int rc = 0;
    try {
      rc = run(z, profiles, smoke, jobs, tmp, self, ckptcat_path);
    } catch (...) {
      if (!keep) fs::remove_all(tmp);
      throw;
    }
    if (!keep) fs::remove_all(tmp);
    return rc;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ckptcat-bench: %s\n", e.what());
    return 1;
  }
}
