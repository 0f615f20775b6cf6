// Read side: rebuilds the typed objects (CheckpointMetadata, ItemMetadata,
// Leaf, ShardingMetadata) from the catalog tables. Interned rows (leaf specs,
// shapes, shardings) are decoded once and cached by id; their rows never
// change once written, so the caches stay valid.
#pragma once

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "ckptcat/checkpoint.h"
#include "ckptcat/sharding.h"

struct sqlite3_stmt;

namespace ckptcat::catalog_detail {

class Loader {
 public:
  explicit Loader(SQLite::Database& db);

  // The columns decode_leaf() reads (at its `first` column) and the FROM
  // clause they need: leaves l, key_paths p, leaf_extras x.
  static const char* const kLeafColumns;
  static constexpr int kLeafColumnCount = 15;
  static const char* const kLeafFrom;

  std::optional<CheckpointMetadata> checkpoint(const std::string& directory);
  std::optional<ItemMetadata> item(const std::string& checkpoint_directory,
                                   const std::string& item_name);
  Leaf decode_leaf(SQLite::Statement& row, int first, const std::string& item_directory);

  // nullptr when the id is unknown.
  std::shared_ptr<const ShardingMetadata> sharding(int64_t id);

 private:
  struct Spec {
    std::string value_type;
    LeafKind kind = LeafKind::kOther;
    bool skip_deserialize = false;
    size_t metadata_index = 0;
    // The leaves' metadata (shape, dtype, storage, parsed sharding) with
    // name and directory left empty: each leaf copies it and adds its own.
    LeafMetadata metadata;
    int64_t sharding_id = 0;                        // 0: none
    const Shared<std::string>* sharding_string = nullptr;  // into sharding_strings_, on first use
  };
  struct CppRow;
  struct RawRow;
  // A prepared statement used through the C API, for the load_item loop.
  // Resets a statement when the scope ends, on every path: one left mid-step
  // by an error ("catalog content is damaged") would make the next use of the
  // same Catalog fail with "bad parameter or other API misuse".
  template <typename Statement>
  class ResetOnExit {
   public:
    explicit ResetOnExit(Statement& statement) : statement_(statement) {}
    ~ResetOnExit() { reset_quietly(statement_); }
    ResetOnExit(const ResetOnExit&) = delete;
    ResetOnExit& operator=(const ResetOnExit&) = delete;

   private:
    Statement& statement_;
  };
  class RawStatement;
  static void reset_quietly(SQLite::Statement& statement) noexcept;
  static void reset_quietly(RawStatement& statement) noexcept;

  class RawStatement {
   public:
    RawStatement(SQLite::Database& db, const std::string& sql);
    ~RawStatement();
    RawStatement(const RawStatement&) = delete;
    RawStatement& operator=(const RawStatement&) = delete;
    void start(int64_t id);  // reset and bind ?1
    bool step();             // true: a row is ready
    void finish();
    sqlite3_stmt* get() const { return stmt_; }

   private:
    SQLite::Database& db_;
    sqlite3_stmt* stmt_ = nullptr;
  };
  template <typename Row, typename ExtraRow>
  void decode(const Row& row, int first, const ExtraRow* extras, int extras_first,
              const std::string& item_directory, Leaf& leaf);

  Spec& spec(int64_t id);
  const Shape& shape(int64_t id);
  const std::string& dtype(int64_t id);
  const Shared<std::string>& sharding_string(int64_t id);
  ItemMetadata item_from_row(SQLite::Statement& row);

  SQLite::Database& db_;
  SQLite::Statement select_spec_, select_shape_dims_, select_dtype_, select_sharding_,
      select_mesh_, select_mesh_axes_, select_mesh_devices_, select_spec_entries_,
      select_spec_axes_, select_checkpoint_, select_handlers_, select_items_, select_item_,
      select_problems_;
  RawStatement select_leaves_, select_extras_;
  std::unordered_map<int64_t, Spec> specs_;
  std::unordered_map<int64_t, Shape> shapes_;
  std::unordered_map<int64_t, std::string> dtypes_;
  std::unordered_map<int64_t, std::shared_ptr<const ShardingMetadata>> shardings_;
  std::unordered_map<int64_t, Shared<std::string>> sharding_strings_;  // leaves share them
};

}  // namespace ckptcat::catalog_detail
