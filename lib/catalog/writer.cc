#include "writer.h"

#include <optional>

namespace ckptcat::catalog_detail {
namespace {

void bind_optional(SQLite::Statement& stmt, int index, const std::optional<std::string>& value) {
  if (value) stmt.bind(index, *value);
  else stmt.bind(index);
}

void bind_optional(SQLite::Statement& stmt, int index, const std::optional<int64_t>& value) {
  if (value) stmt.bind(index, *value);
  else stmt.bind(index);
}

void bind_optional(SQLite::Statement& stmt, int index, const std::optional<bool>& value) {
  if (value) stmt.bind(index, static_cast<int64_t>(*value));
  else stmt.bind(index);
}

void run(SQLite::Statement& stmt) {
  stmt.exec();
  stmt.reset();
}

// The name and directory a typed leaf object carries, if any.
template <typename T>
const T* metadata_as(const Leaf& leaf) {
  return std::get_if<T>(&leaf.metadata);
}

std::pair<const std::string*, const std::string*> metadata_name_directory(const Leaf& leaf) {
  return std::visit(
      [](const auto& m) -> std::pair<const std::string*, const std::string*> {
        if constexpr (std::is_same_v<std::decay_t<decltype(m)>, std::monostate>)
          return {nullptr, nullptr};
        else
          return {&m.name, &m.directory};
      },
      leaf.metadata);
}

// The typed object's name and directory where they differ from the leaf name
// and the item directory (leaf_extras keeps them then), else null.
std::pair<const std::string*, const std::string*> differing_name_directory(const Leaf& leaf,
                                                                          const ItemMetadata& item) {
  const auto [name, directory] = metadata_name_directory(leaf);
  return {name && *name != leaf.name ? name : nullptr,
          directory && *directory != item.directory ? directory : nullptr};
}

// Orbax treats "cpu:0" and "TFRT_CPU_0" as equal; storage must not.
bool exactly_equal(const ShardingMetadata& a, const ShardingMetadata& b) {
  if (a.index() != b.index()) return false;
  if (const auto* single = std::get_if<SingleDeviceShardingMetadata>(&a))
    return single->device_str == std::get<SingleDeviceShardingMetadata>(b).device_str;
  return a == b;
}

}  // namespace

CheckpointWriter::CheckpointWriter(SQLite::Database& db, Interner& interner)
    : db_(db),
      interner_(interner),
      select_root_(db, "SELECT id FROM roots WHERE path = ?1"),
      insert_root_(db, "INSERT INTO roots(path) VALUES (?1)"),
      insert_checkpoint_(
          db,
          "INSERT INTO checkpoints(directory, fingerprint, root_id, step_name, step, direct, "
          "layout_version, finished, unfinished_reason, commit_marker, mtime_nsecs, time_nsecs, "
          "step_metadata_present, item_handlers_kind, item_handlers_string, metrics, "
          "performance_metrics, custom_metadata, init_timestamp_nsecs, commit_timestamp_nsecs, "
          "commit_timestamp_null, item_count, leaf_count, stored_bytes) VALUES (?1, ?2, ?3, ?4, "
          "?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, "
          "0, 0)"),
      insert_handler_(
          db, "INSERT INTO step_item_handlers(checkpoint_id, item, typestr) VALUES (?1, ?2, ?3)"),
      insert_item_(db,
                   "INSERT INTO items(checkpoint_id, ord, name, directory, kind, handler, "
                   "use_ocdbt, use_zarr3, store_array_data_equal_to_fill_value, custom_metadata, "
                   "has_value_metadata_tree, array_store, json_content, error, leaf_count, "
                   "stored_bytes) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
                   "?13, ?14, 0, 0)"),
      update_item_totals_(db, "UPDATE items SET leaf_count = ?2, stored_bytes = ?3 WHERE id = ?1"),
      update_checkpoint_totals_(
          db, "UPDATE checkpoints SET leaf_count = ?2, stored_bytes = ?3 WHERE id = ?1"),
      insert_problem_(db,
                      "INSERT INTO problems(checkpoint_id, item_id, severity, file, message) "
                      "VALUES (?1, ?2, ?3, ?4, ?5)"),
      insert_extra_(db,
                    "INSERT INTO leaf_extras(item_id, ord, sharding_raw, random_key_impl, "
                    "string_value, inline_shape_id, inline_dtype_id, error, meta_name, "
                    "meta_directory) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"),
      leaf_rows_(db) {}

int64_t CheckpointWriter::root(const std::string& path) {
  int64_t id = 0;
  select_root_.bind(1, path);
  if (select_root_.executeStep()) id = select_root_.getColumn(0).getInt64();
  select_root_.reset();
  if (id) return id;
  insert_root_.bind(1, path);
  run(insert_root_);
  return db_.getLastInsertRowid();
}

CheckpointWriter::Written CheckpointWriter::write(const CheckpointMetadata& c,
                                                  std::string_view fingerprint) {
  const StepMetadata& s = c.step_metadata;
  auto& q = insert_checkpoint_;
  q.bind(1, c.directory);
  q.bind(2, std::string(fingerprint));
  q.bind(3, root(c.root));
  q.bind(4, c.step_name);
  bind_optional(q, 5, c.step);
  q.bind(6, static_cast<int64_t>(c.direct));
  q.bind(7, static_cast<int64_t>(c.layout_version));
  q.bind(8, static_cast<int64_t>(c.finished));
  q.bind(9, c.unfinished_reason);
  q.bind(10, static_cast<int64_t>(c.commit_marker));
  q.bind(11, c.mtime_nsecs);
  q.bind(12, s.commit_timestamp_nsecs.value_or(c.mtime_nsecs));
  q.bind(13, static_cast<int64_t>(s.present));
  q.bind(14, s.item_handlers ? static_cast<int64_t>(s.item_handlers->index() + 1) : 0);
  q.bind(15);
  if (s.item_handlers)
    if (const auto* single = std::get_if<std::string>(&*s.item_handlers)) q.bind(15, *single);
  q.bind(16, s.metrics);
  q.bind(17, s.performance_metrics);
  q.bind(18, s.custom_metadata);
  bind_optional(q, 19, s.init_timestamp_nsecs);
  bind_optional(q, 20, s.commit_timestamp_nsecs);
  q.bind(21, static_cast<int64_t>(s.commit_timestamp_null));
  q.bind(22, static_cast<int64_t>(c.items.size()));
  run(q);
  const int64_t id = db_.getLastInsertRowid();

  if (s.item_handlers)
    if (const auto* map = std::get_if<1>(&*s.item_handlers))
      for (const auto& [item, typestr] : *map) {
        insert_handler_.bind(1, id);
        insert_handler_.bind(2, item);
        bind_optional(insert_handler_, 3, typestr);
        run(insert_handler_);
      }
  write_problems(id, 0, c.problems);

  Written written{id, 0};
  uint64_t stored_bytes = 0;
  for (size_t i = 0; i < c.items.size(); ++i) {
    const ItemTotals totals = write_item(id, static_cast<int64_t>(i), c.items[i]);
    written.leaf_count += totals.leaves;
    stored_bytes += totals.stored_bytes;
  }
  update_checkpoint_totals_.bind(1, id);
  update_checkpoint_totals_.bind(2, static_cast<int64_t>(written.leaf_count));
  update_checkpoint_totals_.bind(3, static_cast<int64_t>(stored_bytes));
  run(update_checkpoint_totals_);
  return written;
}

void CheckpointWriter::write_problems(int64_t checkpoint_id, int64_t item_id,
                                      const std::vector<Problem>& problems) {
  for (const auto& p : problems) {
    insert_problem_.bind(1, checkpoint_id);
    if (item_id) insert_problem_.bind(2, item_id);
    else insert_problem_.bind(2);
    insert_problem_.bind(3, p.severity == Problem::Severity::kWarning ? "warning" : "error");
    insert_problem_.bind(4, p.file);
    insert_problem_.bind(5, p.message);
    run(insert_problem_);
  }
}

CheckpointWriter::ItemTotals CheckpointWriter::write_item(int64_t checkpoint_id, int64_t ord,
                                                          const ItemMetadata& item) {
  auto& q = insert_item_;
  q.bind(1, checkpoint_id);
  q.bind(2, ord);
  q.bind(3, item.name);
  q.bind(4, item.directory);
  q.bind(5, to_string(item.kind));
  bind_optional(q, 6, item.handler);
  bind_optional(q, 7, item.flags.use_ocdbt);
  q.bind(8, static_cast<int64_t>(item.flags.use_zarr3));
  bind_optional(q, 9, item.flags.store_array_data_equal_to_fill_value);
  bind_optional(q, 10, item.flags.custom_metadata);
  q.bind(11, static_cast<int64_t>(item.flags.has_value_metadata_tree));
  q.bind(12, to_string(item.array_store));
  bind_optional(q, 13, item.json_content);
  bind_optional(q, 14, item.error);
  run(q);
  const int64_t item_id = db_.getLastInsertRowid();
  write_problems(checkpoint_id, item_id, item.problems);

  ItemTotals totals;
  std::vector<std::pair<size_t, LeafExtras>> with_extras;
  for (size_t i = 0; i < item.leaves.size(); ++i) {
    const Leaf& leaf = item.leaves[i];
    const LeafExtras extras = write_leaf(item_id, static_cast<int64_t>(i), item, leaf);
    if (extras.needed) with_extras.emplace_back(i, extras);
    if (leaf.stored) totals.stored_bytes += leaf.stored->bytes;
  }
  leaf_rows_.flush();
  for (const auto& [i, extras] : with_extras)
    write_extras(item_id, static_cast<int64_t>(i), item, item.leaves[i], extras);
  totals.leaves = item.leaves.size();
  update_item_totals_.bind(1, item_id);
  update_item_totals_.bind(2, static_cast<int64_t>(totals.leaves));
  update_item_totals_.bind(3, static_cast<int64_t>(totals.stored_bytes));
  run(update_item_totals_);
  return totals;
}

CheckpointWriter::LeafExtras CheckpointWriter::write_leaf(int64_t item_id, int64_t ord,
                                                         const ItemMetadata& item,
                                                         const Leaf& leaf) {
  LeafSpecKey spec;
  spec.value_type_id = interner_.value_type(leaf.value_type);
  spec.kind = leaf.kind;
  spec.skip_deserialize = leaf.skip_deserialize;
  spec.metadata_index = leaf.metadata.index();

  const ShardingMetadata* string_parse = nullptr;
  bool sharding_raw = false;
  if (leaf.sharding_string) {
    const InternedShardingString& interned = interner_.sharding_string(*leaf.sharding_string);
    if (interned.id) spec.sharding_id = *interned.id;
    else sharding_raw = true;
    string_parse = interned.parsed.get();
  }
  if (const auto* array = metadata_as<ArrayMetadata>(leaf)) {
    if (array->dtype) spec.dtype_id = interner_.dtype(*array->dtype);
    if (array->shape) spec.shape_id = interner_.shape(*array->shape);
    if (array->storage) spec.storage_id = interner_.storage(*array->storage);
    if (array->sharding) {
      spec.array_sharding_id = spec.sharding_id && string_parse &&
                                       exactly_equal(*string_parse, *array->sharding)
                                   ? spec.sharding_id
                                   : interner_.sharding(*array->sharding);
    }
  } else if (const auto* scalar = metadata_as<ScalarMetadata>(leaf)) {
    if (scalar->dtype) spec.dtype_id = interner_.dtype(*scalar->dtype);
  }

  leaf_rows_.add({item_id, ord, interner_.key_path(leaf.key_path, leaf.name),
                  interner_.leaf_spec(spec), leaf.stored});

  const auto [other_name, other_directory] = differing_name_directory(leaf, item);
  const bool needed = sharding_raw || leaf.random_key_impl || leaf.string_value ||
                      leaf.inline_shape || leaf.inline_dtype || leaf.error || other_name ||
                      other_directory;
  return {needed, sharding_raw};
}

void CheckpointWriter::write_extras(int64_t item_id, int64_t ord, const ItemMetadata& item,
                                    const Leaf& leaf, LeafExtras extras) {
  const auto [other_name, other_directory] = differing_name_directory(leaf, item);
  auto& x = insert_extra_;
  x.bind(1, item_id);
  x.bind(2, ord);
  for (int column = 3; column <= 10; ++column) x.bind(column);
  if (extras.sharding_raw) x.bind(3, *leaf.sharding_string);
  bind_optional(x, 4, leaf.random_key_impl);
  bind_optional(x, 5, leaf.string_value);
  if (leaf.inline_shape) x.bind(6, interner_.shape(*leaf.inline_shape));
  if (leaf.inline_dtype) x.bind(7, interner_.dtype(*leaf.inline_dtype));
  bind_optional(x, 8, leaf.error);
  if (other_name) x.bind(9, *other_name);
  if (other_directory) x.bind(10, *other_directory);
  run(x);
}

}  // namespace ckptcat::catalog_detail
