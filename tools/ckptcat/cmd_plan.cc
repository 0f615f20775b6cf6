// ckptcat plan: would a checkpoint (or item) load onto another mesh? Keeps each
// array's partition spec by axis name on the target mesh (ckptcat/mesh_plan.h)
// and reports what does not divide, the axes the target lacks, the bytes per
// device and whether they fit. Exit 1 when something does not divide or fit.
#include <cstdio>
#include <iostream>
#include <memory>
#include <stdexcept>

#include "catalog_access.h"
#include "ckptcat/mesh_plan.h"
#include "cli.h"
#include "format.h"
#include "json_output.h"

namespace ckptcat::cli {
namespace {

struct PlanArgs {
  std::string db = kDefaultCatalog;
  std::string target;
  std::string mesh;
  std::string device_memory;
  size_t top = 10;
  bool json = false;
};

std::string mesh_text(const std::vector<MeshAxis>& mesh) {
  std::string text;
  for (const auto& a : mesh) text += (text.empty() ? "" : ", ") + a.name + "=" + std::to_string(a.size);
  return text;
}

std::string leaf_label(const PlannedLeaf& p, bool with_item) {
  return (with_item ? (p.item.empty() ? "(direct)" : p.item) + "/" : "") + (p.name.empty() ? "(root)" : p.name);
}

ojson planned_json(const PlannedLeaf& p) {
  ojson j;
  j["item"] = p.item;
  j["name"] = p.name;
  j["shape"] = p.shape;
  j["dtype"] = p.dtype;
  j["shards"] = leaf_shards_json(p.shards);
  j["bytes_on_largest_device"] = p.bytes_on_largest;
  return j;
}

ojson plan_json(const Target& t, const MeshPlan& plan, const std::optional<uint64_t>& memory) {
  ojson j;
  j["target"] = t.directory();
  j["mesh"] = ojson::object();
  for (const auto& a : plan.mesh) j["mesh"][a.name] = a.size;
  j["device_count"] = plan.device_count;
  j["arrays"] = plan.arrays;
  j["logical_bytes"] = plan.logical_bytes;
  j["every_device_bytes"] = plan.every_device_bytes;
  j["largest_device"] = {{"id", plan.largest.device_id}, {"bytes", plan.largest.bytes}};
  j["smallest_device"] = {{"id", plan.smallest.device_id}, {"bytes", plan.smallest.bytes}};
  j["device_memory"] = memory ? ojson(*memory) : ojson(nullptr);
  j["fits"] = memory ? ojson(plan.fits(*memory)) : ojson(nullptr);
  j["divides"] = plan.divides();
  j["missing_axes"] = ojson::array();
  for (const auto& [axis, arrays] : plan.missing_axes)
    j["missing_axes"].push_back({{"axis", axis}, {"arrays", arrays}});
  for (const auto& [key, list] : {std::pair{"not_divisible", &plan.not_divisible},
                                  std::pair{"invalid", &plan.invalid}, std::pair{"top", &plan.top}}) {
    j[key] = ojson::array();
    for (const auto& p : *list) j[key].push_back(planned_json(p));
  }
  j["replicated_arrays"] = plan.replicated_arrays;
  return j;
}

void print_leaves(std::ostream& out, const std::vector<PlannedLeaf>& leaves, bool with_item) {
  for (const auto& p : leaves)
    out << "  " << leaf_label(p, with_item) << " " << shape_to_string(p.shape) << " " << p.dtype
        << ": " << p.shards.problem << '\n';
}

void print_plan(std::ostream& out, const MeshPlan& plan, const std::optional<uint64_t>& memory,
                bool with_item) {
  auto device = [](const DeviceBytes& d) {
    return human_bytes(d.bytes) + " (device " + std::to_string(d.device_id) + ")";
  };
  Table header({"target mesh", mesh_text(plan.mesh) + " (" + with_commas(plan.device_count) +
                                   (plan.device_count == 1 ? " device)" : " devices)")});
  header.add({"arrays", with_commas(plan.arrays) + ", " + human_bytes(plan.logical_bytes)});
  header.add({"per device", "largest " + device(plan.largest) + ", smallest " + device(plan.smallest)});
  if (memory)
    header.add({"device memory", human_bytes(*memory) + ": " +
                                     (plan.fits(*memory) ? "fits" : "does not fit (" +
                                      human_bytes(plan.largest.bytes - *memory) + " over)")});
  std::string missing;
  for (const auto& [axis, arrays] : plan.missing_axes)
    missing += (missing.empty() ? "" : ", ") + axis + " (" + with_commas(arrays) +
               (arrays == 1 ? " array)" : " arrays)");
  if (!missing.empty()) header.add({"missing axes", missing + ": those dimensions are counted unsplit"});
  if (!plan.not_divisible.empty())
    header.add({"not divisible", with_commas(plan.not_divisible.size()) + " arrays (JAX refuses them)"});
  if (!plan.invalid.empty()) header.add({"invalid", with_commas(plan.invalid.size()) + " arrays"});
  if (plan.replicated_arrays)
    header.add({"replicated", with_commas(plan.replicated_arrays) +
                                  " arrays without axis names to keep (positional or no sharding), "
                                  "counted on every device"});
  header.print(out);
  if (!plan.not_divisible.empty()) {
    out << "\nnot divisible on the target mesh:\n";
    print_leaves(out, plan.not_divisible, with_item);
  }
  if (!plan.invalid.empty()) {
    out << "\ninvalid on the target mesh:\n";
    print_leaves(out, plan.invalid, with_item);
  }
  if (!plan.top.empty()) {
    out << "\nlargest contributors to device " << plan.largest.device_id << ":\n";
    Table top({"NAME", "DTYPE", "SHAPE", "SHARD", "BYTES"}, {false, false, false, false, true});
    for (const auto& p : plan.top)
      top.add({leaf_label(p, with_item), p.dtype, shape_to_string(p.shape),
               shape_to_string(p.shards.shard_shape), human_bytes(p.bytes_on_largest)});
    top.print(out, "  ");
  }
}

int run_plan(const PlanArgs& args) {
  std::vector<MeshAxis> mesh;
  try {
    mesh = parse_mesh(args.mesh);
  } catch (const std::invalid_argument& e) {
    throw UsageError(std::string("--mesh: ") + e.what());
  }
  std::optional<uint64_t> memory;
  if (!args.device_memory.empty()) memory = parse_bytes(args.device_memory);
  const Catalog catalog = open_catalog(args.db, /*writable=*/false, scope_for_targets({args.target}));
  const Target t = resolve_target(catalog, args.target);
  std::vector<const ItemMetadata*> items;
  for (const auto& item : t.checkpoint.items)
    if (!t.item || item.name == *t.item) items.push_back(&item);
  const MeshPlan plan = plan_on_mesh(items, mesh, args.top);
  if (args.json) print_json(std::cout, plan_json(t, plan, memory), /*indent=*/true);
  else print_plan(std::cout, plan, memory, /*with_item=*/items.size() > 1);
  const bool ok = plan.divides() && (!memory || plan.fits(*memory));
  return ok ? kExitOk : kExitProblems;
}

}  // namespace

void add_plan_command(CLI::App& app, Action& action) {
  auto args = std::make_shared<PlanArgs>();
  CLI::App* cmd = app.add_subcommand("plan", "would a checkpoint or item fit on another mesh?");
  cmd->footer(R"(Keeps each array's partition spec by axis name on the target mesh (device
ids 0..n-1) and reports the arrays whose dimensions the new mesh does not
divide, the axes the checkpoint uses that the target lacks, the bytes per
device, whether they fit in --device-memory, and the largest contributors.
Single-device arrays stay whole on one device (their id if the target has it,
else 0); positional or unsharded arrays are counted replicated on every device.

Exit status: 0 everything divides (and fits); 1 something does not divide,
an axis is missing, or the largest device exceeds --device-memory; 2 usage.

Examples:
  ckptcat plan /runs/exp1/1000 --mesh data=4,model=8 --device-memory 16GiB
  ckptcat plan /runs/exp1/1000/params --mesh data=64 --json)");
  add_db_option(*cmd, args->db);
  cmd->add_option("CHECKPOINT_OR_ITEM", args->target, "a catalogued checkpoint or item folder")
      ->required();
  cmd->add_option("--mesh", args->mesh, "target mesh, e.g. data=4,model=8")
      ->required()
      ->type_name("AXIS=N,...");
  cmd->add_option("--device-memory", args->device_memory, "bytes per device, e.g. 16GiB")
      ->type_name("SIZE");
  cmd->add_option("--top", args->top, "largest contributors to list (default 10)")->type_name("N");
  cmd->add_flag("--json", args->json, "print JSON");
  cmd->callback([args, &action] { action = [args] { return run_plan(*args); }; });
}

}  // namespace ckptcat::cli
