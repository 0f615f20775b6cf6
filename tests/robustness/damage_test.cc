// Damaged input: a copy of ../shared/corpus (made at test time) with every
// file damaged in turn: truncated at several offsets, bits flipped, emptied,
// replaced by garbage, by a folder, by a dangling symbolic link, or made
// unreadable. Reading never crashes or hangs and every problem names a file
// and a reason; `ckptcat import` of the whole damaged tree still imports every
// other checkpoint unchanged and leaves a catalog that passes integrity_check.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <SQLiteCpp/SQLiteCpp.h>

#include <chrono>
#include <map>
#include <set>

#include "child_process.h"
#include "ckptcat/reader.h"
#include "damage.h"
#include "shared_case.h"

namespace fs = std::filesystem;
using ckptcat::testing::DamagedBytes;
using Clock = std::chrono::steady_clock;

namespace {

// A writable copy of the corpus and its checkpoints.
struct CorpusCopy {
  ckptcat::testing::TempDir dir;
  fs::path root;
  std::vector<ckptcat::orbax::CheckpointLocation> checkpoints;
  // Every regular file under a checkpoint, with the index of that checkpoint.
  std::vector<std::pair<fs::path, size_t>> files;

  CorpusCopy() : root(dir.path() / "corpus") {
    fs::copy(ckptcat::testing::shared_data_dir() / "corpus", root, fs::copy_options::recursive);
    for (const auto& e : fs::recursive_directory_iterator(root))
      fs::permissions(e.path(), fs::perms::owner_read | fs::perms::owner_write |
                                    (e.is_directory() ? fs::perms::owner_exec : fs::perms::none),
                      fs::perm_options::add);
    checkpoints = ckptcat::orbax::discover(root).checkpoints;
    std::vector<fs::path> all;
    for (const auto& e : fs::recursive_directory_iterator(root))
      if (e.is_regular_file()) all.push_back(e.path());
    std::sort(all.begin(), all.end());
    for (const auto& file : all) {
      // The innermost checkpoint holding the file.
      size_t best = checkpoints.size(), best_len = 0;
      for (size_t i = 0; i < checkpoints.size(); ++i) {
        const std::string d = checkpoints[i].directory.string() + "/";
        if (file.string().rfind(d, 0) == 0 && d.size() > best_len) best = i, best_len = d.size();
      }
      if (best < checkpoints.size()) files.emplace_back(file, best);
    }
  }
};

enum class Kind { kBytes, kFolder, kDanglingLink, kUnreadable };

struct Case {
  std::string what;
  Kind kind = Kind::kBytes;
  std::string bytes;
};

// Puts `c` in place of `file` (whose original bytes are `original`); the
// returned object restores it.
struct Damage {
  fs::path file;
  std::string original;
  Damage(const fs::path& f, std::string o, const Case& c) : file(f), original(std::move(o)) {
    switch (c.kind) {
      case Kind::kBytes: ckptcat::testing::write_file(file, c.bytes); break;
      case Kind::kFolder: fs::remove(file); fs::create_directory(file); break;
      case Kind::kDanglingLink:
        fs::remove(file);
        fs::create_symlink(file.string() + ".missing-target", file);
        break;
      case Kind::kUnreadable: fs::permissions(file, fs::perms::none); break;
    }
  }
  ~Damage() {
    std::error_code ec;
    if (fs::is_symlink(fs::symlink_status(file)) || fs::is_directory(fs::symlink_status(file)))
      fs::remove_all(file, ec);
    fs::permissions(file, fs::perms::owner_read | fs::perms::owner_write, ec);
    ckptcat::testing::write_file(file, original);
  }
};

std::vector<Case> cases_for(const std::string& bytes, uint64_t seed, bool with_unreadable) {
  std::vector<Case> out;
  for (auto& d : ckptcat::testing::damaged_variants(bytes, seed, 1, 1))
    out.push_back({d.what, Kind::kBytes, std::move(d.bytes)});
  out.push_back({"replaced by a folder", Kind::kFolder, {}});
  out.push_back({"replaced by a dangling symlink", Kind::kDanglingLink, {}});
  if (with_unreadable) out.push_back({"unreadable (mode 000)", Kind::kUnreadable, {}});
  return out;
}

// Every problem names a file and says something; returns all text of the
// problems and errors, to look for the damaged file's name in.
std::string check_problems(const ckptcat::CheckpointMetadata& m, const std::string& context) {
  std::string text;
  auto take = [&](const ckptcat::Problem& p) {
    CHECK_MESSAGE(!p.file.empty(), context << ": problem without a file: " << p.message);
    CHECK_MESSAGE(!p.message.empty(), context << ": problem without a message in " << p.file);
    text += p.file + ": " + p.message + "\n";
  };
  for (const auto& p : m.problems) take(p);
  for (const auto& item : m.items) {
    for (const auto& p : item.problems) take(p);
    if (item.error) text += item.directory + ": " + *item.error + "\n";
    for (const auto& leaf : item.leaves)
      if (leaf.error) text += item.directory + ": " + leaf.name + ": " + *leaf.error + "\n";
  }
  return text;
}

// Files a reader cannot do without: destroying them must be reported, naming
// them. _sharding only matters to an item with a _METADATA (it maps the
// tree's param names).
bool must_be_reported(const fs::path& file) {
  const std::string name = file.filename().string();
  if (name == "_sharding") return fs::exists(file.parent_path() / "_METADATA");
  return name == "_METADATA" || name == "_CHECKPOINT_METADATA";
}

}  // namespace

SHARED_TEST_CASE("every damaged corpus file: reading never crashes or hangs, problems name the file") {
  CorpusCopy corpus;
  REQUIRE(!corpus.files.empty());
  const bool root = ::geteuid() == 0;
  if (root)
    MESSAGE("running as root, which reads files of mode 000 anyway: the unreadable case is "
            "covered by the folder and dangling-symlink replacements instead");
  size_t cases = 0, reported = 0, must_report = 0;
  double slowest = 0;
  size_t sampled_out = 0;
  for (size_t f = 0; f < corpus.files.size(); ++f) {
    const auto& [file, checkpoint] = corpus.files[f];
    // Data files (d/<hex>) are many and alike: every third one is enough.
    if (file.parent_path().filename() == "d" && f % 3 != 0) {
      ++sampled_out;
      continue;
    }
    const auto& location = corpus.checkpoints[checkpoint];
    const std::string original = ckptcat::testing::read_file(file);
    for (const auto& c : cases_for(original, f, !root)) {
      const std::string context = file.string() + " " + c.what;
      ckptcat::CheckpointMetadata m;
      const auto start = Clock::now();
      {
        Damage damage(file, original, c);
        REQUIRE_NOTHROW(m = ckptcat::orbax::read_checkpoint(location));
      }
      const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
      slowest = std::max(slowest, seconds);
      CHECK_MESSAGE(seconds < 10, context << " took " << seconds << " s");
      ++cases;
      const std::string text = check_problems(m, context);
      // A dangling link reads as a missing file (as Python's os.path.exists
      // says, so Orbax too), and a missing optional file is no problem.
      const bool destroyed = c.kind == Kind::kFolder || c.kind == Kind::kUnreadable ||
                             c.what == "empty" || c.what == "garbage";
      if (destroyed && must_be_reported(file)) {
        ++must_report;
        const bool named = text.find(file.filename().string()) != std::string::npos;
        reported += named;
        CHECK_MESSAGE(named, context << ": not reported; problems:\n" << text);
      }
    }
  }
  MESSAGE("damaged reads: ", cases, " cases over ", corpus.files.size() - sampled_out, " of ",
          corpus.files.size(), " files (two thirds of the d/ data files sampled out); ", reported, "/",
          must_report, " destroyed metadata files reported by name; slowest read ", slowest, " s");
}

SHARED_TEST_CASE("importing a damaged tree imports every other checkpoint unchanged") {
  CorpusCopy corpus;
  ckptcat::testing::TempDir tmp;
  const fs::path clean_db = tmp.path() / "clean.db";
  int status = ckptcat::testing::run_ckptcat({"import", "--db", clean_db.string(), corpus.root.string()});
  REQUIRE((status == 0 || status == 1));  // the corpus has damaged checkpoints of its own
  std::string clean_export;
  REQUIRE(ckptcat::testing::run_ckptcat({"export", "--db", clean_db.string()}, &clean_export) == 0);

  // Export lines of the checkpoints not damaged in a round.
  auto lines_outside = [&](const std::string& exported, const std::set<size_t>& damaged) {
    std::multiset<std::string> out;
    for (const auto& line : ckptcat::testing::lines_of_text(exported)) {
      bool in_damaged = false;
      for (size_t i : damaged) {
        const std::string quoted = "\"" + corpus.checkpoints[i].directory.string();
        if (line.find(quoted + "/") != std::string::npos || line.find(quoted + "\"") != std::string::npos)
          in_damaged = true;
      }
      if (!in_damaged) out.insert(line);
    }
    return out;
  };

  const std::vector<Case> kinds = {
      {"empty", Kind::kBytes, {}},           {"truncated", Kind::kBytes, {}},
      {"bits flipped", Kind::kBytes, {}},    {"garbage", Kind::kBytes, {}},
      {"replaced by a folder", Kind::kFolder, {}},
      {"replaced by a dangling symlink", Kind::kDanglingLink, {}},
  };
  ckptcat::testing::SeededRandom random(8);
  size_t damaged_files = 0, vanished = 0;
  for (size_t round = 0; round < kinds.size(); ++round) {
    // Damage one file in every other checkpoint (alternating halves).
    std::set<size_t> damaged;
    std::vector<std::unique_ptr<Damage>> damages;
    std::map<size_t, std::vector<size_t>> files_of;
    for (size_t f = 0; f < corpus.files.size(); ++f) files_of[corpus.files[f].second].push_back(f);
    for (const auto& [checkpoint, files] : files_of) {
      if ((checkpoint + round) % 2) continue;
      const auto& file = corpus.files[files[random.below(files.size())]].first;
      const std::string original = ckptcat::testing::read_file(file);
      Case c = kinds[round];
      if (c.what == "truncated") c.bytes = original.substr(0, original.size() / 2);
      if (c.what == "garbage" || c.what == "bits flipped") {
        for (auto& d : ckptcat::testing::damaged_variants(original, checkpoint, 0, 1))
          if (d.what.find(c.what == "garbage" ? "garbage" : "flipped") != std::string::npos) c.bytes = d.bytes;
      }
      damages.push_back(std::make_unique<Damage>(file, original, c));
      damaged.insert(checkpoint);
    }
    damaged_files += damages.size();
    const fs::path db = tmp.path() / ("round" + std::to_string(round) + ".db");
    std::string err;
    status = ckptcat::testing::run_ckptcat({"import", "--db", db.string(), corpus.root.string()},
                                           nullptr, &err);
    CHECK_MESSAGE((status == 0 || status == 1), kinds[round].what << ": exit " << status << "\n" << err);
    std::string exported;
    REQUIRE(ckptcat::testing::run_ckptcat({"export", "--db", db.string()}, &exported) == 0);
    CHECK_MESSAGE(lines_outside(exported, damaged) == lines_outside(clean_export, damaged), kinds[round].what);
    SQLite::Database catalog(db.string(), SQLite::OPEN_READONLY);
    CHECK(catalog.execAndGet("PRAGMA integrity_check").getString() == "ok");
    // Every checkpoint not damaged this round is there; a damaged one may no
    // longer look like a checkpoint (its marker file replaced by a folder).
    std::set<std::string> stored;
    SQLite::Statement q(catalog, "SELECT directory FROM checkpoints");
    while (q.executeStep()) stored.insert(q.getColumn(0).getString());
    for (size_t i = 0; i < corpus.checkpoints.size(); ++i) {
      const std::string directory = corpus.checkpoints[i].directory.string();
      if (!damaged.count(i)) CHECK_MESSAGE(stored.count(directory), kinds[round].what << ": " << directory);
      else if (!stored.count(directory)) ++vanished;
    }
  }
  MESSAGE("damaged imports: ", kinds.size(), " rounds, ", damaged_files,
          " damaged files (", vanished,
          " damaged checkpoints no longer discovered), every other checkpoint imported unchanged");
}
