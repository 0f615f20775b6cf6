// ckptcat export: every leaf as a JSON object (JSON Lines or one array).
#include <iostream>
#include <memory>

#include "catalog_access.h"
#include "cli.h"
#include "json_output.h"

namespace ckptcat::cli {
namespace {

struct ExportArgs {
  std::string db = kDefaultCatalog;
  std::string format = "jsonl";
  std::string target;  // "" = everything
};

// Writes objects as JSON Lines, or as the elements of one JSON array.
class Emitter {
 public:
  explicit Emitter(bool array) : array_(array) {
    if (array_) std::cout << '[';
  }
  void emit(const ojson& j) {
    if (array_) std::cout << (first_ ? "\n" : ",\n");
    std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    if (!array_) std::cout << '\n';
    first_ = false;
  }
  void finish() {
    if (array_) std::cout << (first_ ? "]\n" : "\n]\n");
  }

 private:
  bool array_;
  bool first_ = true;
};

void emit_item(Emitter& out, const ItemMetadata& item, std::optional<int64_t> step) {
  if (item.error) out.emit(item_error_json(item, step));
  for (const auto& leaf : item.leaves) out.emit(leaf_json(item.directory, step, leaf));
}

int run_export(const ExportArgs& args) {
  const Catalog catalog =
      open_catalog(args.db, /*writable=*/false,
                   args.target.empty() ? PullScope{} : scope_for_targets({args.target}));
  Emitter out(args.format == "json");
  if (!args.target.empty()) {
    const Target t = resolve_target(catalog, args.target);
    for (const auto& item : t.checkpoint.items)
      if (!t.item || item.name == *t.item) emit_item(out, item, t.checkpoint.step);
  } else {
    // One checkpoint in memory at a time.
    for (const auto& summary : catalog.list_checkpoints())
      if (const auto cp = catalog.load_checkpoint(summary.directory))
        for (const auto& item : cp->items) emit_item(out, item, cp->step);
  }
  out.finish();
  return kExitOk;
}

}  // namespace

void add_export_command(CLI::App& app, Action& action) {
  auto args = std::make_shared<ExportArgs>();
  CLI::App* cmd = app.add_subcommand("export", "print every leaf as JSON");
  cmd->footer(R"(Fields: item (folder), step, name, value_type, kind (array, scalar, string,
empty, bare, other), shape, dtype, chunk_shape, write_shape, stored_bytes,
sharding (the _sharding string exactly as stored), and error for a degraded
leaf. An item that could not be read is one object with item, step and error.

Examples:
  ckptcat export > leaves.jsonl
  ckptcat export --format json /runs/exp1/1000/params)");
  add_db_option(*cmd, args->db);
  cmd->add_option("CHECKPOINT_OR_ITEM", args->target, "only this checkpoint or item (default: all)");
  cmd->add_option("--format", args->format, "jsonl: one object per line; json: one array")
      ->check(CLI::IsMember({"jsonl", "json"}))
      ->type_name("jsonl|json");
  cmd->callback([args, &action] { action = [args] { return run_export(*args); }; });
}

}  // namespace ckptcat::cli
