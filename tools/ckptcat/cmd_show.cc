// ckptcat show: one checkpoint's (or item's) metadata tree, one leaf per line,
// with the bytes each device holds of every array (ckptcat/shards.h).
#include <cstdio>
#include <iostream>
#include <memory>
#include <utility>
#include <vector>

#include "catalog_access.h"
#include "ckptcat/leaf_fields.h"
#include "ckptcat/shards.h"
#include "cli.h"
#include "format.h"
#include "json_output.h"

namespace ckptcat::cli {
namespace {

struct ShowArgs {
  std::string db = kDefaultCatalog;
  std::string target;
  bool json = false;
};

std::string step_text(const CheckpointMetadata& cp) {
  std::string text = cp.step ? std::to_string(*cp.step) : cp.step_name;
  return text + (cp.finished ? " (finished)" : " (unfinished: " + cp.unfinished_reason + ")");
}

std::string item_heading(const ItemMetadata& item) {
  std::string text = (item.name.empty() ? "(direct)" : item.name) + ": " + to_string(item.kind);
  if (item.kind == ItemKind::kPyTree) {
    uint64_t bytes = 0;
    for (const auto& l : item.leaves) bytes += l.stored ? l.stored->bytes : 0;
    text += std::string(", ") + to_string(item.array_store) + ", " + with_commas(item.leaves.size()) +
            (item.leaves.size() == 1 ? " leaf, " : " leaves, ") + human_bytes(bytes);
  } else if (item.json_content) {
    text += ", " + human_bytes(item.json_content->size());
  }
  return text;
}

// The PER DEVICE cell: the bytes of the shard each device holds.
std::string per_device_text(const LeafShards* s) {
  if (!s) return "-";
  switch (s->status) {
    case ShardStatus::kEven: return human_bytes(s->shard_bytes);
    case ShardStatus::kUneven: return human_bytes(s->shard_bytes) + " uneven";
    case ShardStatus::kInvalid: return "invalid";
    case ShardStatus::kUnsharded: break;
  }
  return "-";
}

std::string device_text(const DeviceBytes& d) {
  return human_bytes(d.bytes) + " (device " + std::to_string(d.device_id) + ")";
}

// "8 devices, largest 196 B (device 0), smallest 16 B (device 9), replication
// 1.15x, 1 uneven, ..."; "" when no array is placed on a device.
std::string devices_summary(const ShardTotals& t) {
  const auto largest = t.largest_device(), smallest = t.smallest_device();
  if (!largest || !smallest) return "";
  char overhead[32];
  std::snprintf(overhead, sizeof overhead, "%.2fx", t.replication_overhead());
  std::string text = with_commas(t.devices.size()) + (t.devices.size() == 1 ? " device" : " devices") +
                     (t.device_ids_known ? "" : " (ids unknown: mesh positions)") + ", largest " +
                     device_text(*largest) + ", smallest " + device_text(*smallest) +
                     ", logical " + human_bytes(t.logical_bytes) + ", replication " + overhead;
  if (t.uneven_arrays) text += ", " + with_commas(t.uneven_arrays) + " uneven";
  if (t.invalid_arrays) text += ", " + with_commas(t.invalid_arrays) + " invalid";
  if (t.unsharded_arrays)
    text += ", " + with_commas(t.unsharded_arrays) + " without sharding (" +
            human_bytes(t.unsharded_bytes) + ")";
  return text;
}

// One item's shards, each leaf analysed once: its figures (null: not an
// array of known size) and the item's totals, which add up to the checkpoint's.
struct ItemShards {
  ShardAnalysis analysis;  // owns what `leaves` points to
  std::vector<const LeafShards*> leaves;
  ShardTotals totals;
};

ItemShards item_shards(const ItemMetadata& item) {
  ItemShards out;
  for (const auto& l : item.leaves) out.leaves.push_back(out.analysis.add(l));
  out.totals = out.analysis.totals();
  return out;
}

void print_item(std::ostream& out, const ItemMetadata& item, const ItemShards& analysed) {
  out << '\n' << item_heading(item) << '\n';
  if (item.error) out << "  error: " << *item.error << '\n';
  const auto& shards = analysed.leaves;
  if (!item.leaves.empty()) {
    Table table({"NAME", "KIND", "DTYPE", "SHAPE", "PER DEVICE", "SHARDING"},
                {false, false, false, false, true, false});
    for (size_t i = 0; i < item.leaves.size(); ++i) {
      const Leaf& l = item.leaves[i];
      const auto shape = leaf_shape(l);
      table.add({l.name.empty() ? "(root)" : l.name,
                 l.kind == LeafKind::kOther ? l.value_type : std::string(to_string(l.kind)),
                 leaf_dtype(l).value_or("-"), shape ? shape_to_string(*shape) : "-",
                 per_device_text(shards[i]), leaf_sharding_summary(l)});
    }
    table.print(out, "  ");
  }
  if (const auto devices = devices_summary(analysed.totals); !devices.empty())
    out << "  per device: " << devices << '\n';
  for (size_t i = 0; i < item.leaves.size(); ++i) {
    const Leaf& l = item.leaves[i];
    if (l.error) out << "  error: " << l.name << ": " << *l.error << '\n';
    if (shards[i] && !shards[i]->problem.empty())
      out << "  " << to_string(shards[i]->status) << ": " << l.name << ": " << shards[i]->problem << '\n';
  }
}

// Orbax JSON text, parsed when it is valid JSON, else kept as a string.
ojson json_text(const std::string& text) {
  auto parsed = ojson::parse(text, nullptr, /*allow_exceptions=*/false);
  return parsed.is_discarded() ? ojson(text) : parsed;
}

ojson show_json(const Target& t) {
  const auto& cp = t.checkpoint;
  ojson j;
  auto& c = j["checkpoint"];
  c["directory"] = cp.directory;
  c["root"] = cp.root;
  c["step_name"] = cp.step_name;
  c["step"] = optional_json(cp.step);
  c["finished"] = cp.finished;
  if (!cp.finished) c["unfinished_reason"] = cp.unfinished_reason;
  c["init_timestamp_nsecs"] = optional_json(cp.step_metadata.init_timestamp_nsecs);
  c["commit_timestamp_nsecs"] = optional_json(cp.step_metadata.commit_timestamp_nsecs);
  c["mtime_nsecs"] = cp.mtime_nsecs;
  c["metrics"] = json_text(cp.step_metadata.metrics);
  c["custom_metadata"] = json_text(cp.step_metadata.custom_metadata);
  j["items"] = ojson::array();
  ShardTotals all_items;
  for (const auto& item : cp.items) {
    if (t.item && item.name != *t.item) continue;
    const ItemShards shards = item_shards(item);
    ojson i;
    i["name"] = item.name;
    i["directory"] = item.directory;
    i["kind"] = to_string(item.kind);
    i["handler"] = optional_json(item.handler);
    i["array_store"] = to_string(item.array_store);
    i["error"] = optional_json(item.error);
    i["leaves"] = ojson::array();
    for (size_t k = 0; k < item.leaves.size(); ++k) {
      ojson leaf = leaf_json(item.directory, cp.step, item.leaves[k]);
      const LeafShards* s = shards.leaves[k];
      leaf["shards"] = s ? leaf_shards_json(*s) : ojson(nullptr);
      i["leaves"].push_back(std::move(leaf));
    }
    i["shard_totals"] = shard_totals_json(shards.totals);
    all_items += shards.totals;
    j["items"].push_back(std::move(i));
  }
  j["shard_totals"] = shard_totals_json(all_items);
  return j;
}

int run_show(const ShowArgs& args) {
  const Catalog catalog = open_catalog(args.db, /*writable=*/false, scope_for_targets({args.target}));
  const Target t = resolve_target(catalog, args.target);
  if (args.json) {
    print_json(std::cout, show_json(t), /*indent=*/true);
    return kExitOk;
  }
  const auto& cp = t.checkpoint;
  const auto& sm = cp.step_metadata;
  Table header({"checkpoint", cp.directory});
  header.add({"step", step_text(cp)});
  if (sm.commit_timestamp_nsecs) header.add({"committed", iso_time(*sm.commit_timestamp_nsecs)});
  else header.add({"modified", iso_time(cp.mtime_nsecs) + " (no commit time recorded)"});
  if (sm.init_timestamp_nsecs) header.add({"started", iso_time(*sm.init_timestamp_nsecs)});
  if (sm.metrics != "{}") header.add({"metrics", sm.metrics});
  if (sm.custom_metadata != "{}") header.add({"custom", sm.custom_metadata});
  std::string items;
  for (const auto& i : cp.items) items += (items.empty() ? "" : ", ") + (i.name.empty() ? "(direct)" : i.name);
  header.add({"items", items.empty() ? "-" : items});
  for (const auto& p : cp.problems)
    header.add({p.severity == Problem::Severity::kError ? "error" : "warning", p.file + ": " + p.message});
  std::vector<std::pair<const ItemMetadata*, ItemShards>> shown;
  ShardTotals all_items;
  for (const auto& item : cp.items)
    if (!t.item || item.name == *t.item) {
      shown.emplace_back(&item, item_shards(item));
      all_items += shown.back().second.totals;
    }
  if (const auto devices = devices_summary(all_items); !devices.empty())
    header.add({"per device", devices});
  header.print(std::cout);
  for (const auto& [item, shards] : shown) print_item(std::cout, *item, shards);
  return kExitOk;
}

}  // namespace

void add_show_command(CLI::App& app, Action& action) {
  auto args = std::make_shared<ShowArgs>();
  CLI::App* cmd = app.add_subcommand("show", "print a checkpoint's or item's leaves");
  cmd->footer(R"(SHARDING is in brief: mesh axes and partition spec, or the device.
PER DEVICE is the bytes of the shard each device holding the array keeps
(JAX's rules; "uneven" when a split does not divide a dimension: the largest
shard). "per device" lines sum them by device id.

Examples:
  ckptcat show /runs/exp1/1000
  ckptcat show runs/exp1/1000/params
  ckptcat show --json /runs/exp1/1000 | jq '.items[].leaves[].name')");
  add_db_option(*cmd, args->db);
  cmd->add_option("CHECKPOINT_OR_ITEM", args->target, "a catalogued checkpoint or item folder")
      ->required();
  cmd->add_flag("--json", args->json, "print JSON");
  cmd->callback([args, &action] { action = [args] { return run_show(*args); }; });
}

}  // namespace ckptcat::cli
