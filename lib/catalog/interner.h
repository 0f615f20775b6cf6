// Write-side dedup of everything leaves repeat: key paths, value types,
// dtypes, shapes, storages, shardings (with their meshes and partition specs)
// and leaf specs. Each value is looked up in an in-memory cache keyed by
// content, then in its table's UNIQUE key, and inserted only when new.
//
// Ids stay valid across transactions because dedup rows are never deleted;
// after a rollback, clear() drops the ids that the rollback undid.
#pragma once

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "ckptcat/checkpoint.h"
#include "ckptcat/metadata.h"
#include "ckptcat/sharding.h"

namespace ckptcat::catalog_detail {

// The interned columns of a leaf_specs row; 0 stands for NULL.
struct LeafSpecKey {
  int64_t value_type_id = 0;
  LeafKind kind = LeafKind::kOther;
  bool skip_deserialize = false;
  size_t metadata_index = 0;  // LeafMetadata::index()
  int64_t dtype_id = 0;
  int64_t shape_id = 0;
  int64_t storage_id = 0;
  int64_t sharding_id = 0;
  int64_t array_sharding_id = 0;
  bool operator==(const LeafSpecKey&) const = default;
};

// The column value of LeafMetadata::index() in leaf_specs.metadata.
const char* metadata_column_name(size_t index) noexcept;

// A _sharding string as interned: its row (when the string round-trips
// byte-exactly through the normalized tables) and its parse (when it parses).
struct InternedShardingString {
  std::optional<int64_t> id;
  std::shared_ptr<const ShardingMetadata> parsed;
};

// Python-style JSON list of integers: "[2, 4]", "[]".
std::string shape_json(const Shape& shape);

struct ShapeHash {
  size_t operator()(const Shape& shape) const noexcept;
};
struct IdPairHash {
  size_t operator()(const std::pair<int64_t, int64_t>& ids) const noexcept;
};
struct LeafSpecKeyHash {
  size_t operator()(const LeafSpecKey& key) const noexcept;
};

class Interner {
 public:
  explicit Interner(SQLite::Database& db);

  int64_t key_path(const KeyPath& path, const std::string& name);
  int64_t value_type(const std::string& name);
  int64_t dtype(const std::string& name);
  int64_t shape(const Shape& shape);
  int64_t storage(const StorageMetadata& storage);
  const InternedShardingString& sharding_string(const Shared<std::string>& serialized);
  int64_t sharding(const ShardingMetadata& sharding);
  int64_t leaf_spec(const LeafSpecKey& key);

  // Forgets every cached id (call after a rollback).
  void clear();

 private:
  // A content-keyed table: cache (keyed by the C++ value), then
  // SELECT id ... WHERE <content> = ?, else insert().
  template <typename Key, typename Hash = std::hash<Key>>
  struct Table {
    Table(SQLite::Database& db, const char* select_by_key) : select(db, select_by_key) {}
    SQLite::Statement select;
    std::unordered_map<Key, int64_t, Hash> cache;
  };
  template <typename Key, typename Hash, typename BindSelect, typename Insert>
  int64_t lookup_with(Table<Key, Hash>& table, const Key& cache_key, BindSelect&& bind_select,
                      Insert&& insert);
  // For tables whose SELECT takes the text key as ?1.
  template <typename Insert>
  int64_t lookup(Table<std::string>& table, const std::string& key, Insert&& insert);

  int64_t mesh(const NamedShardingMetadata& named);
  int64_t partition_spec(const std::vector<PartitionSpecEntry>& spec);

  SQLite::Database& db_;
  // In constructor order.
  Table<std::string> key_paths_, value_types_, dtypes_;
  Table<Shape, ShapeHash> shapes_;
  Table<std::pair<int64_t, int64_t>, IdPairHash> storages_;
  Table<std::string> meshes_, partition_specs_, shardings_;
  Table<LeafSpecKey, LeafSpecKeyHash> leaf_specs_;
  SQLite::Statement insert_key_path_, insert_value_type_, insert_dtype_, insert_shape_,
      insert_shape_dim_, insert_storage_, insert_mesh_, insert_mesh_axis_, insert_mesh_device_,
      insert_partition_spec_, insert_partition_spec_entry_, insert_partition_spec_axis_,
      insert_sharding_, insert_sharding_text_, insert_leaf_spec_;
  std::string key_path_buffer_;  // reused: the cache key of key_path()
  std::unordered_map<std::string, InternedShardingString> sharding_strings_;
  // The entry found or added last (map nodes stay put); null after a clear.
  const std::pair<const std::string, InternedShardingString>* last_sharding_string_ = nullptr;
  Shared<std::string> last_sharding_text_;  // the string last_sharding_string_ was found for
  size_t sharding_string_bytes_ = 0;
};

}  // namespace ckptcat::catalog_detail
