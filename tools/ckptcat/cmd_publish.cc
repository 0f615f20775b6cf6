// ckptcat publish: a compact, self-contained copy of the catalog for others to read.
#include <filesystem>
#include <iostream>
#include <memory>

#include "catalog_access.h"
#include "cli.h"
#include "format.h"

namespace ckptcat::cli {
namespace {

struct PublishArgs {
  std::string db = kDefaultCatalog;
  std::string out;
  bool force = false;
};

int run_publish(const PublishArgs& args) {
  std::error_code ec;
  if (std::filesystem::exists(args.out, ec) && !std::filesystem::is_directory(args.out, ec) &&
      !args.force)
    throw UsageError(args.out + ": already exists (add --force to replace it)");
  const Catalog catalog = open_catalog(args.db, /*writable=*/false);
  PublishOptions options;
  options.overwrite = args.force;
  catalog.publish(args.out, options);
  CatalogOptions read_only;
  read_only.read_only = true;
  const CatalogStats copy = Catalog(args.out, read_only).stats();
  std::cerr << "published " << args.db << " to " << args.out << ": "
            << with_commas(copy.checkpoints) << " checkpoint" << (copy.checkpoints == 1 ? "" : "s")
            << ", " << with_commas(copy.leaves) << " leaves, " << human_bytes(copy.file_bytes)
            << '\n';
  return kExitOk;
}

}  // namespace

void add_publish_command(CLI::App& app, Action& action) {
  auto args = std::make_shared<PublishArgs>();
  CLI::App* cmd =
      app.add_subcommand("publish", "write a compact, self-contained copy of the catalog to share");
  cmd->footer(R"(The copy is made with SQLite's VACUUM INTO and uses a rollback journal instead
of WAL: it is one file, with no -wal or -shm beside it, that ckptcat, sqlite3
and Python read from a read-only folder, a bucket or a web server download.
The catalog itself is only read (it may be on a read-only share too).

Examples:
  ckptcat publish /share/ckptcat.db
  ckptcat publish --db runs.db --force /share/runs.db
  sqlite3 'file:/share/ckptcat.db?immutable=1' 'SELECT * FROM checkpoint_summary')");
  add_db_option(*cmd, args->db);
  cmd->add_option("OUT", args->out, "file to write the copy to")->required()->type_name("OUT.db");
  cmd->add_flag("-f,--force", args->force, "replace OUT when it exists");
  cmd->callback([args, &action] { action = [args] { return run_publish(*args); }; });
}

}  // namespace ckptcat::cli
