// ckptcat: catalog the metadata of Orbax (JAX) checkpoints in SQLite.
//
// main() parses the command line (each command lives in cmd_<name>.cc), runs
// the chosen command and turns every failure into a one-line message on
// stderr and the documented exit code.
#include <unistd.h>

#include <iostream>
#include <new>

#include "ckptcat/catalog.h"
#include "ckptcat/error.h"
#include "cli.h"

#ifndef CKPTCAT_VERSION
#error "CKPTCAT_VERSION must be defined by the build"
#endif

namespace ckptcat::cli {

void add_db_option(CLI::App& command, std::string& db) {
  command.add_option("--db", db, "catalog file (default ./ckptcat.db, or $CKPTCAT_DB)")
      ->envname("CKPTCAT_DB")
      ->type_name("FILE");
}

namespace {

constexpr const char* kFooter = R"(Examples:
  ckptcat import /runs                      catalog every checkpoint under /runs
  ckptcat ls                                list checkpoints, newest step last
  ckptcat show /runs/exp1/1000/params       leaves of one item
  ckptcat find --dtype bfloat16 --mesh-axis model
  ckptcat diff /runs/exp1/900 /runs/exp1/1000
  ckptcat export --format jsonl > leaves.jsonl
  ckptcat verify /runs/exp1
  ckptcat publish /share/ckptcat.db         a read-only copy to share
  ckptcat plan /runs/exp1/1000 --mesh data=4,model=8 --device-memory 16GiB
  ckptcat push --to postgresql://db.internal/fleet

Exit status: 0 success; 1 done, but some checkpoints or leaves are in error
(import errors, problems found by verify) or a plan does not divide or fit;
2 usage or catalog error (bad options, unreadable or newer catalog, unknown
checkpoint).
Run 'ckptcat COMMAND --help' for a command's options.)";

int run(int argc, char** argv) {
  CLI::App app{"ckptcat: catalog the metadata of Orbax (JAX) checkpoints in SQLite", "ckptcat"};
  app.set_version_flag("--version", std::string("ckptcat ") + CKPTCAT_VERSION +
                                        " (catalog schema " +
                                        std::to_string(Catalog::schema_version()) + ")");
  app.footer(kFooter);
  app.require_subcommand(0, 1);
  Action action;
  add_import_command(app, action);
  add_ls_command(app, action);
  add_show_command(app, action);
  add_find_command(app, action);
  add_diff_command(app, action);
  add_export_command(app, action);
  add_verify_command(app, action);
  add_publish_command(app, action);
  add_plan_command(app, action);
  add_push_command(app, action);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::cout << app.help();
    return kExitOk;
  } catch (const CLI::CallForAllHelp&) {
    std::cout << app.help("", CLI::AppFormatMode::All);
    return kExitOk;
  } catch (const CLI::CallForVersion&) {
    std::cout << app.version() << '\n';
    return kExitOk;
  } catch (const CLI::ParseError& e) {
    // A subcommand's --help reaches here as CallForHelp raised from it.
    std::cerr << "ckptcat: " << e.what() << "\nRun 'ckptcat --help' for usage.\n";
    return kExitUsage;
  }
  if (!action) {
    std::cerr << app.help();
    return kExitUsage;
  }
  return action();
}

}  // namespace
}  // namespace ckptcat::cli

int main(int argc, char** argv) {
  using namespace ckptcat::cli;
  try {
    return run(argc, argv);
  } catch (const UsageError& e) {
    std::cerr << "ckptcat: " << e.what() << '\n';
  } catch (const ckptcat::Error& e) {
    std::cerr << "ckptcat: " << e.what() << '\n';
  } catch (const std::bad_alloc&) {
    std::cerr << "ckptcat: out of memory\n";
  } catch (const std::exception& e) {
    std::cerr << "ckptcat: " << e.what() << '\n';
  }
  return kExitUsage;
}
