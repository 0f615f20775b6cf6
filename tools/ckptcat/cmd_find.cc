// ckptcat find: leaves across all catalogued checkpoints matching filters.
#include <iostream>
#include <memory>

#include "catalog_access.h"
#include "ckptcat/leaf_fields.h"
#include "cli.h"
#include "format.h"
#include "json_output.h"

namespace ckptcat::cli {
namespace {

struct FindArgs {
  std::string db = kDefaultCatalog;
  bool json = false;
  std::string name, dtype, shape, mesh_axis, sharding, kind, value_type, min_bytes, max_bytes;
  int rank = -1;
  uint64_t limit = 0;
};

// "2,4", "(2, 4)", "[2,4]", "2x4", "()" -> {2, 4}.
Shape parse_shape(const std::string& text) {
  Shape shape;
  std::string digits;
  auto flush = [&] {
    if (digits.empty()) return;
    try {
      shape.push_back(std::stoll(digits));
    } catch (const std::exception&) {
      throw UsageError("--shape: dimension too large in '" + text + "'");
    }
    digits.clear();
  };
  for (char c : text) {
    if (c >= '0' && c <= '9') digits += c;
    else if (c == ',' || c == 'x' || c == ' ') flush();
    else if (c != '(' && c != ')' && c != '[' && c != ']')
      throw UsageError("--shape: expected sizes like 2,4 or (2, 4) or () , got '" + text + "'");
  }
  flush();
  return shape;
}

LeafFilter filter_of(const FindArgs& a) {
  LeafFilter f;
  if (!a.name.empty()) f.name_glob = a.name;
  if (!a.dtype.empty()) f.dtype = a.dtype;
  if (!a.shape.empty()) f.shape = parse_shape(a.shape);
  if (a.rank >= 0) f.rank = a.rank;
  if (!a.mesh_axis.empty()) f.mesh_axis = a.mesh_axis;
  if (a.sharding == "named") f.sharding_kind = ShardingKind::kNamed;
  if (a.sharding == "single") f.sharding_kind = ShardingKind::kSingleDevice;
  if (a.sharding == "positional") f.sharding_kind = ShardingKind::kPositional;
  if (!a.kind.empty()) f.kind = leaf_kind_from_string(a.kind);
  if (!a.value_type.empty()) f.value_type = a.value_type;
  if (!a.min_bytes.empty()) f.min_stored_bytes = parse_bytes(a.min_bytes);
  if (!a.max_bytes.empty()) f.max_stored_bytes = parse_bytes(a.max_bytes);
  f.limit = a.limit;
  return f;
}

int run_find(const FindArgs& args) {
  const LeafFilter filter = filter_of(args);
  const Catalog catalog = open_catalog(args.db, /*writable=*/false);
  const auto hits = catalog.find_leaves(filter);
  if (args.json) {
    ojson out = ojson::array();
    for (const auto& h : hits) {
      ojson j;
      j["checkpoint"] = h.checkpoint_directory;
      j.update(leaf_json(h.item_directory, h.step, h.leaf));
      out.push_back(std::move(j));
    }
    print_json(std::cout, out, /*indent=*/true);
    return kExitOk;
  }
  if (hits.empty()) {
    std::cerr << "no leaves match\n";
    return kExitOk;
  }
  Table table({"STEP", "NAME", "KIND", "DTYPE", "SHAPE", "SIZE", "SHARDING", "ITEM"},
              {true, false, false, false, false, true, false, false});
  for (const auto& h : hits) {
    const auto shape = leaf_shape(h.leaf);
    table.add({h.step ? std::to_string(*h.step) : "-", h.leaf.name, to_string(h.leaf.kind),
               leaf_dtype(h.leaf).value_or("-"), shape ? shape_to_string(*shape) : "-",
               h.leaf.stored ? human_bytes(h.leaf.stored->bytes) : "-",
               leaf_sharding_summary(h.leaf), h.item_directory});
  }
  table.print(std::cout);
  return kExitOk;
}

}  // namespace

void add_find_command(CLI::App& app, Action& action) {
  auto args = std::make_shared<FindArgs>();
  CLI::App* cmd = app.add_subcommand("find", "find leaves across all checkpoints");
  cmd->footer(R"(Filters combine (all must match). --name is a glob on the dotted leaf name
(case-sensitive, * and ? and [...]). Sizes take K, M, G suffixes (binary).

Examples:
  ckptcat find --name 'params.*.kernel' --dtype bfloat16
  ckptcat find --mesh-axis model --rank 2
  ckptcat find --min-bytes 1G --json)");
  add_db_option(*cmd, args->db);
  cmd->add_option("--name", args->name, "leaf name glob, e.g. 'params.*.w'")->type_name("GLOB");
  cmd->add_option("--dtype", args->dtype, "array or scalar dtype, e.g. bfloat16")->type_name("D");
  cmd->add_option("--shape", args->shape, "exact shape, e.g. 512,256 or '()'")->type_name("S");
  cmd->add_option("--rank", args->rank, "number of dimensions")
      ->check(CLI::Range(0, 64))
      ->type_name("N");
  cmd->add_option("--mesh-axis", args->mesh_axis, "NamedSharding mesh with this axis")
      ->type_name("A");
  cmd->add_option("--sharding", args->sharding, "sharding kind")
      ->check(CLI::IsMember({"named", "single", "positional"}))
      ->type_name("named|single|positional");
  cmd->add_option("--kind", args->kind, "leaf kind")
      ->check(CLI::IsMember({"array", "scalar", "string", "empty", "bare", "other"}))
      ->type_name("K");
  cmd->add_option("--value-type", args->value_type, "_METADATA value_type, e.g. jax.Array")
      ->type_name("T");
  cmd->add_option("--min-bytes", args->min_bytes, "stored size at least N")->type_name("N");
  cmd->add_option("--max-bytes", args->max_bytes, "stored size at most N")->type_name("N");
  cmd->add_option("--limit", args->limit, "print at most N leaves")->type_name("N");
  cmd->add_flag("--json", args->json, "print a JSON array");
  cmd->callback([args, &action] { action = [args] { return run_find(*args); }; });
}

}  // namespace ckptcat::cli
