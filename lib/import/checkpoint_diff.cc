// Field-by-field comparison of checkpoints and items (ckptcat/checkpoint_diff.h).
#include "ckptcat/checkpoint_diff.h"

#include <deque>
#include <map>

#include "ckptcat/leaf_fields.h"

namespace ckptcat {
namespace {

constexpr const char* kAbsent = "-";

std::string text(const std::string& s) { return s; }
std::string text(bool b) { return b ? "true" : "false"; }
std::string text(int64_t v) { return std::to_string(v); }
std::string text(uint64_t v) { return std::to_string(v); }
std::string text(const Shape& s) { return shape_to_string(s); }
template <typename T>
std::string text(const std::optional<T>& v) { return v ? text(*v) : kAbsent; }

std::string text(const std::vector<Problem>& problems) {
  std::string out;
  for (const auto& p : problems)
    out += std::string(out.empty() ? "" : "; ") +
           (p.severity == Problem::Severity::kError ? "error " : "warning ") + p.file + ": " +
           p.message;
  return out.empty() ? kAbsent : out;
}

// Collects the fields that differ, each rendered the same way on both sides.
class Fields {
 public:
  template <typename T>
  void compare(const char* field, const T& before, const T& after) {
    if (before == after) return;
    auto b = text(before), a = text(after);
    if (b != a) out.push_back({field, std::move(b), std::move(a)});
  }
  std::vector<FieldChange> out;
};

std::optional<uint64_t> stored_chunks(const Leaf& l) {
  return l.stored ? std::optional<uint64_t>(l.stored->chunk_count) : std::nullopt;
}
std::optional<uint64_t> stored_bytes(const Leaf& l) {
  return l.stored ? std::optional<uint64_t>(l.stored->bytes) : std::nullopt;
}

std::vector<FieldChange> leaf_fields(const Leaf& b, const Leaf& a, const DiffOptions& options) {
  Fields f;
  f.compare("value_type", b.value_type, a.value_type);
  f.compare("kind", std::string(to_string(b.kind)), std::string(to_string(a.kind)));
  f.compare("dtype", leaf_dtype(b), leaf_dtype(a));
  f.compare("shape", leaf_shape(b), leaf_shape(a));
  f.compare("sharding", b.sharding_string, a.sharding_string);
  f.compare("chunk_shape", leaf_chunk_shape(b), leaf_chunk_shape(a));
  f.compare("write_shape", leaf_write_shape(b), leaf_write_shape(a));
  if (options.exhaustive) {
    f.compare("skip_deserialize", b.skip_deserialize, a.skip_deserialize);
    f.compare("stored_chunks", stored_chunks(b), stored_chunks(a));
    f.compare("stored_bytes", stored_bytes(b), stored_bytes(a));
    f.compare("random_key_impl", b.random_key_impl, a.random_key_impl);
    f.compare("string_value", b.string_value, a.string_value);
    f.compare("inline_shape", b.inline_shape, a.inline_shape);
    f.compare("inline_dtype", b.inline_dtype, a.inline_dtype);
    f.compare("error", b.error, a.error);
  }
  return std::move(f.out);
}

// Key paths identify leaves (param names may collide).
std::string key_of(const KeyPath& path) {
  std::string key;
  for (const auto& e : path) {
    key += e.type == KeyType::kSequence ? '1' : '2';
    key += e.key;
    key += '\0';
  }
  return key;
}

// An item present on one side only.
ItemDiff whole_item_diff(ItemDiff::Kind kind, const ItemMetadata& item) {
  ItemDiff diff;
  diff.kind = kind;
  diff.name = item.name;
  (kind == ItemDiff::Kind::kRemoved ? diff.before_directory : diff.after_directory) =
      item.directory;
  diff.leaf_count = item.leaves.size();
  return diff;
}

}  // namespace

const char* to_string(LeafChange::Kind kind) noexcept {
  switch (kind) {
    case LeafChange::Kind::kAdded: return "added";
    case LeafChange::Kind::kRemoved: return "removed";
    case LeafChange::Kind::kChanged: return "changed";
  }
  return "changed";
}

ItemDiff diff_items(const ItemMetadata& before, const ItemMetadata& after,
                    const DiffOptions& options) {
  ItemDiff d;
  d.name = after.name;
  d.before_directory = before.directory;
  d.after_directory = after.directory;
  Fields f;
  f.compare("kind", std::string(to_string(before.kind)), std::string(to_string(after.kind)));
  if (options.exhaustive) {
    f.compare("handler", before.handler, after.handler);
    f.compare("array_store", std::string(to_string(before.array_store)),
              std::string(to_string(after.array_store)));
    f.compare("use_ocdbt", before.flags.use_ocdbt, after.flags.use_ocdbt);
    f.compare("use_zarr3", before.flags.use_zarr3, after.flags.use_zarr3);
    f.compare("store_array_data_equal_to_fill_value",
              before.flags.store_array_data_equal_to_fill_value,
              after.flags.store_array_data_equal_to_fill_value);
    f.compare("custom_metadata", before.flags.custom_metadata, after.flags.custom_metadata);
    f.compare("has_value_metadata_tree", before.flags.has_value_metadata_tree,
              after.flags.has_value_metadata_tree);
    f.compare("json_content", before.json_content, after.json_content);
    f.compare("error", before.error, after.error);
    f.compare("problems", before.problems, after.problems);
  }
  d.fields = std::move(f.out);

  std::map<std::string, std::deque<size_t>> after_by_key;
  for (size_t i = 0; i < after.leaves.size(); ++i)
    after_by_key[key_of(after.leaves[i].key_path)].push_back(i);
  std::vector<bool> matched(after.leaves.size(), false);
  for (const auto& b : before.leaves) {
    auto it = after_by_key.find(key_of(b.key_path));
    if (it == after_by_key.end() || it->second.empty()) {
      d.leaves.push_back({LeafChange::Kind::kRemoved, b.name, b, std::nullopt, {}});
      continue;
    }
    const size_t i = it->second.front();
    it->second.pop_front();
    matched[i] = true;
    auto fields = leaf_fields(b, after.leaves[i], options);
    if (!fields.empty())
      d.leaves.push_back({LeafChange::Kind::kChanged, b.name, b, after.leaves[i], std::move(fields)});
  }
  for (size_t i = 0; i < after.leaves.size(); ++i)
    if (!matched[i])
      d.leaves.push_back(
          {LeafChange::Kind::kAdded, after.leaves[i].name, std::nullopt, after.leaves[i], {}});
  return d;
}

CheckpointDiff diff_checkpoints(const CheckpointMetadata& before, const CheckpointMetadata& after,
                                const DiffOptions& options) {
  CheckpointDiff d;
  Fields f;
  if (options.exhaustive) {
    f.compare("finished", before.finished, after.finished);
    f.compare("unfinished_reason", before.unfinished_reason, after.unfinished_reason);
    f.compare("direct", before.direct, after.direct);
    f.compare("layout_version", int64_t{before.layout_version}, int64_t{after.layout_version});
    f.compare("commit_marker", before.commit_marker, after.commit_marker);
    const auto& bs = before.step_metadata;
    const auto& as = after.step_metadata;
    f.compare("step_metadata", bs.present, as.present);
    f.compare("metrics", bs.metrics, as.metrics);
    f.compare("performance_metrics", bs.performance_metrics, as.performance_metrics);
    f.compare("custom_metadata", bs.custom_metadata, as.custom_metadata);
    f.compare("init_timestamp_nsecs", bs.init_timestamp_nsecs, as.init_timestamp_nsecs);
    f.compare("commit_timestamp_nsecs", bs.commit_timestamp_nsecs, as.commit_timestamp_nsecs);
    f.compare("problems", before.problems, after.problems);
  }
  d.fields = std::move(f.out);

  std::map<std::string, const ItemMetadata*> after_items;
  for (const auto& item : after.items) after_items[item.name] = &item;
  for (const auto& b : before.items) {
    auto it = after_items.find(b.name);
    if (it == after_items.end()) {
      d.items.push_back(whole_item_diff(ItemDiff::Kind::kRemoved, b));
      continue;
    }
    auto item = diff_items(b, *it->second, options);
    after_items.erase(it);
    if (!item.empty()) d.items.push_back(std::move(item));
  }
  for (const auto& a : after.items) {
    if (!after_items.count(a.name)) continue;
    d.items.push_back(whole_item_diff(ItemDiff::Kind::kAdded, a));
  }
  return d;
}

}  // namespace ckptcat
