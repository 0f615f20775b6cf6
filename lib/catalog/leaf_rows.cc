// `leaves` rows in batches (see leaf_rows.h).
#include "leaf_rows.h"

#include <string>

namespace ckptcat::catalog_detail {
namespace {

constexpr int kColumns = 6;

std::string insert_sql(int rows) {
  std::string sql =
      "INSERT INTO leaves(item_id, ord, key_path_id, spec_id, stored_chunks, stored_bytes) VALUES ";
  for (int r = 0; r < rows; ++r) sql += r ? ", (?, ?, ?, ?, ?, ?)" : "(?, ?, ?, ?, ?, ?)";
  return sql;
}

}  // namespace

LeafRows::LeafRows(SQLite::Database& db)
    : insert_many_(db, insert_sql(kRowsPerStatement)), insert_one_(db, insert_sql(1)) {
  pending_.reserve(kRowsPerStatement);
}

void LeafRows::add(const LeafRow& row) {
  pending_.push_back(row);
  if (static_cast<int>(pending_.size()) == kRowsPerStatement) {
    write(insert_many_, pending_.data(), kRowsPerStatement);
    pending_.clear();
  }
}

void LeafRows::flush() {
  for (const auto& row : pending_) write(insert_one_, &row, 1);
  pending_.clear();
}

void LeafRows::write(SQLite::Statement& insert, const LeafRow* rows, int count) {
  for (int r = 0; r < count; ++r) {
    const LeafRow& row = rows[r];
    const int at = r * kColumns;
    insert.bind(at + 1, row.item_id);
    insert.bind(at + 2, row.ord);
    insert.bind(at + 3, row.key_path_id);
    insert.bind(at + 4, row.spec_id);
    if (row.stored) {
      insert.bind(at + 5, static_cast<int64_t>(row.stored->chunk_count));
      insert.bind(at + 6, static_cast<int64_t>(row.stored->bytes));
    } else {
      insert.bind(at + 5);
      insert.bind(at + 6);
    }
  }
  insert.exec();
  insert.reset();
}

}  // namespace ckptcat::catalog_detail
