#include "loader.h"

#include <sqlite3.h>

#include <string_view>
#include <type_traits>
#include <variant>

#include <nlohmann/json.hpp>

#include "ckptcat/error.h"
#include "interner.h"

namespace ckptcat::catalog_detail {
namespace {

std::optional<std::string> optional_text(const SQLite::Column& column) {
  if (column.isNull()) return std::nullopt;
  return column.getString();
}

std::optional<int64_t> optional_int(const SQLite::Column& column) {
  if (column.isNull()) return std::nullopt;
  return column.getInt64();
}

std::optional<bool> optional_bool(const SQLite::Column& column) {
  if (column.isNull()) return std::nullopt;
  return column.getInt64() != 0;
}

[[noreturn]] void damaged(const std::string& what) {
  throw Error(Error::Code::kCatalog, "catalog content is damaged: " + what);
}

size_t metadata_index_from_column(const std::string& name) {
  for (size_t i = 0; i < 5; ++i)
    if (name == metadata_column_name(i)) return i;
  damaged("unknown leaf_specs.metadata \"" + name + "\"");
}

// Rebuilds a key path from key_paths (name, key_types, keys) into `path`.
// `keys` empty means the keys are the name split at '.' (no key contains one),
// the common case, decoded without JSON.
void decode_key_path(std::string_view name, std::string_view types, std::string_view keys_json,
                     KeyPath& path) {
  path.clear();
  if (types.empty()) return;
  path.reserve(types.size());
  if (keys_json.empty()) {
    size_t start = 0;
    for (size_t i = 0; i < types.size(); ++i) {
      size_t end = i + 1 == types.size() ? name.size() : name.find('.', start);
      if (end == std::string_view::npos)
        damaged("key path \"" + std::string(name) + "\" has too few keys");
      path.push_back({std::string(name.substr(start, end - start)), KeyType(types[i] - '0')});
      start = end + 1;
    }
    return;
  }
  const auto keys = nlohmann::json::parse(keys_json, nullptr, false);
  if (!keys.is_array() || keys.size() != types.size())
    damaged("key path keys " + std::string(keys_json) + " do not match key types \"" +
            std::string(types) + "\"");
  for (size_t i = 0; i < types.size(); ++i) {
    if (!keys[i].is_string())
      damaged("key path keys " + std::string(keys_json) + " are not strings");
    path.push_back({keys[i].get<std::string>(), KeyType(types[i] - '0')});
  }
}

ItemKind item_kind_from_column(const std::string& s) {
  for (ItemKind k : {ItemKind::kPyTree, ItemKind::kJson, ItemKind::kOther})
    if (s == to_string(k)) return k;
  damaged("unknown item kind \"" + s + "\"");
}

ArrayStore array_store_from_column(const std::string& s) {
  for (ArrayStore a : {ArrayStore::kNone, ArrayStore::kOcdbt, ArrayStore::kOcdbtFallback,
                       ArrayStore::kFiles, ArrayStore::kMsgpack})
    if (s == to_string(a)) return a;
  damaged("unknown array_store \"" + s + "\"");
}

Problem problem_from_row(SQLite::Statement& row, int first) {
  Problem p;
  p.severity = row.getColumn(first).getString() == "warning" ? Problem::Severity::kWarning
                                                               : Problem::Severity::kError;
  p.file = row.getColumn(first + 1).getString();
  p.message = row.getColumn(first + 2).getString();
  return p;
}

}  // namespace

// Column access over SQLiteCpp statements and raw handles, so one decoder
// serves both; the raw handle skips SQLiteCpp's per-column shared_ptr copies
// in the hot loop of load_item.
struct Loader::CppRow {
  SQLite::Statement& q;
  bool is_null(int i) const { return q.isColumnNull(i); }
  int64_t int64(int i) const { return q.getColumn(i).getInt64(); }
  std::string text(int i) const { return q.getColumn(i).getString(); }
  std::string_view view(int i) const {
    const SQLite::Column column = q.getColumn(i);
    return {column.getText(), static_cast<size_t>(column.getBytes())};
  }
};

struct Loader::RawRow {
  sqlite3_stmt* q;
  bool is_null(int i) const { return sqlite3_column_type(q, i) == SQLITE_NULL; }
  int64_t int64(int i) const { return sqlite3_column_int64(q, i); }
  std::string text(int i) const { return std::string(view(i)); }
  // Valid until the next step or column conversion.
  std::string_view view(int i) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(q, i));
    return p ? std::string_view(p, static_cast<size_t>(sqlite3_column_bytes(q, i)))
             : std::string_view();
  }
};

Loader::RawStatement::RawStatement(SQLite::Database& db, const std::string& sql) : db_(db) {
  const int rc = sqlite3_prepare_v3(db.getHandle(), sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT,
                                    &stmt_, nullptr);
  if (rc != SQLITE_OK) throw SQLite::Exception(db.getHandle(), rc);
}

Loader::RawStatement::~RawStatement() { sqlite3_finalize(stmt_); }

bool Loader::RawStatement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  throw SQLite::Exception(db_.getHandle(), rc);
}

void Loader::RawStatement::start(int64_t id) {
  sqlite3_reset(stmt_);
  const int rc = sqlite3_bind_int64(stmt_, 1, id);
  if (rc != SQLITE_OK) throw SQLite::Exception(db_.getHandle(), rc);
}

void Loader::RawStatement::finish() { sqlite3_reset(stmt_); }

void Loader::reset_quietly(SQLite::Statement& statement) noexcept { statement.tryReset(); }
void Loader::reset_quietly(RawStatement& statement) noexcept { statement.finish(); }

const char* const Loader::kLeafColumns =
    "l.ord, l.spec_id, l.stored_chunks, l.stored_bytes, p.name, p.key_types, p.keys, "
    "x.sharding_raw, x.random_key_impl, x.string_value, x.inline_shape_id, x.inline_dtype_id, "
    "x.error, x.meta_name, x.meta_directory";
// The leaf_extras columns, in kLeafColumns' order (decode_leaf's `extras`).
static const char* const kExtraColumns =
    "ord, sharding_raw, random_key_impl, string_value, inline_shape_id, inline_dtype_id, error, "
    "meta_name, meta_directory";
const char* const Loader::kLeafFrom =
    "leaves l JOIN key_paths p ON p.id = l.key_path_id "
    "LEFT JOIN leaf_extras x ON x.item_id = l.item_id AND x.ord = l.ord";

static const char* const kItemColumns =
    "id, name, directory, kind, handler, use_ocdbt, use_zarr3, "
    "store_array_data_equal_to_fill_value, custom_metadata, has_value_metadata_tree, "
    "array_store, json_content, error, checkpoint_id, leaf_count";

Loader::Loader(SQLite::Database& db)
    : db_(db),
      select_spec_(db,
                   "SELECT vt.name, sp.kind, sp.skip_deserialize, sp.metadata, sp.dtype_id, "
                   "sp.shape_id, sp.storage_id, st.chunk_shape_id, st.write_shape_id, "
                   "sp.sharding_id, sp.array_sharding_id FROM leaf_specs sp "
                   "JOIN value_types vt ON vt.id = sp.value_type_id "
                   "LEFT JOIN storages st ON st.id = sp.storage_id WHERE sp.id = ?1"),
      select_shape_dims_(db, "SELECT size FROM shape_dims WHERE shape_id = ?1 ORDER BY dim"),
      select_dtype_(db, "SELECT name FROM dtypes WHERE id = ?1"),
      select_sharding_(db,
                       "SELECT kind, mesh_id, partition_spec_id, device_str, shape_id, "
                       "memory_kind FROM shardings WHERE id = ?1"),
      select_mesh_(db, "SELECT has_axis_types, has_devices FROM meshes WHERE id = ?1"),
      select_mesh_axes_(db,
                        "SELECT name, size, axis_type FROM mesh_axes WHERE mesh_id = ?1 "
                        "ORDER BY axis"),
      select_mesh_devices_(db,
                           "SELECT device_id FROM mesh_devices WHERE mesh_id = ?1 ORDER BY pos"),
      select_spec_entries_(db,
                           "SELECT kind FROM partition_spec_entries WHERE spec_id = ?1 "
                           "ORDER BY pos"),
      select_spec_axes_(db,
                        "SELECT pos, name FROM partition_spec_axes WHERE spec_id = ?1 "
                        "ORDER BY pos, sub"),
      select_checkpoint_(
          db,
          "SELECT c.id, c.directory, r.path, c.step_name, c.step, c.direct, c.layout_version, "
          "c.finished, c.unfinished_reason, c.commit_marker, c.mtime_nsecs, "
          "c.step_metadata_present, c.item_handlers_kind, c.item_handlers_string, c.metrics, "
          "c.performance_metrics, c.custom_metadata, c.init_timestamp_nsecs, "
          "c.commit_timestamp_nsecs, c.commit_timestamp_null "
          "FROM checkpoints c JOIN roots r ON r.id = c.root_id WHERE c.directory = ?1"),
      select_handlers_(db,
                       "SELECT item, typestr FROM step_item_handlers WHERE checkpoint_id = ?1 "
                       "ORDER BY item"),
      select_items_(db, std::string("SELECT ") + kItemColumns +
                            " FROM items WHERE checkpoint_id = ?1 ORDER BY ord"),
      select_item_(db, std::string("SELECT ") + kItemColumns +
                           " FROM items WHERE checkpoint_id = (SELECT id FROM checkpoints "
                           "WHERE directory = ?1) AND name = ?2 ORDER BY ord LIMIT 1"),
      select_problems_(db,
                       "SELECT severity, file, message FROM problems WHERE checkpoint_id = ?1 "
                       "AND item_id IS ?2 ORDER BY id"),
      select_leaves_(db,
                     "SELECT l.ord, l.spec_id, l.stored_chunks, l.stored_bytes, p.name, "
                     "p.key_types, p.keys FROM leaves l JOIN key_paths p ON p.id = l.key_path_id "
                     "WHERE l.item_id = ?1 ORDER BY l.ord"),
      select_extras_(db, std::string("SELECT ") + kExtraColumns +
                             " FROM leaf_extras WHERE item_id = ?1 ORDER BY ord") {}

const Shape& Loader::shape(int64_t id) {
  if (auto it = shapes_.find(id); it != shapes_.end()) return it->second;
  Shape shape;
  const ResetOnExit<SQLite::Statement> select_shape_dims_scope(select_shape_dims_);
  select_shape_dims_.bind(1, id);
  while (select_shape_dims_.executeStep()) shape.push_back(select_shape_dims_.getColumn(0));
  select_shape_dims_.reset();
  return shapes_.emplace(id, std::move(shape)).first->second;
}

const std::string& Loader::dtype(int64_t id) {
  if (auto it = dtypes_.find(id); it != dtypes_.end()) return it->second;
  const ResetOnExit<SQLite::Statement> select_dtype_scope(select_dtype_);
  select_dtype_.bind(1, id);
  if (!select_dtype_.executeStep()) damaged("dtype " + std::to_string(id) + " is missing");
  std::string name = select_dtype_.getColumn(0).getString();
  select_dtype_.reset();
  return dtypes_.emplace(id, std::move(name)).first->second;
}

Loader::Spec& Loader::spec(int64_t id) {
  if (auto it = specs_.find(id); it != specs_.end()) return it->second;
  auto& q = select_spec_;
  const ResetOnExit<SQLite::Statement> q_scope(q);
  q.bind(1, id);
  if (!q.executeStep()) damaged("leaf spec " + std::to_string(id) + " is missing");
  Spec spec;
  spec.value_type = q.getColumn(0).getString();
  const std::string kind = q.getColumn(1).getString();
  auto leaf_kind = leaf_kind_from_string(kind);
  if (!leaf_kind) damaged("unknown leaf kind \"" + kind + "\"");
  spec.kind = *leaf_kind;
  spec.skip_deserialize = q.getColumn(2).getInt64() != 0;
  spec.metadata_index = metadata_index_from_column(q.getColumn(3).getString());
  const auto dtype_id = optional_int(q.getColumn(4));
  const auto shape_id = optional_int(q.getColumn(5));
  const bool has_storage = !q.getColumn(6).isNull();
  const auto chunk_id = optional_int(q.getColumn(7));
  const auto write_id = optional_int(q.getColumn(8));
  spec.sharding_id = optional_int(q.getColumn(9)).value_or(0);
  const auto array_sharding_id = optional_int(q.getColumn(10));
  q.reset();
  std::optional<std::string> dtype_name;
  if (dtype_id) dtype_name = dtype(*dtype_id);
  switch (spec.metadata_index) {
    case 1: {
      ArrayMetadata array;
      if (shape_id) array.shape = shape(*shape_id);
      array.dtype = std::move(dtype_name);
      if (has_storage) {
        array.storage.emplace();
        if (chunk_id) array.storage->chunk_shape = shape(*chunk_id);
        if (write_id) array.storage->write_shape = shape(*write_id);
      }
      if (array_sharding_id) {
        const auto parsed = sharding(*array_sharding_id);
        if (!parsed) damaged("sharding " + std::to_string(*array_sharding_id) + " is missing");
        array.sharding = *parsed;
      }
      spec.metadata = std::move(array);
      break;
    }
    case 2: spec.metadata = ScalarMetadata{{}, {}, std::move(dtype_name)}; break;
    case 3: spec.metadata = StringMetadata{}; break;
    case 4: spec.metadata = BareMetadata{}; break;
    default: break;
  }
  return specs_.emplace(id, std::move(spec)).first->second;
}

std::shared_ptr<const ShardingMetadata> Loader::sharding(int64_t id) {
  if (auto it = shardings_.find(id); it != shardings_.end()) return it->second;
  auto& q = select_sharding_;
  const ResetOnExit<SQLite::Statement> q_scope(q);
  q.bind(1, id);
  if (!q.executeStep()) {
    q.reset();
    return nullptr;
  }
  const std::string kind = q.getColumn(0).getString();
  const auto mesh_id = optional_int(q.getColumn(1));
  const auto spec_id = optional_int(q.getColumn(2));
  const auto device_str = optional_text(q.getColumn(3));
  const auto shape_id = optional_int(q.getColumn(4));
  const auto memory_kind = optional_text(q.getColumn(5));
  q.reset();

  std::shared_ptr<const ShardingMetadata> result;
  if (kind == "single_device") {
    if (!device_str) damaged("single-device sharding " + std::to_string(id) + " has no device");
    result = std::make_shared<const ShardingMetadata>(SingleDeviceShardingMetadata{*device_str});
  } else if (kind == "positional") {
    if (!shape_id) damaged("positional sharding " + std::to_string(id) + " has no shape");
    result = std::make_shared<const ShardingMetadata>(
        PositionalShardingMetadata{shape(*shape_id), memory_kind});
  } else {
    if (!mesh_id || !spec_id) damaged("named sharding " + std::to_string(id) + " is incomplete");
    NamedShardingMetadata named;
    const ResetOnExit<SQLite::Statement> select_mesh_scope(select_mesh_);
    select_mesh_.bind(1, *mesh_id);
    if (!select_mesh_.executeStep()) damaged("mesh " + std::to_string(*mesh_id) + " is missing");
    const bool has_axis_types = select_mesh_.getColumn(0).getInt64() != 0;
    const bool has_devices = select_mesh_.getColumn(1).getInt64() != 0;
    select_mesh_.reset();
    if (has_axis_types) named.axis_types.emplace();
    const ResetOnExit<SQLite::Statement> select_mesh_axes_scope(select_mesh_axes_);
    select_mesh_axes_.bind(1, *mesh_id);
    while (select_mesh_axes_.executeStep()) {
      named.axis_names.push_back(select_mesh_axes_.getColumn(0).getString());
      named.shape.push_back(select_mesh_axes_.getColumn(1).getInt64());
      if (has_axis_types) named.axis_types->push_back(select_mesh_axes_.getColumn(2).getString());
    }
    select_mesh_axes_.reset();
    if (has_devices) {
      std::vector<int64_t> ids;
      const ResetOnExit<SQLite::Statement> select_mesh_devices_scope(select_mesh_devices_);
      select_mesh_devices_.bind(1, *mesh_id);
      while (select_mesh_devices_.executeStep())
        ids.push_back(select_mesh_devices_.getColumn(0).getInt64());
      select_mesh_devices_.reset();
      named.device_mesh = DeviceMesh{std::move(ids)};
    }
    const ResetOnExit<SQLite::Statement> select_spec_entries_scope(select_spec_entries_);
    select_spec_entries_.bind(1, *spec_id);
    while (select_spec_entries_.executeStep()) {
      switch (select_spec_entries_.getColumn(0).getInt()) {
        case 0: named.partition_spec.emplace_back(std::monostate{}); break;
        case 1: named.partition_spec.emplace_back(std::string()); break;
        default: named.partition_spec.emplace_back(std::vector<std::string>()); break;
      }
    }
    select_spec_entries_.reset();
    const ResetOnExit<SQLite::Statement> select_spec_axes_scope(select_spec_axes_);
    select_spec_axes_.bind(1, *spec_id);
    while (select_spec_axes_.executeStep()) {
      const int64_t pos = select_spec_axes_.getColumn(0).getInt64();
      if (pos < 0 || static_cast<size_t>(pos) >= named.partition_spec.size())
        damaged("partition spec " + std::to_string(*spec_id) + " has an axis without entry");
      auto& entry = named.partition_spec[pos];
      std::string name = select_spec_axes_.getColumn(1).getString();
      if (auto* axis = std::get_if<std::string>(&entry)) *axis = std::move(name);
      else if (auto* axes = std::get_if<std::vector<std::string>>(&entry))
        axes->push_back(std::move(name));
      else damaged("partition spec " + std::to_string(*spec_id) + " names an axis for None");
    }
    select_spec_axes_.reset();
    result = std::make_shared<const ShardingMetadata>(std::move(named));
  }
  shardings_.emplace(id, result);
  return result;
}

const Shared<std::string>& Loader::sharding_string(int64_t id) {
  if (auto it = sharding_strings_.find(id); it != sharding_strings_.end()) return it->second;
  auto parsed = sharding(id);
  if (!parsed) damaged("sharding " + std::to_string(id) + " is missing");
  return sharding_strings_.emplace(id, to_serialized_string(*parsed)).first->second;
}

// Columns of `row` from `f`: ord, spec_id, stored_chunks, stored_bytes, name,
// key_types, keys. Columns of `extras` from `x` (when given): the leaf_extras
// columns from sharding_raw on. Fills `leaf`, a default-constructed Leaf, in
// place: the 10,000-leaf load_item loop builds each leaf once, copying the
// spec's prebuilt metadata and adding the per-leaf name and directory.
template <typename Row, typename ExtraRow>
void Loader::decode(const Row& row, int f, const ExtraRow* extras, int x,
                    const std::string& item_directory, Leaf& leaf) {
  Spec& s = spec(row.int64(f + 1));
  leaf.name = row.view(f + 4);
  decode_key_path(leaf.name, row.view(f + 5), row.view(f + 6), leaf.key_path);
  leaf.value_type = s.value_type;
  leaf.kind = s.kind;
  leaf.skip_deserialize = s.skip_deserialize;
  if (!row.is_null(f + 2))
    leaf.stored = StoredSize{static_cast<uint64_t>(row.int64(f + 2)),
                             static_cast<uint64_t>(row.int64(f + 3))};
  std::optional<std::string> meta_name, meta_directory;
  if (extras) {
    auto text = [&](int i) -> std::optional<std::string> {
      if (extras->is_null(x + i)) return std::nullopt;
      return extras->text(x + i);
    };
    leaf.sharding_string = text(0);
    leaf.random_key_impl = text(1);
    leaf.string_value = text(2);
    if (!extras->is_null(x + 3)) leaf.inline_shape = shape(extras->int64(x + 3));
    if (!extras->is_null(x + 4)) leaf.inline_dtype = dtype(extras->int64(x + 4));
    leaf.error = text(5);
    meta_name = text(6);
    meta_directory = text(7);
  }
  if (!leaf.sharding_string && s.sharding_id) {
    if (!s.sharding_string) s.sharding_string = &sharding_string(s.sharding_id);
    leaf.sharding_string = *s.sharding_string;
  }
  // Copy-constructed in place (variant assignment would copy through a temporary).
  std::visit(
      [&](const auto& prototype) {
        using Metadata = std::decay_t<decltype(prototype)>;
        auto& m = leaf.metadata.template emplace<Metadata>(prototype);
        if constexpr (!std::is_same_v<Metadata, std::monostate>) {
          if (meta_name) m.name = std::move(*meta_name);
          else m.name = leaf.name;
          if (meta_directory) m.directory = std::move(*meta_directory);
          else m.directory = item_directory;
        }
      },
      s.metadata);
}

Leaf Loader::decode_leaf(SQLite::Statement& row, int first, const std::string& item_directory) {
  const CppRow cpp{row};
  Leaf leaf;
  // kLeafColumns: the leaf_extras columns start at sharding_raw.
  decode(cpp, first, &cpp, first + 7, item_directory, leaf);
  return leaf;
}

ItemMetadata Loader::item_from_row(SQLite::Statement& row) {
  ItemMetadata item;
  const int64_t item_id = row.getColumn(0).getInt64();
  item.name = row.getColumn(1).getString();
  item.directory = row.getColumn(2).getString();
  item.kind = item_kind_from_column(row.getColumn(3).getString());
  item.handler = optional_text(row.getColumn(4));
  item.flags.use_ocdbt = optional_bool(row.getColumn(5));
  item.flags.use_zarr3 = row.getColumn(6).getInt64() != 0;
  item.flags.store_array_data_equal_to_fill_value = optional_bool(row.getColumn(7));
  item.flags.custom_metadata = optional_text(row.getColumn(8));
  item.flags.has_value_metadata_tree = row.getColumn(9).getInt64() != 0;
  item.array_store = array_store_from_column(row.getColumn(10).getString());
  item.json_content = optional_text(row.getColumn(11));
  item.error = optional_text(row.getColumn(12));

  // Leaves and their (rare) extras, both in ord order, merged.
  item.leaves.reserve(static_cast<size_t>(row.getColumn(14).getInt64()));
  select_leaves_.start(item_id);
  const ResetOnExit<RawStatement> select_leaves_scope(select_leaves_);
  select_extras_.start(item_id);
  const ResetOnExit<RawStatement> select_extras_scope(select_extras_);
  const RawRow leaf_row{select_leaves_.get()};
  const RawRow extra_row{select_extras_.get()};
  bool extra = select_extras_.step();
  while (select_leaves_.step()) {
    const int64_t ord = leaf_row.int64(0);
    while (extra && extra_row.int64(0) < ord) extra = select_extras_.step();
    const bool has_extra = extra && extra_row.int64(0) == ord;
    decode(leaf_row, 0, has_extra ? &extra_row : nullptr, 1, item.directory,
           item.leaves.emplace_back());
  }
  select_leaves_.finish();
  select_extras_.finish();

  const ResetOnExit<SQLite::Statement> select_problems_scope(select_problems_);
  select_problems_.bind(1, row.getColumn(13).getInt64());
  select_problems_.bind(2, item_id);
  while (select_problems_.executeStep()) item.problems.push_back(problem_from_row(select_problems_, 0));
  select_problems_.reset();
  return item;
}

std::optional<ItemMetadata> Loader::item(const std::string& checkpoint_directory,
                                         const std::string& item_name) {
  const ResetOnExit<SQLite::Statement> select_item_scope(select_item_);
  select_item_.bind(1, checkpoint_directory);
  select_item_.bind(2, item_name);
  if (!select_item_.executeStep()) {
    select_item_.reset();
    return std::nullopt;
  }
  ItemMetadata item = item_from_row(select_item_);
  select_item_.reset();
  return item;
}

std::optional<CheckpointMetadata> Loader::checkpoint(const std::string& directory) {
  auto& q = select_checkpoint_;
  const ResetOnExit<SQLite::Statement> q_scope(q);
  q.bind(1, directory);
  if (!q.executeStep()) {
    q.reset();
    return std::nullopt;
  }
  CheckpointMetadata c;
  const int64_t id = q.getColumn(0).getInt64();
  c.directory = q.getColumn(1).getString();
  c.root = q.getColumn(2).getString();
  c.step_name = q.getColumn(3).getString();
  c.step = optional_int(q.getColumn(4));
  c.direct = q.getColumn(5).getInt64() != 0;
  c.layout_version = q.getColumn(6).getInt();
  c.finished = q.getColumn(7).getInt64() != 0;
  c.unfinished_reason = q.getColumn(8).getString();
  c.commit_marker = q.getColumn(9).getInt64() != 0;
  c.mtime_nsecs = q.getColumn(10).getInt64();
  StepMetadata& s = c.step_metadata;
  s.present = q.getColumn(11).getInt64() != 0;
  const int64_t handlers_kind = q.getColumn(12).getInt64();
  if (handlers_kind == 1) s.item_handlers = q.getColumn(13).getString();
  s.metrics = q.getColumn(14).getString();
  s.performance_metrics = q.getColumn(15).getString();
  s.custom_metadata = q.getColumn(16).getString();
  s.init_timestamp_nsecs = optional_int(q.getColumn(17));
  s.commit_timestamp_nsecs = optional_int(q.getColumn(18));
  s.commit_timestamp_null = q.getColumn(19).getInt64() != 0;
  q.reset();

  if (handlers_kind == 2) {
    std::map<std::string, std::optional<std::string>> handlers;
    const ResetOnExit<SQLite::Statement> select_handlers_scope(select_handlers_);
    select_handlers_.bind(1, id);
    while (select_handlers_.executeStep())
      handlers.emplace(select_handlers_.getColumn(0).getString(),
                       optional_text(select_handlers_.getColumn(1)));
    select_handlers_.reset();
    s.item_handlers = std::move(handlers);
  }
  const ResetOnExit<SQLite::Statement> select_problems_scope(select_problems_);
  select_problems_.bind(1, id);
  select_problems_.bind(2);
  while (select_problems_.executeStep()) c.problems.push_back(problem_from_row(select_problems_, 0));
  select_problems_.reset();

  const ResetOnExit<SQLite::Statement> select_items_scope(select_items_);
  select_items_.bind(1, id);
  while (select_items_.executeStep()) c.items.push_back(item_from_row(select_items_));
  select_items_.reset();
  return c;
}

}  // namespace ckptcat::catalog_detail
