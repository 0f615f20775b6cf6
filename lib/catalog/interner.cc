#include "interner.h"

#include <numeric>

#include "ckptcat/error.h"
#include "ckptcat/python_json.h"

namespace ckptcat::catalog_detail {
namespace {

// Caches are bounded so a huge import cannot grow them without limit; a
// cleared cache only costs indexed lookups until it warms up again.
constexpr size_t kMaxCacheEntries = 200000;
constexpr size_t kMaxShardingStringBytes = 64u << 20;

std::string json_token(std::string_view s) {
  std::string out;
  pyjson::append_string(out, s);
  return out;
}

std::string json_string_list(const std::vector<std::string>& values) {
  pyjson::Writer w;
  w.begin_array();
  for (const auto& v : values) w.value(std::string_view(v));
  w.end_array();
  return w.take();
}

void bind_id(SQLite::Statement& stmt, int index, int64_t id) {
  if (id) stmt.bind(index, id);
  else stmt.bind(index);
}

int64_t run_insert(SQLite::Database& db, SQLite::Statement& stmt) {
  stmt.exec();
  stmt.reset();
  return db.getLastInsertRowid();
}

// Zero-size mesh axes give device_mesh lists without devices, which the SQL
// view cannot nest; such strings are kept raw.
bool view_can_rebuild(const ShardingMetadata& sharding) {
  const auto* named = std::get_if<NamedShardingMetadata>(&sharding);
  return !named || !named->device_mesh || !named->device_mesh->device_ids.empty();
}

}  // namespace

const char* metadata_column_name(size_t index) noexcept {
  static const char* const kNames[] = {"none", "array", "scalar", "string", "bare"};
  return index < 5 ? kNames[index] : "none";
}

std::string shape_json(const Shape& shape) {
  pyjson::Writer w;
  w.begin_array();
  for (int64_t d : shape) w.value(d);
  w.end_array();
  return w.take();
}

size_t ShapeHash::operator()(const Shape& shape) const noexcept {
  size_t h = shape.size();
  for (int64_t d : shape) h = h * 1000003u ^ std::hash<int64_t>{}(d);
  return h;
}

size_t IdPairHash::operator()(const std::pair<int64_t, int64_t>& ids) const noexcept {
  return std::hash<int64_t>{}(ids.first) * 1000003u ^ std::hash<int64_t>{}(ids.second);
}

size_t LeafSpecKeyHash::operator()(const LeafSpecKey& k) const noexcept {
  size_t h = 0;
  for (int64_t v : {k.value_type_id, static_cast<int64_t>(k.kind),
                    static_cast<int64_t>(k.skip_deserialize),
                    static_cast<int64_t>(k.metadata_index), k.dtype_id, k.shape_id, k.storage_id,
                    k.sharding_id, k.array_sharding_id})
    h = h * 1000003u ^ std::hash<int64_t>{}(v);
  return h;
}

Interner::Interner(SQLite::Database& db)
    : db_(db),
      key_paths_(db, "SELECT id FROM key_paths WHERE name = ?1 AND key_types = ?2 AND keys = ?3"),
      value_types_(db, "SELECT id FROM value_types WHERE name = ?1"),
      dtypes_(db, "SELECT id FROM dtypes WHERE name = ?1"),
      shapes_(db, "SELECT id FROM shapes WHERE json = ?1"),
      storages_(db, "SELECT id FROM storages WHERE key = ?1"),
      meshes_(db, "SELECT id FROM meshes WHERE key = ?1"),
      partition_specs_(db, "SELECT id FROM partition_specs WHERE key = ?1"),
      shardings_(db, "SELECT id FROM shardings WHERE key = ?1"),
      leaf_specs_(db, "SELECT id FROM leaf_specs WHERE key = ?1"),
      insert_key_path_(db, "INSERT INTO key_paths(name, key_types, keys) VALUES (?1, ?2, ?3)"),
      insert_value_type_(db, "INSERT INTO value_types(name) VALUES (?1)"),
      insert_dtype_(db, "INSERT INTO dtypes(name) VALUES (?1)"),
      insert_shape_(db, "INSERT INTO shapes(rank, json) VALUES (?1, ?2)"),
      insert_shape_dim_(db, "INSERT INTO shape_dims(shape_id, dim, size) VALUES (?1, ?2, ?3)"),
      insert_storage_(db,
                      "INSERT INTO storages(chunk_shape_id, write_shape_id, key) VALUES (?1, ?2, ?3)"),
      insert_mesh_(db,
                   "INSERT INTO meshes(shape_id, has_axis_types, has_devices, device_count, key) "
                   "VALUES (?1, ?2, ?3, ?4, ?5)"),
      insert_mesh_axis_(db,
                        "INSERT INTO mesh_axes(mesh_id, axis, name, name_json, size, span, "
                        "axis_type, axis_type_json) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"),
      insert_mesh_device_(db,
                          "INSERT INTO mesh_devices(mesh_id, pos, device_id) VALUES (?1, ?2, ?3)"),
      insert_partition_spec_(db, "INSERT INTO partition_specs(entry_count, key) VALUES (?1, ?2)"),
      insert_partition_spec_entry_(
          db, "INSERT INTO partition_spec_entries(spec_id, pos, kind) VALUES (?1, ?2, ?3)"),
      insert_partition_spec_axis_(db,
                                  "INSERT INTO partition_spec_axes(spec_id, pos, sub, name, "
                                  "name_json) VALUES (?1, ?2, ?3, ?4, ?5)"),
      insert_sharding_(db,
                       "INSERT INTO shardings(kind, mesh_id, partition_spec_id, device_str, "
                       "device_str_json, shape_id, memory_kind, memory_kind_json, key) "
                       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"),
      insert_sharding_text_(db,
                            "INSERT OR IGNORE INTO sharding_texts(sharding_id, serialized) "
                            "VALUES (?1, ?2)"),
      insert_leaf_spec_(db,
                        "INSERT INTO leaf_specs(value_type_id, kind, skip_deserialize, metadata, "
                        "dtype_id, shape_id, storage_id, sharding_id, array_sharding_id, key) "
                        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)") {}

template <typename Key, typename Hash, typename BindSelect, typename Insert>
int64_t Interner::lookup_with(Table<Key, Hash>& table, const Key& cache_key,
                              BindSelect&& bind_select, Insert&& insert) {
  if (auto it = table.cache.find(cache_key); it != table.cache.end()) return it->second;
  int64_t id = 0;
  bind_select(table.select);
  if (table.select.executeStep()) id = table.select.getColumn(0).getInt64();
  table.select.reset();
  if (!id) id = insert();
  if (table.cache.size() >= kMaxCacheEntries) table.cache.clear();
  table.cache.emplace(cache_key, id);
  return id;
}

template <typename Insert>
int64_t Interner::lookup(Table<std::string>& table, const std::string& key, Insert&& insert) {
  return lookup_with(table, key, [&](SQLite::Statement& select) { select.bind(1, key); },
                     std::forward<Insert>(insert));
}

int64_t Interner::key_path(const KeyPath& path, const std::string& name) {
  // The keys need storing unless they are exactly the name split at ".".
  std::string types;
  types.reserve(path.size());
  bool split_works = !path.empty();
  size_t pos = 0;
  for (size_t i = 0; i < path.size(); ++i) {
    const auto& element = path[i];
    types += element.type == KeyType::kSequence ? '1' : '2';
    if (!split_works) continue;
    if (element.key.find('.') != std::string::npos ||
        name.compare(pos, element.key.size(), element.key) != 0) {
      split_works = false;
      continue;
    }
    pos += element.key.size();
    if (i + 1 < path.size()) {
      if (pos >= name.size() || name[pos] != '.') split_works = false;
      else ++pos;
    }
  }
  if (pos != name.size()) split_works = false;
  std::string keys;
  if (!split_works && !path.empty()) {
    pyjson::Writer w;
    w.begin_array();
    for (const auto& element : path) w.value(std::string_view(element.key));
    w.end_array();
    keys = w.take();
  }
  key_path_buffer_.assign(name).append(1, '\0').append(types).append(1, '\0').append(keys);
  return lookup_with(
      key_paths_, key_path_buffer_,
      [&](SQLite::Statement& select) {
        select.bind(1, name);
        select.bind(2, types);
        select.bind(3, keys);
      },
      [&] {
        insert_key_path_.bind(1, name);
        insert_key_path_.bind(2, types);
        insert_key_path_.bind(3, keys);
        return run_insert(db_, insert_key_path_);
      });
}

int64_t Interner::value_type(const std::string& name) {
  return lookup(value_types_, name, [&] {
    insert_value_type_.bind(1, name);
    return run_insert(db_, insert_value_type_);
  });
}

int64_t Interner::dtype(const std::string& name) {
  return lookup(dtypes_, name, [&] {
    insert_dtype_.bind(1, name);
    return run_insert(db_, insert_dtype_);
  });
}

int64_t Interner::shape(const Shape& shape) {
  std::string json;
  auto bind_select = [&](SQLite::Statement& select) {
    json = shape_json(shape);
    select.bind(1, json);
  };
  return lookup_with(shapes_, shape, bind_select, [&] {
    insert_shape_.bind(1, static_cast<int64_t>(shape.size()));
    insert_shape_.bind(2, json);
    const int64_t id = run_insert(db_, insert_shape_);
    for (size_t d = 0; d < shape.size(); ++d) {
      insert_shape_dim_.bind(1, id);
      insert_shape_dim_.bind(2, static_cast<int64_t>(d));
      insert_shape_dim_.bind(3, shape[d]);
      run_insert(db_, insert_shape_dim_);
    }
    return id;
  });
}

int64_t Interner::storage(const StorageMetadata& storage) {
  const int64_t chunk = storage.chunk_shape ? shape(*storage.chunk_shape) : 0;
  const int64_t write = storage.write_shape ? shape(*storage.write_shape) : 0;
  std::string key;
  auto bind_select = [&](SQLite::Statement& select) {
    key = std::to_string(chunk) + ":" + std::to_string(write);
    select.bind(1, key);
  };
  return lookup_with(storages_, std::pair{chunk, write}, bind_select, [&] {
    bind_id(insert_storage_, 1, chunk);
    bind_id(insert_storage_, 2, write);
    insert_storage_.bind(3, key);
    return run_insert(db_, insert_storage_);
  });
}

int64_t Interner::mesh(const NamedShardingMetadata& named) {
  pyjson::Writer key;
  key.begin_array().raw(shape_json(named.shape)).raw(json_string_list(named.axis_names));
  if (named.axis_types) key.raw(json_string_list(*named.axis_types));
  else key.null();
  if (named.device_mesh) key.raw(shape_json(named.device_mesh->device_ids));
  else key.null();
  key.end_array();
  return lookup(meshes_, key.str(), [&] {
    const int64_t shape_id = shape(named.shape);
    insert_mesh_.bind(1, shape_id);
    insert_mesh_.bind(2, static_cast<int64_t>(named.axis_types.has_value()));
    insert_mesh_.bind(3, static_cast<int64_t>(named.device_mesh.has_value()));
    insert_mesh_.bind(4, named.device_mesh
                             ? static_cast<int64_t>(named.device_mesh->device_ids.size())
                             : std::accumulate(named.shape.begin(), named.shape.end(), int64_t{1},
                                               std::multiplies<>()));
    insert_mesh_.bind(5, key.str());
    const int64_t id = run_insert(db_, insert_mesh_);
    int64_t span = 1;
    for (size_t axis = named.shape.size(); axis-- > 0;) {
      span *= named.shape[axis];
      insert_mesh_axis_.bind(1, id);
      insert_mesh_axis_.bind(2, static_cast<int64_t>(axis));
      insert_mesh_axis_.bind(3, named.axis_names[axis]);
      insert_mesh_axis_.bind(4, json_token(named.axis_names[axis]));
      insert_mesh_axis_.bind(5, named.shape[axis]);
      insert_mesh_axis_.bind(6, span);
      if (named.axis_types) {
        insert_mesh_axis_.bind(7, (*named.axis_types)[axis]);
        insert_mesh_axis_.bind(8, json_token((*named.axis_types)[axis]));
      } else {
        insert_mesh_axis_.bind(7);
        insert_mesh_axis_.bind(8);
      }
      run_insert(db_, insert_mesh_axis_);
    }
    if (named.device_mesh) {
      const auto& ids = named.device_mesh->device_ids;
      for (size_t pos = 0; pos < ids.size(); ++pos) {
        insert_mesh_device_.bind(1, id);
        insert_mesh_device_.bind(2, static_cast<int64_t>(pos));
        insert_mesh_device_.bind(3, ids[pos]);
        run_insert(db_, insert_mesh_device_);
      }
    }
    return id;
  });
}

int64_t Interner::partition_spec(const std::vector<PartitionSpecEntry>& spec) {
  pyjson::Writer key;
  key.begin_array();
  for (const auto& entry : spec) {
    if (std::holds_alternative<std::monostate>(entry)) key.null();
    else if (auto* axis = std::get_if<std::string>(&entry)) key.value(std::string_view(*axis));
    else key.raw(json_string_list(std::get<std::vector<std::string>>(entry)));
  }
  key.end_array();
  return lookup(partition_specs_, key.str(), [&] {
    insert_partition_spec_.bind(1, static_cast<int64_t>(spec.size()));
    insert_partition_spec_.bind(2, key.str());
    const int64_t id = run_insert(db_, insert_partition_spec_);
    auto add_axis = [&](int64_t pos, int64_t sub, const std::string& name) {
      insert_partition_spec_axis_.bind(1, id);
      insert_partition_spec_axis_.bind(2, pos);
      insert_partition_spec_axis_.bind(3, sub);
      insert_partition_spec_axis_.bind(4, name);
      insert_partition_spec_axis_.bind(5, json_token(name));
      run_insert(db_, insert_partition_spec_axis_);
    };
    for (size_t pos = 0; pos < spec.size(); ++pos) {
      const auto& entry = spec[pos];
      insert_partition_spec_entry_.bind(1, id);
      insert_partition_spec_entry_.bind(2, static_cast<int64_t>(pos));
      insert_partition_spec_entry_.bind(3, static_cast<int64_t>(entry.index()));
      run_insert(db_, insert_partition_spec_entry_);
      if (auto* axis = std::get_if<std::string>(&entry)) {
        add_axis(static_cast<int64_t>(pos), 0, *axis);
      } else if (auto* axes = std::get_if<std::vector<std::string>>(&entry)) {
        for (size_t sub = 0; sub < axes->size(); ++sub)
          add_axis(static_cast<int64_t>(pos), static_cast<int64_t>(sub), (*axes)[sub]);
      }
    }
    return id;
  });
}

int64_t Interner::sharding(const ShardingMetadata& sharding) {
  std::string key;
  int64_t mesh_id = 0, spec_id = 0, shape_id = 0;
  const char* kind = "";
  if (const auto* named = std::get_if<NamedShardingMetadata>(&sharding)) {
    kind = "named";
    mesh_id = mesh(*named);
    spec_id = partition_spec(named->partition_spec);
    key = "named:" + std::to_string(mesh_id) + ":" + std::to_string(spec_id);
  } else if (const auto* single = std::get_if<SingleDeviceShardingMetadata>(&sharding)) {
    kind = "single_device";
    key = "single_device:" + single->device_str;
  } else {
    const auto& positional = std::get<PositionalShardingMetadata>(sharding);
    kind = "positional";
    shape_id = shape(positional.shape);
    key = "positional:" + std::to_string(shape_id) +
          (positional.memory_kind ? "=" + *positional.memory_kind : std::string("-"));
  }
  return lookup(shardings_, key, [&] {
    insert_sharding_.bind(1, kind);
    bind_id(insert_sharding_, 2, mesh_id);
    bind_id(insert_sharding_, 3, spec_id);
    for (int column : {4, 5, 7, 8}) insert_sharding_.bind(column);
    if (const auto* single = std::get_if<SingleDeviceShardingMetadata>(&sharding)) {
      insert_sharding_.bind(4, single->device_str);
      insert_sharding_.bind(5, json_token(single->device_str));
    }
    bind_id(insert_sharding_, 6, shape_id);
    if (const auto* positional = std::get_if<PositionalShardingMetadata>(&sharding);
        positional && positional->memory_kind) {
      insert_sharding_.bind(7, *positional->memory_kind);
      insert_sharding_.bind(8, json_token(*positional->memory_kind));
    }
    insert_sharding_.bind(9, key);
    return run_insert(db_, insert_sharding_);
  });
}

const InternedShardingString& Interner::sharding_string(const Shared<std::string>& shared) {
  // Leaves come in runs of one sharding (a pod item repeats its 90 KB mesh
  // string for every array), usually one shared string (shared.h): the same
  // object as last time costs nothing, an equal one a compare, a new one a hash.
  if (last_sharding_string_ && last_sharding_text_.same_object(shared))
    return last_sharding_string_->second;
  const std::string& serialized = shared;
  if (last_sharding_string_ && last_sharding_string_->first == serialized) {
    last_sharding_text_ = shared;
    return last_sharding_string_->second;
  }
  if (auto it = sharding_strings_.find(serialized); it != sharding_strings_.end()) {
    last_sharding_string_ = &*it;
    last_sharding_text_ = shared;
    return it->second;
  }
  InternedShardingString interned;
  try {
    auto parsed = std::make_shared<const ShardingMetadata>(
        sharding_from_serialized_string(serialized));
    if (to_serialized_string(*parsed) == serialized && view_can_rebuild(*parsed)) {
      interned.id = sharding(*parsed);
      // The views join to this string instead of rebuilding it per leaf.
      insert_sharding_text_.bind(1, *interned.id);
      insert_sharding_text_.bind(2, serialized);
      run_insert(db_, insert_sharding_text_);
    }
    interned.parsed = std::move(parsed);
  } catch (const Error&) {
    // Unparseable (ShardingError), or invalid UTF-8 in a name that pyjson
    // refuses: kept raw by the caller.
  }
  if (sharding_string_bytes_ > kMaxShardingStringBytes ||
      sharding_strings_.size() >= kMaxCacheEntries) {
    sharding_strings_.clear();
    last_sharding_string_ = nullptr;
    sharding_string_bytes_ = 0;
  }
  sharding_string_bytes_ += serialized.size();
  last_sharding_string_ = &*sharding_strings_.emplace(serialized, std::move(interned)).first;
  last_sharding_text_ = shared;
  return last_sharding_string_->second;
}

int64_t Interner::leaf_spec(const LeafSpecKey& k) {
  std::string key;
  auto bind_select = [&](SQLite::Statement& select) {
    for (int64_t v : {k.value_type_id, static_cast<int64_t>(k.kind),
                      static_cast<int64_t>(k.skip_deserialize),
                      static_cast<int64_t>(k.metadata_index), k.dtype_id, k.shape_id,
                      k.storage_id, k.sharding_id, k.array_sharding_id}) {
      key += std::to_string(v);
      key += ',';
    }
    select.bind(1, key);
  };
  return lookup_with(leaf_specs_, k, bind_select, [&] {    insert_leaf_spec_.bind(1, k.value_type_id);
    insert_leaf_spec_.bind(2, to_string(k.kind));
    insert_leaf_spec_.bind(3, static_cast<int64_t>(k.skip_deserialize));
    insert_leaf_spec_.bind(4, metadata_column_name(k.metadata_index));
    bind_id(insert_leaf_spec_, 5, k.dtype_id);
    bind_id(insert_leaf_spec_, 6, k.shape_id);
    bind_id(insert_leaf_spec_, 7, k.storage_id);
    bind_id(insert_leaf_spec_, 8, k.sharding_id);
    bind_id(insert_leaf_spec_, 9, k.array_sharding_id);
    insert_leaf_spec_.bind(10, key);
    return run_insert(db_, insert_leaf_spec_);
  });
}

void Interner::clear() {
  for (auto* table : {&key_paths_, &value_types_, &dtypes_, &meshes_, &partition_specs_,
                      &shardings_})
    table->cache.clear();
  storages_.cache.clear();
  shapes_.cache.clear();
  leaf_specs_.cache.clear();
  sharding_strings_.clear();
  last_sharding_string_ = nullptr;
  last_sharding_text_ = {};
  sharding_string_bytes_ = 0;
}

}  // namespace ckptcat::catalog_detail
