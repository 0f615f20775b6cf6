// Writes one CheckpointMetadata into the catalog tables (inside a transaction
// the caller owns). Prepared statements live as long as the writer.
#pragma once

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include <cstdint>
#include <string_view>

#include "ckptcat/checkpoint.h"
#include "interner.h"
#include "leaf_rows.h"

namespace ckptcat::catalog_detail {

class CheckpointWriter {
 public:
  CheckpointWriter(SQLite::Database& db, Interner& interner);

  struct Written {
    int64_t checkpoint_id = 0;
    uint64_t leaf_count = 0;
  };
  // Inserts the checkpoint; the directory must not be in the catalog.
  Written write(const CheckpointMetadata& checkpoint, std::string_view fingerprint);

 private:
  struct ItemTotals {
    uint64_t leaves = 0;
    uint64_t stored_bytes = 0;
  };
  ItemTotals write_item(int64_t checkpoint_id, int64_t ord, const ItemMetadata& item);
  // Whether a leaf needs a leaf_extras row, and whether its _sharding string
  // goes there verbatim (the interner could not normalize it).
  struct LeafExtras {
    bool needed = false;
    bool sharding_raw = false;
  };
  // Adds the leaf's `leaves` row. Its leaf_extras row, if needed, is written
  // by write_extras once the rows are flushed, since it references them.
  LeafExtras write_leaf(int64_t item_id, int64_t ord, const ItemMetadata& item, const Leaf& leaf);
  void write_extras(int64_t item_id, int64_t ord, const ItemMetadata& item, const Leaf& leaf,
                    LeafExtras extras);
  void write_problems(int64_t checkpoint_id, int64_t item_id, const std::vector<Problem>& problems);
  int64_t root(const std::string& path);

  SQLite::Database& db_;
  Interner& interner_;
  SQLite::Statement select_root_, insert_root_, insert_checkpoint_, insert_handler_,
      insert_item_, update_item_totals_, update_checkpoint_totals_, insert_problem_,
      insert_extra_;
  LeafRows leaf_rows_;
};

}  // namespace ckptcat::catalog_detail
