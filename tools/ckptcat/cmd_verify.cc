// ckptcat verify: re-read checkpoints and check their stores against the catalog.
#include <iostream>
#include <memory>
#include <set>

#include "catalog_access.h"
#include "ckptcat/verifier.h"
#include "cli.h"
#include "format.h"
#include "json_output.h"
#include "mounts.h"
#include "object_mounts.h"

namespace ckptcat::cli {
namespace {

struct VerifyArgs {
  std::string db = kDefaultCatalog;
  std::string path;  // "" = the whole catalog
  bool json = false;
  ObjectStoreArgs object_store;
};

// The buckets of the catalogued checkpoints under object URLs (their
// directories come from the catalog, each read only inside itself).
std::vector<std::string> object_buckets(const Catalog& catalog) {
  std::set<std::string> buckets;
  for (const auto& c : catalog.list_checkpoints())
    if (storage::is_url(c.directory)) {
      const auto url = objstore::parse_object_url(c.directory);
      buckets.insert(objstore::with_key(url, "").to_string());
    }
  return {buckets.begin(), buckets.end()};
}

const char* severity_name(Problem::Severity s) {
  return s == Problem::Severity::kError ? "error" : "warning";
}

std::string finding_line(const VerifyFinding& f) {
  std::string where = f.file.empty() ? f.checkpoint : f.file;
  if (!f.leaf.empty()) where += " (leaf " + f.leaf + ")";
  return where + ": " + severity_name(f.severity) + ": " + to_string(f.kind) + ": " + f.message;
}

int run_verify(const VerifyArgs& args) {
  const Catalog catalog = open_catalog(args.db, /*writable=*/false);
  const ObjectMounts mounts(object_buckets(catalog), args.object_store);
  const VerifyReport report = Verifier(catalog).run(
      args.path.empty() ? std::nullopt : std::optional<std::string>(args.path));
  const uint64_t errors = report.error_count(), warnings = report.warning_count();
  if (args.json) {
    ojson j;
    j["checkpoints"] = report.checkpoints;
    j["stores"] = report.stores;
    j["keys"] = report.keys;
    j["errors"] = errors;
    j["warnings"] = warnings;
    j["findings"] = ojson::array();
    for (const auto& f : report.findings)
      j["findings"].push_back({{"kind", to_string(f.kind)},
                               {"severity", severity_name(f.severity)},
                               {"checkpoint", f.checkpoint},
                               {"item", f.item},
                               {"leaf", f.leaf},
                               {"file", f.file},
                               {"message", f.message}});
    print_json(std::cout, j, /*indent=*/true);
  } else {
    for (const auto& f : report.findings) std::cout << finding_line(f) << '\n';
    std::cerr << "verified " << with_commas(report.checkpoints) << " checkpoint"
              << (report.checkpoints == 1 ? "" : "s") << ", " << with_commas(report.stores)
              << " array store" << (report.stores == 1 ? "" : "s") << " ("
              << with_commas(report.keys) << " keys): "
              << (errors || warnings ? with_commas(errors) + (errors == 1 ? " error, " : " errors, ") +
                                           with_commas(warnings) + (warnings == 1 ? " warning" : " warnings")
                                     : std::string("no problems"))
              << '\n';
  }
  return errors ? kExitProblems : kExitOk;
}

}  // namespace

void add_verify_command(CLI::App& app, Action& action) {
  auto args = std::make_shared<VerifyArgs>();
  CLI::App* cmd = app.add_subcommand("verify", "check catalogued checkpoints against the disk");
  cmd->footer(R"(Re-reads each checkpoint and reports what differs from the catalog (leaves
added, removed or changed, folders gone, checkpoints not imported), walks
every OCDBT node (checksums), looks for missing data files and values past
the end of their file, and matches zarr chunk keys with zarr metadata.
One finding per line on stdout: FILE: SEVERITY: KIND: MESSAGE.
Exits 1 when an error is found (warnings alone exit 0). Checkpoints under
s3:// or gs:// URLs are re-read from their store and compared; their array
stores are not checked yet.

Examples:
  ckptcat verify
  ckptcat verify /runs/exp1 --json)");
  add_db_option(*cmd, args->db);
  cmd->add_option("PATH", args->path, "only checkpoints at or below this folder");
  cmd->add_flag("--json", args->json, "print JSON");
  add_object_store_options(*cmd, args->object_store);
  cmd->callback([args, &action] { action = [args] { return run_verify(*args); }; });
}

}  // namespace ckptcat::cli
