// ckptcat import: discover checkpoints under paths and catalog the changed ones.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <memory>

#include "catalog_access.h"
#include "ckptcat/importer.h"
#include "cli.h"
#include "format.h"
#include "json_output.h"
#include "mounts.h"
#include "object_mounts.h"

namespace ckptcat::cli {
namespace {

// Reader threads by default when some PATH is an object URL.
constexpr unsigned kObjectStoreReaders = 16;

struct ImportArgs {
  std::string db = kDefaultCatalog;
  std::vector<std::string> paths;
  unsigned jobs = 0;
  bool force = false;
  bool prune = false;
  bool json = false;
  bool verbose = false;
  ObjectStoreArgs object_store;
};


// The progress line: redrawn in place on a terminal, at most 10 times a second.
class ProgressLine {
 public:
  void update(const ImportProgress& p) {
    const auto now = std::chrono::steady_clock::now();
    if (p.done < p.total && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    char rate[32];
    std::snprintf(rate, sizeof rate, "%.1f", p.rate());
    std::cerr << "\r\033[K" << with_commas(p.done) << '/' << with_commas(p.total)
              << " checkpoints, " << with_commas(p.leaves) << " leaves, " << rate
              << " checkpoints/s, " << with_commas(p.errors) << (p.errors == 1 ? " error" : " errors")
              << std::flush;
    drawn_ = true;
  }
  void clear() {
    if (drawn_) std::cerr << "\r\033[K" << std::flush;
  }

 private:
  std::chrono::steady_clock::time_point last_{};
  bool drawn_ = false;
};

// "error: FILE: MESSAGE", without repeating a file the message starts with.
std::string problem_line(const ImportProblem& p) {
  std::string where = p.file.empty() ? p.checkpoint : p.file;
  if (!p.leaf.empty()) where += " (leaf " + p.leaf + ")";
  const bool named = p.leaf.empty() && p.message.rfind(where, 0) == 0;
  return std::string(p.severity == Problem::Severity::kError ? "error: " : "warning: ") +
         (named ? "" : where + ": ") + p.message;
}

std::string summary_line(const ImportSummary& s, bool verbose) {
  std::string line = "imported " + with_commas(s.imported()) + " checkpoint" +
                     (s.imported() == 1 ? "" : "s") + " (" + with_commas(s.inserted) + " new, " +
                     with_commas(s.replaced) + " replaced, " + with_commas(s.unchanged) +
                     " unchanged";
  if (s.failed) line += ", " + with_commas(s.failed) + " failed";
  line += "), " + with_commas(s.leaves) + " leaves in " + seconds_text(s.seconds);
  if (s.pruned) line += ", pruned " + with_commas(s.pruned);
  const uint64_t errors = s.error_count(), warnings = s.warning_count();
  if (errors) line += "; " + with_commas(errors) + (errors == 1 ? " error" : " errors");
  if (warnings && !verbose)
    line += std::string(errors ? ", " : "; ") + with_commas(warnings) +
            (warnings == 1 ? " warning" : " warnings") + " (-v to show)";
  return line;
}

ojson summary_json(const ImportSummary& s) {
  ojson j;
  j["discovered"] = s.discovered;
  j["inserted"] = s.inserted;
  j["replaced"] = s.replaced;
  j["unchanged"] = s.unchanged;
  j["failed"] = s.failed;
  j["pruned"] = s.pruned_directories;
  j["leaves"] = s.leaves;
  j["seconds"] = s.seconds;
  j["problems"] = ojson::array();
  for (const auto& p : s.problems)
    j["problems"].push_back({{"severity", p.severity == Problem::Severity::kError ? "error" : "warning"},
                             {"checkpoint", p.checkpoint},
                             {"item", p.item},
                             {"leaf", p.leaf},
                             {"file", p.file},
                             {"message", p.message}});
  return j;
}

int run_import(const ImportArgs& args) {
  Catalog catalog = open_catalog(args.db, /*writable=*/true);
  const ObjectMounts mounts(args.paths, args.object_store);
  ImportOptions options;
  options.jobs = args.jobs;
  // Object-store reads wait on the network, not the CPU: more readers keep
  // more requests in flight (each reader thread has its own HTTP client).
  if (!options.jobs && std::any_of(args.paths.begin(), args.paths.end(),
                                   [](const std::string& p) { return storage::is_url(p); }))
    options.jobs = kObjectStoreReaders;
  options.force = args.force;
  options.prune = args.prune;
  ProgressLine progress;
  if (isatty(STDERR_FILENO)) options.progress = [&](const ImportProgress& p) { progress.update(p); };
  std::vector<std::filesystem::path> paths(args.paths.begin(), args.paths.end());
  const ImportSummary summary = Importer(catalog, options).run(paths);
  progress.clear();
  for (const auto& p : summary.problems)
    if (args.verbose || p.severity == Problem::Severity::kError) std::cerr << problem_line(p) << '\n';
  if (args.verbose)
    for (const auto& d : summary.pruned_directories) std::cerr << "pruned " << d << '\n';
  if (args.verbose) mounts.print_requests(std::cerr);
  std::cerr << summary_line(summary, args.verbose) << '\n';
  if (args.json) print_json(std::cout, summary_json(summary), /*indent=*/true);
  return summary.error_count() ? kExitProblems : kExitOk;
}

}  // namespace

void add_import_command(CLI::App& app, Action& action) {
  auto args = std::make_shared<ImportArgs>();
  CLI::App* cmd = app.add_subcommand("import", "catalog the checkpoints found under PATHs");
  cmd->footer(R"(Each PATH may be a tree of runs, a CheckpointManager root, a step folder or an
item folder (which imports its whole checkpoint), or an s3:// or gs:// URL of
any of these (credentials and endpoints from the AWS / Google environment
variables and files; see README). Checkpoints whose metadata files are
unchanged since the last import are skipped without being read (on object
stores, judged from listings alone).

Examples:
  ckptcat import /runs
  ckptcat import --db runs.db --jobs 8 --prune /runs/exp1 /runs/exp2
  ckptcat import --no-sign-request s3://public-bucket/runs /runs/local)");
  add_db_option(*cmd, args->db);
  cmd->add_option("PATH", args->paths, "folders to scan")->required()->type_name("PATH");
  cmd->add_option("-j,--jobs", args->jobs, "reader threads (default: one per CPU, 16 when a PATH is an s3:// or gs:// URL)")
      ->check(CLI::Range(1u, 1024u))
      ->type_name("N");
  cmd->add_flag("-f,--force", args->force, "re-read and replace unchanged checkpoints too");
  cmd->add_flag("--prune", args->prune,
                "remove catalogued checkpoints under the PATHs whose folders are gone");
  add_object_store_options(*cmd, args->object_store);
  cmd->add_flag("--json", args->json, "print the summary as JSON on stdout");
  cmd->add_flag("-v,--verbose", args->verbose, "also print warnings and pruned folders");
  cmd->callback([args, &action] { action = [args] { return run_import(*args); }; });
}

}  // namespace ckptcat::cli
