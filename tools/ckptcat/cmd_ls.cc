// ckptcat ls: list catalogued checkpoints.
#include <iostream>
#include <memory>

#include "catalog_access.h"
#include "ckptcat/leaf_fields.h"
#include "cli.h"
#include "format.h"
#include "json_output.h"

namespace ckptcat::cli {
namespace {

struct LsArgs {
  std::string db = kDefaultCatalog;
  std::string path;  // "" = all
  bool json = false;
};

int run_ls(const LsArgs& args) {
  const Catalog catalog = open_catalog(args.db, /*writable=*/false, PullScope{std::nullopt, /*leaves=*/false});
  const std::optional<std::string> base =
      args.path.empty() ? std::nullopt : std::optional<std::string>(normal_path(args.path));
  std::vector<CheckpointSummary> rows;
  for (auto& c : catalog.list_checkpoints())
    if (!base || path_is_under(c.directory, *base)) rows.push_back(std::move(c));

  if (args.json) {
    ojson out = ojson::array();
    for (const auto& c : rows) out.push_back(checkpoint_json(c));
    print_json(std::cout, out, /*indent=*/true);
    return kExitOk;
  }
  Table table({"STEP", "STATE", "TIME (UTC)", "ITEMS", "LEAVES", "SIZE", "ERRORS", "PATH"},
              {true, false, false, true, true, true, true, false});
  for (const auto& c : rows)
    table.add({c.step ? std::to_string(*c.step) : "-", c.finished ? "finished" : "unfinished",
               iso_time(c.time_nsecs), with_commas(c.item_count), with_commas(c.leaf_count),
               human_bytes(c.stored_bytes), with_commas(c.error_count), c.directory});
  if (rows.empty()) {
    std::cerr << "no checkpoints" << (base ? " under " + *base : std::string()) << " in "
              << args.db << '\n';
    return kExitOk;
  }
  table.print(std::cout);
  return kExitOk;
}

}  // namespace

void add_ls_command(CLI::App& app, Action& action) {
  auto args = std::make_shared<LsArgs>();
  CLI::App* cmd = app.add_subcommand("ls", "list catalogued checkpoints");
  cmd->footer(R"(TIME is the commit time from _CHECKPOINT_METADATA, or the folder's modification
time when the checkpoint does not record one. SIZE counts stored array chunks.

Examples:
  ckptcat ls
  ckptcat ls /runs/exp1
  ckptcat ls --json | jq '.[] | select(.errors > 0) | .directory')");
  add_db_option(*cmd, args->db);
  cmd->add_option("PATH", args->path, "only checkpoints at or below this folder");
  cmd->add_flag("--json", args->json, "print a JSON array");
  cmd->callback([args, &action] { action = [args] { return run_ls(*args); }; });
}

}  // namespace ckptcat::cli
