// ckptcat diff: leaves added, removed and changed between two checkpoints or items.
#include <iostream>
#include <memory>
#include <sstream>

#include "catalog_access.h"
#include "ckptcat/checkpoint_diff.h"
#include "ckptcat/leaf_fields.h"
#include "cli.h"
#include "format.h"
#include "json_output.h"

namespace ckptcat::cli {
namespace {

struct DiffArgs {
  std::string db = kDefaultCatalog;
  std::string a, b;
  bool json = false;
};

struct Counts {
  uint64_t added = 0, removed = 0, changed = 0;
};

std::string leaf_brief(const Leaf& l) {
  const auto shape = leaf_shape(l);
  std::string text = l.kind == LeafKind::kOther ? l.value_type : to_string(l.kind);
  if (auto d = leaf_dtype(l)) text += " " + *d;
  if (shape) text += " " + shape_to_string(*shape);
  return text;
}

// Field values as people read them: shardings in brief.
std::string field_value(const FieldChange& f, const std::string& value) {
  if (f.field != "sharding" || value == "-") return value;
  try {
    return sharding_summary(sharding_from_serialized_string(value));
  } catch (const ShardingError&) {
    return value;
  }
}

std::string fields_text(const std::vector<FieldChange>& fields) {
  std::string out;
  for (const auto& f : fields)
    out += (out.empty() ? "" : "; ") + f.field + " " + field_value(f, f.before) + " -> " +
           field_value(f, f.after);
  return out;
}

std::string leaves_text(uint64_t n) {
  return n ? " (" + with_commas(n) + (n == 1 ? " leaf)" : " leaves)") : "";
}

void print_item(std::ostream& out, const ItemDiff& item, Counts& n) {
  const std::string name = item.name.empty() ? "(direct)" : item.name;
  switch (item.kind) {
    case ItemDiff::Kind::kAdded:
      out << "+ item " << name << leaves_text(item.leaf_count) << '\n';
      n.added += item.leaf_count;
      return;
    case ItemDiff::Kind::kRemoved:
      out << "- item " << name << leaves_text(item.leaf_count) << '\n';
      n.removed += item.leaf_count;
      return;
    case ItemDiff::Kind::kCompared:
      break;
  }
  out << "item " << name << (item.fields.empty() ? "" : ": " + fields_text(item.fields)) << '\n';
  Table table({"", "NAME", "WHAT"});
  for (const auto& l : item.leaves) {
    switch (l.kind) {
      case LeafChange::Kind::kAdded:
        table.add({"+", l.name, leaf_brief(*l.after)});
        ++n.added;
        break;
      case LeafChange::Kind::kRemoved:
        table.add({"-", l.name, leaf_brief(*l.before)});
        ++n.removed;
        break;
      case LeafChange::Kind::kChanged:
        table.add({"~", l.name, fields_text(l.fields)});
        ++n.changed;
        break;
    }
  }
  if (!table.empty()) {
    std::ostringstream rows;
    table.print(rows, "  ");
    const std::string text = rows.str();
    out << text.substr(text.find('\n') + 1);  // no header line
  }
}

ojson fields_json(const std::vector<FieldChange>& fields) {
  ojson out = ojson::array();
  for (const auto& f : fields) out.push_back({{"field", f.field}, {"before", f.before}, {"after", f.after}});
  return out;
}

ojson item_json(const ItemDiff& item) {
  ojson j;
  j["name"] = item.name;
  j["change"] = item.kind == ItemDiff::Kind::kAdded     ? "added"
                : item.kind == ItemDiff::Kind::kRemoved ? "removed"
                                                        : "changed";
  j["a"] = item.before_directory;
  j["b"] = item.after_directory;
  j["fields"] = fields_json(item.fields);
  j["leaves"] = ojson::array();
  for (const auto& l : item.leaves)
    j["leaves"].push_back({{"name", l.name}, {"change", to_string(l.kind)}, {"fields", fields_json(l.fields)}});
  return j;
}

int run_diff(const DiffArgs& args) {
  const Catalog catalog = open_catalog(args.db, /*writable=*/false, scope_for_targets({args.a, args.b}));
  Target a = resolve_target(catalog, args.a);
  Target b = resolve_target(catalog, args.b);
  // A direct checkpoint is its single item: it compares with items too.
  for (Target* t : {&a, &b})
    if (!t->item && t->checkpoint.direct && t->checkpoint.items.size() == 1)
      t->item = t->checkpoint.items.front().name;
  if (a.item.has_value() != b.item.has_value())
    throw UsageError("cannot compare a checkpoint with an item: give two checkpoints or two items");
  CheckpointDiff diff;
  if (a.item) {
    auto item = diff_items(*a.item_metadata(), *b.item_metadata());
    if (!item.empty()) diff.items.push_back(std::move(item));
  } else {
    diff = diff_checkpoints(a.checkpoint, b.checkpoint);
  }
  if (args.json) {
    ojson j;
    j["a"] = a.directory();
    j["b"] = b.directory();
    j["identical"] = diff.empty();
    j["items"] = ojson::array();
    for (const auto& item : diff.items) j["items"].push_back(item_json(item));
    print_json(std::cout, j, /*indent=*/true);
    return kExitOk;
  }
  if (diff.empty()) {
    std::cout << "no differences\n";
    return kExitOk;
  }
  std::cout << "--- " << a.directory() << "\n+++ " << b.directory() << '\n';
  Counts n;
  for (const auto& item : diff.items) print_item(std::cout, item, n);
  std::cout << with_commas(n.added) << " added, " << with_commas(n.removed) << " removed, "
            << with_commas(n.changed) << " changed\n";
  return kExitOk;
}

}  // namespace

void add_diff_command(CLI::App& app, Action& action) {
  auto args = std::make_shared<DiffArgs>();
  CLI::App* cmd = app.add_subcommand("diff", "compare the leaves of two checkpoints or two items");
  cmd->footer(R"(Leaves are matched by key path and compared on kind, value type, dtype, shape,
sharding, chunk and write shape. "+" added in B, "-" removed, "~" changed.
Exits 0 whether or not they differ.

Examples:
  ckptcat diff /runs/exp1/900 /runs/exp1/1000
  ckptcat diff /runs/a/1000/params /runs/b/1000/params)");
  add_db_option(*cmd, args->db);
  cmd->add_option("A", args->a, "checkpoint or item folder")->required();
  cmd->add_option("B", args->b, "checkpoint or item folder")->required();
  cmd->add_flag("--json", args->json, "print JSON");
  cmd->callback([args, &action] { action = [args] { return run_diff(*args); }; });
}

}  // namespace ckptcat::cli
