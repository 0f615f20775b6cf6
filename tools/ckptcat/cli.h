// What every ckptcat command shares: the exit-code contract, usage errors,
// and how a command is registered with the command-line parser.
#pragma once

#include <functional>
#include <stdexcept>
#include <string>

#include <CLI/CLI.hpp>

namespace ckptcat::cli {

// The exit codes documented in `ckptcat --help`.
enum ExitCode : int {
  kExitOk = 0,        // success
  kExitProblems = 1,  // done, but some checkpoints or leaves are in error
  kExitUsage = 2,     // bad usage, unusable catalog, unknown checkpoint
};

// A mistake of the caller (bad value, unknown checkpoint): exit 2, no file.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The command to run once parsing succeeded; set by the parsed subcommand.
using Action = std::function<int()>;

// Default catalog path, overridden by --db or $CKPTCAT_DB.
inline constexpr const char* kDefaultCatalog = "ckptcat.db";

// Adds the options every catalog command takes: --db FILE.
void add_db_option(CLI::App& command, std::string& db);

// One per command file; each adds its subcommand to `app` and, when that
// subcommand is parsed, stores what to run in `action`.
void add_import_command(CLI::App& app, Action& action);
void add_ls_command(CLI::App& app, Action& action);
void add_show_command(CLI::App& app, Action& action);
void add_find_command(CLI::App& app, Action& action);
void add_diff_command(CLI::App& app, Action& action);
void add_export_command(CLI::App& app, Action& action);
void add_verify_command(CLI::App& app, Action& action);
void add_publish_command(CLI::App& app, Action& action);
void add_plan_command(CLI::App& app, Action& action);
void add_push_command(CLI::App& app, Action& action);

}  // namespace ckptcat::cli
