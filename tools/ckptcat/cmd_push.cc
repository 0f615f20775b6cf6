// ckptcat push: merge the local catalog into a shared PostgreSQL catalog.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>

#include "catalog_access.h"
#include "ckptcat/push.h"
#include "cli.h"
#include "format.h"
#include "json_output.h"

namespace ckptcat::cli {
namespace {

struct PushArgs {
  std::string db = kDefaultCatalog;
  std::string to;
  std::string origin;
  bool force = false;
  bool json = false;
  uint64_t batch_leaves = PushOptions().batch_leaves;
};

int run_push(const PushArgs& args) {
  if (is_postgres_uri(args.db))
    throw UsageError("push reads a local SQLite catalog (--db FILE), not " + args.db.substr(0, 13) + "...");
  Catalog local = open_catalog(args.db, /*writable=*/false);
  PushOptions options;
  options.origin = args.origin;
  options.force = args.force;
  options.batch_leaves = args.batch_leaves;
  const auto start = std::chrono::steady_clock::now();
  const PushResult r = push(local, args.to, options);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (args.json) {
    ojson out = ojson::object();
    out["inserted"] = r.inserted;
    out["replaced"] = r.replaced;
    out["unchanged"] = r.unchanged;
    out["leaves"] = r.leaves;
    out["retries"] = r.retries;
    print_json(std::cout, out, /*indent=*/false);
  }
  char time[32];
  std::snprintf(time, sizeof time, "%.2f", seconds);
  std::cerr << "pushed " << with_commas(r.inserted + r.replaced + r.unchanged) << " checkpoints ("
            << with_commas(r.inserted) << " new, " << with_commas(r.replaced) << " replaced, "
            << with_commas(r.unchanged) << " unchanged), " << with_commas(r.leaves) << " leaves in "
            << time << " s\n";
  return kExitOk;
}

}  // namespace

void add_push_command(CLI::App& app, Action& action) {
  auto args = std::make_shared<PushArgs>();
  CLI::App* cmd = app.add_subcommand("push", "merge the catalog into a shared PostgreSQL catalog");
  cmd->footer(R"(TARGET is a libpq connection string: a postgresql:// URI or "host=... dbname=...";
fields it leaves out come from PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD and
~/.pgpass, as in psql. The schema is created on first use. Checkpoints are keyed
by --origin and directory: unchanged ones are skipped, changed ones replaced
whole, so pushing again writes nothing. Several hosts may push at once.

Examples:
  ckptcat push --to postgresql://ckptcat@db.internal/fleet
  ckptcat push --to "host=/run/postgresql dbname=fleet" --origin $(hostname))");
  add_db_option(*cmd, args->db);
  cmd->add_option("--to", args->to, "PostgreSQL connection string")->required()->type_name("TARGET");
  cmd->add_option("--origin", args->origin,
                  "host or file-system name kept with each checkpoint, when hosts do not share "
                  "file systems (default: none)");
  cmd->add_flag("--force", args->force, "replace checkpoints even when unchanged");
  cmd->add_flag("--json", args->json, "print the counts as JSON");
  cmd->add_option("--batch-leaves", args->batch_leaves,
                  "leaves per transaction (whole checkpoints; default 200,000)")
      ->check(CLI::PositiveNumber);
  cmd->callback([args, &action] { action = [args] { return run_push(*args); }; });
}

}  // namespace ckptcat::cli
