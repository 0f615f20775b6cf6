// What differs between two checkpoints or two items, field by field: items
// added and removed, and per item the leaves added, removed and changed. Used
// by `ckptcat diff` (two catalog entries) and by the Verifier (disk against
// catalog). Leaves are matched by key path; results keep _METADATA order.
//
//   auto d = ckptcat::diff_checkpoints(*catalog.load_checkpoint(a),
//                                      *catalog.load_checkpoint(b));
//   if (d.empty()) puts("no differences");
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ckptcat/checkpoint.h"

namespace ckptcat {

struct DiffOptions {
  // Also compare what differs between any two saves of the same model
  // (stored chunk counts and bytes), and the data only a re-read of the same
  // checkpoint should reproduce (leaf errors, string values, step metadata,
  // item flags, finished state). Off for `diff`, on for verification.
  bool exhaustive = false;
};

// One field that differs: name ("shape", "dtype", "sharding", ...) and the
// values rendered as text ("(2, 4)", "float32", the serialized sharding);
// "-" stands for an absent value.
struct FieldChange {
  std::string field;
  std::string before;
  std::string after;
  bool operator==(const FieldChange&) const = default;
};

struct LeafChange {
  enum class Kind { kAdded, kRemoved, kChanged };
  Kind kind = Kind::kChanged;
  std::string name;
  std::optional<Leaf> before;  // absent for kAdded
  std::optional<Leaf> after;   // absent for kRemoved
  std::vector<FieldChange> fields;  // kChanged only
};
const char* to_string(LeafChange::Kind kind) noexcept;  // "added", "removed", "changed"

struct ItemDiff {
  enum class Kind { kAdded, kRemoved, kCompared };
  Kind kind = Kind::kCompared;
  std::string name;
  std::string before_directory;  // "" for kAdded
  std::string after_directory;   // "" for kRemoved
  std::vector<FieldChange> fields;  // item-level fields (kCompared)
  std::vector<LeafChange> leaves;   // kCompared only
  uint64_t leaf_count = 0;          // leaves of the added or removed item

  bool empty() const { return kind == Kind::kCompared && fields.empty() && leaves.empty(); }
};

struct CheckpointDiff {
  std::vector<FieldChange> fields;  // checkpoint-level fields
  std::vector<ItemDiff> items;      // only the items that differ, by name

  bool empty() const { return fields.empty() && items.empty(); }
};

ItemDiff diff_items(const ItemMetadata& before, const ItemMetadata& after,
                    const DiffOptions& options = {});
CheckpointDiff diff_checkpoints(const CheckpointMetadata& before, const CheckpointMetadata& after,
                                const DiffOptions& options = {});

}  // namespace ckptcat
