// ckptcat::push (ckptcat/push.h): local SQLite catalog -> shared PostgreSQL
// catalog.
//
// Two steps, each in transactions retried on deadlock / serialization failure:
//  1. Shared rows. Every dedup row of the local catalog is COPYed into a
//     staging table (with its local id) and merged table by table, parents
//     first, each in the order of its key's hash so concurrent pushers lock
//     rows in one order: rows the database lacks are inserted, then m_<table>
//     (a session temp table) maps each local id to the database's id. Keys say
//     what a row is by content (see schema/pg/migrations/0001_initial.sql), so
//     every host finds the same rows. Dedup rows are never deleted, so the maps
//     stay valid once committed.
//  2. Checkpoints, in batches of about PushOptions::batch_leaves leaves. The
//     batch's rows (checkpoints, items, problems, handlers, leaves, extras) are
//     COPYed into staging tables with local ids, then one transaction takes an
//     advisory lock per checkpoint key (in key order), drops the checkpoints the
//     database already has with the same fingerprint, deletes the older
//     versions of the others and inserts the batch, translating local ids
//     through the maps.
// Checkpoints whose fingerprint the database already holds are left out before
// anything is staged, so pushing again reads one list and writes nothing.
#include "ckptcat/push.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "connection.h"
#include "pg_schema.h"

namespace ckptcat {
namespace {

using pg::Connection;
using pg::PgError;
using pg::Result;

struct StmtDeleter {
  void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
};

// Streams the rows of a query on the local catalog into `copy_sql` (COPY ...
// FROM STDIN), every column as text or NULL.
uint64_t copy_rows(Connection& pg, sqlite3* db, const std::string& sqlite_sql,
                   const std::string& copy_sql, const char* what) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, sqlite_sql.c_str(), -1, &raw, nullptr) != SQLITE_OK)
    throw Error(Error::Code::kCatalog,
                std::string(what) + ": reading the local catalog: " + sqlite3_errmsg(db));
  std::unique_ptr<sqlite3_stmt, StmtDeleter> stmt(raw);
  Connection::Copy copy(pg, copy_sql, what);
  const int columns = sqlite3_column_count(raw);
  int rc;
  while ((rc = sqlite3_step(raw)) == SQLITE_ROW) {
    for (int i = 0; i < columns; ++i) {
      if (sqlite3_column_type(raw, i) == SQLITE_NULL) {
        copy.null();
        continue;
      }
      const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(raw, i));
      copy.field({text, static_cast<size_t>(sqlite3_column_bytes(raw, i))});
    }
    copy.end_row();
  }
  if (rc != SQLITE_DONE)
    throw Error(Error::Code::kCatalog,
                std::string(what) + ": reading the local catalog: " + sqlite3_errmsg(db));
  return copy.finish();
}

// The names in a column list: the first word of each comma-separated entry
// ("local_id bigint, name text" -> local_id, name).
std::vector<std::string> column_names(std::string_view list) {
  std::vector<std::string> names;
  while (!list.empty()) {
    const size_t comma = list.find(',');
    std::string_view entry = list.substr(0, comma);
    while (!entry.empty() && entry.front() == ' ') entry.remove_prefix(1);
    names.emplace_back(entry.substr(0, entry.find(' ')));
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
  }
  return names;
}

// A staging table: its PostgreSQL columns and the local query filling them.
struct Staged {
  const char* name;
  const char* columns;  // "name type, ..."
  std::string select;   // SQLite, same column order
};

void stage(Connection& pg, sqlite3* db, const Staged& s) {
  pg.exec(std::string("CREATE TEMP TABLE ") + s.name + " (" + s.columns + ") ON COMMIT DROP",
          "creating a staging table");
  std::string names;
  for (const auto& name : column_names(s.columns)) names += (names.empty() ? "" : ", ") + name;
  copy_rows(pg, db, s.select, std::string("COPY ") + s.name + " (" + names + ") FROM STDIN",
            "copying rows to PostgreSQL");
}

const std::vector<Staged>& shared_tables() {
  static const std::vector<Staged> tables = {
      {"s_value_types", "local_id bigint, name text", "SELECT id, name FROM value_types"},
      {"s_dtypes", "local_id bigint, name text", "SELECT id, name FROM dtypes"},
      {"s_shapes", "local_id bigint, rank integer, json text", "SELECT id, rank, json FROM shapes"},
      {"s_shape_dims", "shape_id bigint, dim integer, size bigint",
       "SELECT shape_id, dim, size FROM shape_dims"},
      // Unambiguous: the name's length, then key_types (digits only), ':', keys.
      {"s_key_paths", "local_id bigint, name text, key_types text, keys text, key text",
       "SELECT id, name, key_types, keys, "
       "length(CAST(name AS BLOB)) || ':' || name || key_types || ':' || keys FROM key_paths"},
      {"s_storages", "local_id bigint, chunk_shape_id bigint, write_shape_id bigint",
       "SELECT id, chunk_shape_id, write_shape_id FROM storages"},
      {"s_meshes",
       "local_id bigint, shape_id bigint, has_axis_types integer, has_devices integer, "
       "device_count bigint, key text",
       "SELECT id, shape_id, has_axis_types, has_devices, device_count, key FROM meshes"},
      {"s_mesh_axes",
       "mesh_id bigint, axis integer, name text, name_json text, size bigint, span bigint, "
       "axis_type text, axis_type_json text",
       "SELECT mesh_id, axis, name, name_json, size, span, axis_type, axis_type_json "
       "FROM mesh_axes"},
      {"s_mesh_devices", "mesh_id bigint, pos bigint, device_id bigint",
       "SELECT mesh_id, pos, device_id FROM mesh_devices"},
      {"s_partition_specs", "local_id bigint, entry_count integer, key text",
       "SELECT id, entry_count, key FROM partition_specs"},
      {"s_partition_spec_entries", "spec_id bigint, pos integer, kind integer",
       "SELECT spec_id, pos, kind FROM partition_spec_entries"},
      {"s_partition_spec_axes", "spec_id bigint, pos integer, sub integer, name text, name_json text",
       "SELECT spec_id, pos, sub, name, name_json FROM partition_spec_axes"},
      {"s_shardings",
       "local_id bigint, kind text, mesh_id bigint, partition_spec_id bigint, device_str text, "
       "device_str_json text, shape_id bigint, memory_kind text, memory_kind_json text",
       "SELECT id, kind, mesh_id, partition_spec_id, device_str, device_str_json, shape_id, "
       "memory_kind, memory_kind_json FROM shardings"},
      {"s_sharding_texts", "sharding_id bigint, serialized text",
       "SELECT sharding_id, serialized FROM sharding_texts"},
      {"s_leaf_specs",
       "local_id bigint, value_type_id bigint, kind text, skip_deserialize integer, metadata text, "
       "dtype_id bigint, shape_id bigint, storage_id bigint, sharding_id bigint, "
       "array_sharding_id bigint",
       "SELECT id, value_type_id, kind, skip_deserialize, metadata, dtype_id, shape_id, "
       "storage_id, sharding_id, array_sharding_id FROM leaf_specs"},
  };
  return tables;
}

// Inserts the rows of `source` (local_id, then `columns`) that `table` lacks,
// in the order of md5(key), and maps local ids to ids in m_<table>.
std::string merge_keyed(const std::string& table, const std::string& key,
                        const std::string& columns, const std::string& source) {
  const std::string k = "k_" + table, m = "m_" + table;
  const std::string same = "md5(t." + key + ")::uuid = md5(k." + key + ")::uuid";
  return "CREATE TEMP TABLE " + k + " ON COMMIT DROP AS " + source + ";\n" +
         "INSERT INTO " + table + " (" + columns + ") SELECT " + columns + " FROM " + k +
         " k WHERE NOT EXISTS (SELECT 1 FROM " + table + " t WHERE " + same + ") ORDER BY md5(k." +
         key + ")::uuid ON CONFLICT DO NOTHING;\n" + "DROP TABLE IF EXISTS " + m + ";\n" +
         "CREATE TEMP TABLE " + m + " AS SELECT k.local_id, t.id FROM " + k + " k JOIN " + table +
         " t ON " + same + " AND t." + key + " = k." + key + ";\n" + "ALTER TABLE " + m +
         " ADD PRIMARY KEY (local_id);\n";
}

// Inserts the staged child rows of rows in m_<parent> that the database lacks
// (key_columns: what tells a parent's children apart; empty for one per parent).
std::string merge_children(const std::string& table, const std::string& parent,
                           const std::string& parent_column, const std::string& key_columns,
                           const std::string& columns) {
  std::string match;  // x.<key> = s.<key> for each further key column
  for (const auto& c : column_names(key_columns)) match += " AND x." + c + " = s." + c;
  std::string select_columns;  // s.<column> for each column
  for (const auto& c : column_names(columns)) select_columns += ", s." + c;
  return "INSERT INTO " + table + " (" + parent_column + ", " + columns + ") SELECT p.id" +
         select_columns + " FROM s_" + table + " s JOIN m_" + parent + " p ON p.local_id = s." +
         parent_column + " WHERE NOT EXISTS (SELECT 1 FROM " + table + " x WHERE x." +
         parent_column + " = p.id" + match + ") ORDER BY p.id" +
         (key_columns.empty() ? "" : ", " + key_columns) + " ON CONFLICT DO NOTHING;\n";
}

std::string shared_merge_sql() {
  std::string sql;
  sql += merge_keyed("value_types", "name", "name", "SELECT local_id, name FROM s_value_types");
  sql += merge_keyed("dtypes", "name", "name", "SELECT local_id, name FROM s_dtypes");
  sql += merge_keyed("shapes", "json", "rank, json", "SELECT local_id, rank, json FROM s_shapes");
  sql += merge_children("shape_dims", "shapes", "shape_id", "dim", "dim, size");
  sql += merge_keyed("key_paths", "key", "name, key_types, keys, key",
                     "SELECT local_id, name, key_types, keys, key FROM s_key_paths");
  sql += merge_keyed("storages", "key", "chunk_shape_id, write_shape_id, key",
                     "SELECT s.local_id, c.id AS chunk_shape_id, w.id AS write_shape_id, "
                     "coalesce(c.id, 0) || ':' || coalesce(w.id, 0) AS key FROM s_storages s "
                     "LEFT JOIN m_shapes c ON c.local_id = s.chunk_shape_id "
                     "LEFT JOIN m_shapes w ON w.local_id = s.write_shape_id");
  sql += merge_keyed("meshes", "key", "shape_id, has_axis_types, has_devices, device_count, key",
                     "SELECT s.local_id, m.id AS shape_id, s.has_axis_types, s.has_devices, "
                     "s.device_count, s.key FROM s_meshes s "
                     "JOIN m_shapes m ON m.local_id = s.shape_id");
  sql += merge_children("mesh_axes", "meshes", "mesh_id", "axis",
                        "axis, name, name_json, size, span, axis_type, axis_type_json");
  sql += merge_children("mesh_devices", "meshes", "mesh_id", "pos", "pos, device_id");
  sql += merge_keyed("partition_specs", "key", "entry_count, key",
                     "SELECT local_id, entry_count, key FROM s_partition_specs");
  sql += merge_children("partition_spec_entries", "partition_specs", "spec_id", "pos", "pos, kind");
  sql += merge_children("partition_spec_axes", "partition_specs", "spec_id", "pos, sub",
                        "pos, sub, name, name_json");
  sql += merge_keyed(
      "shardings", "key",
      "kind, mesh_id, partition_spec_id, device_str, device_str_json, shape_id, memory_kind, "
      "memory_kind_json, key",
      "SELECT s.local_id, s.kind, mm.id AS mesh_id, pm.id AS partition_spec_id, s.device_str, "
      "s.device_str_json, sm.id AS shape_id, s.memory_kind, s.memory_kind_json, "
      "json_build_array(s.kind, mm.id, pm.id, s.device_str, sm.id, s.memory_kind)::text AS key "
      "FROM s_shardings s LEFT JOIN m_meshes mm ON mm.local_id = s.mesh_id "
      "LEFT JOIN m_partition_specs pm ON pm.local_id = s.partition_spec_id "
      "LEFT JOIN m_shapes sm ON sm.local_id = s.shape_id");
  // A sharding's string is the same wherever it was read: the first push of a
  // sharding stores it, later ones find it there.
  sql += merge_children("sharding_texts", "shardings", "sharding_id", "", "serialized");
  sql += merge_keyed(
      "leaf_specs", "key",
      "value_type_id, kind, skip_deserialize, metadata, dtype_id, shape_id, storage_id, "
      "sharding_id, array_sharding_id, key",
      "SELECT s.local_id, vt.id AS value_type_id, s.kind, s.skip_deserialize, s.metadata, "
      "dt.id AS dtype_id, sh.id AS shape_id, st.id AS storage_id, sd.id AS sharding_id, "
      "sa.id AS array_sharding_id, json_build_array(vt.id, s.kind, s.skip_deserialize, "
      "s.metadata, dt.id, sh.id, st.id, sd.id, sa.id)::text AS key FROM s_leaf_specs s "
      "JOIN m_value_types vt ON vt.local_id = s.value_type_id "
      "LEFT JOIN m_dtypes dt ON dt.local_id = s.dtype_id "
      "LEFT JOIN m_shapes sh ON sh.local_id = s.shape_id "
      "LEFT JOIN m_storages st ON st.local_id = s.storage_id "
      "LEFT JOIN m_shardings sd ON sd.local_id = s.sharding_id "
      "LEFT JOIN m_shardings sa ON sa.local_id = s.array_sharding_id");
  return sql;
}

// The tables whose every staged row must have found its row in the database.
constexpr const char* kKeyedTables[] = {"value_types", "dtypes", "shapes", "key_paths",
                                        "storages", "meshes", "partition_specs", "shardings",
                                        "leaf_specs"};

// ---- checkpoints ---------------------------------------------------------------

constexpr const char* kCheckpointColumns =
    "directory, fingerprint, step_name, step, direct, layout_version, finished, "
    "unfinished_reason, commit_marker, mtime_nsecs, time_nsecs, step_metadata_present, "
    "item_handlers_kind, item_handlers_string, metrics, performance_metrics, custom_metadata, "
    "init_timestamp_nsecs, commit_timestamp_nsecs, commit_timestamp_null, item_count, "
    "leaf_count, stored_bytes";
constexpr const char* kItemColumns =
    "ord, name, directory, kind, handler, use_ocdbt, use_zarr3, "
    "store_array_data_equal_to_fill_value, custom_metadata, has_value_metadata_tree, "
    "array_store, json_content, error, leaf_count, stored_bytes";
constexpr const char* kExtraColumns =
    "sharding_raw, random_key_impl, string_value, error, meta_name, meta_directory";

struct LocalCheckpoint {
  int64_t id = 0;
  std::string directory;
  std::string fingerprint;
  uint64_t leaf_count = 0;
};

// Stages the batch `ids` (local checkpoint ids, "1,2,3").
void stage_batch(Connection& pg, sqlite3* db, const std::string& ids) {
  const std::string items = "SELECT id FROM items WHERE checkpoint_id IN (" + ids + ")";
  struct Table {
    const char* name;
    std::string like;    // PostgreSQL query giving the staging columns' types
    std::string select;  // SQLite
  };
  const Table tables[] = {
      {"s_checkpoints",
       std::string("SELECT 0::bigint AS local_id, ''::text AS root, ") + kCheckpointColumns +
           " FROM checkpoints",
       std::string("SELECT c.id, r.path, ") + kCheckpointColumns +
           " FROM checkpoints c JOIN roots r ON r.id = c.root_id WHERE c.id IN (" + ids + ")"},
      {"s_handlers", "SELECT checkpoint_id, item, typestr FROM step_item_handlers",
       "SELECT checkpoint_id, item, typestr FROM step_item_handlers WHERE checkpoint_id IN (" +
           ids + ")"},
      {"s_items", std::string("SELECT id AS local_id, checkpoint_id, ") + kItemColumns + " FROM items",
       std::string("SELECT id, checkpoint_id, ") + kItemColumns +
           " FROM items WHERE checkpoint_id IN (" + ids + ")"},
      {"s_problems",
       "SELECT id AS local_id, checkpoint_id, item_id, severity, file, message FROM problems",
       "SELECT id, checkpoint_id, item_id, severity, file, message FROM problems "
       "WHERE checkpoint_id IN (" + ids + ")"},
      {"s_leaves", "SELECT item_id, ord, key_path_id, spec_id, stored_chunks, stored_bytes FROM leaves",
       "SELECT item_id, ord, key_path_id, spec_id, stored_chunks, stored_bytes FROM leaves "
       "WHERE item_id IN (" + items + ")"},
      {"s_extras",
       std::string("SELECT item_id, ord, inline_shape_id, inline_dtype_id, ") + kExtraColumns +
           " FROM leaf_extras",
       std::string("SELECT item_id, ord, inline_shape_id, inline_dtype_id, ") + kExtraColumns +
           " FROM leaf_extras WHERE item_id IN (" + items + ")"},
  };
  for (const auto& t : tables) {
    pg.exec(std::string("CREATE TEMP TABLE ") + t.name + " ON COMMIT DROP AS " + t.like +
                " WITH NO DATA",
            "creating a staging table");
    copy_rows(pg, db, t.select, std::string("COPY ") + t.name + " FROM STDIN",
              "copying rows to PostgreSQL");
  }
}

struct BatchResult {
  uint64_t inserted = 0, replaced = 0, unchanged = 0, leaves = 0;
};

BatchResult merge_batch(Connection& pg, const std::string& origin, bool force) {
  const std::string o = pg.quote_literal(origin);
  const std::string same_checkpoint =
      "c.origin = " + o +
      " AND md5(c.directory)::uuid = md5(s.directory)::uuid AND c.directory = s.directory";
  // One lock per checkpoint key, taken in key order: pushers of the same
  // checkpoint take turns; pushers of different ones do not wait.
  pg.exec("SELECT pg_advisory_xact_lock(k) FROM (SELECT DISTINCT hashtextextended(" + o +
              " || '/' || directory, 0) AS k FROM s_checkpoints) AS keys ORDER BY k",
          "locking checkpoints");
  pg.exec("CREATE TEMP TABLE b_old ON COMMIT DROP AS SELECT s.local_id, c.id, "
          "c.fingerprint = s.fingerprint AS same FROM s_checkpoints s JOIN checkpoints c ON " +
              same_checkpoint,
          "finding stored checkpoints");
  BatchResult r;
  if (!force) {
    r.unchanged = pg.exec("DELETE FROM s_checkpoints s USING b_old o WHERE o.local_id = s.local_id "
                          "AND o.same",
                          "skipping unchanged checkpoints")
                      .affected();
    pg.exec("DELETE FROM b_old WHERE same", "skipping unchanged checkpoints");
  }
  pg.exec("DELETE FROM leaves WHERE item_id IN (SELECT i.id FROM items i JOIN b_old o "
          "ON i.checkpoint_id = o.id)",
          "removing replaced checkpoints");
  r.replaced =
      pg.exec("DELETE FROM checkpoints WHERE id IN (SELECT id FROM b_old)", "removing replaced checkpoints")
          .affected();
  pg.exec("INSERT INTO roots (path) SELECT DISTINCT root FROM s_checkpoints s WHERE NOT EXISTS "
          "(SELECT 1 FROM roots r WHERE md5(r.path)::uuid = md5(s.root)::uuid AND r.path = s.root) "
          "ORDER BY root ON CONFLICT DO NOTHING",
          "inserting roots");
  const uint64_t written =
      pg.exec("INSERT INTO checkpoints (origin, root_id, " + std::string(kCheckpointColumns) +
                  ") SELECT " + o + ", r.id, " + kCheckpointColumns +
                  " FROM s_checkpoints s JOIN roots r ON md5(r.path)::uuid = md5(s.root)::uuid "
                  "AND r.path = s.root ORDER BY s.local_id",
              "inserting checkpoints")
          .affected();
  r.inserted = written - r.replaced;
  pg.exec("CREATE TEMP TABLE b_ck ON COMMIT DROP AS SELECT s.local_id, c.id FROM s_checkpoints s "
          "JOIN checkpoints c ON " + same_checkpoint,
          "inserting checkpoints");
  pg.exec("INSERT INTO step_item_handlers (checkpoint_id, item, typestr) SELECT b.id, h.item, "
          "h.typestr FROM s_handlers h JOIN b_ck b ON b.local_id = h.checkpoint_id",
          "inserting item handlers");
  pg.exec("INSERT INTO items (checkpoint_id, " + std::string(kItemColumns) + ") SELECT b.id, " +
              kItemColumns + " FROM s_items s JOIN b_ck b ON b.local_id = s.checkpoint_id "
                             "ORDER BY s.local_id",
          "inserting items");
  pg.exec("CREATE TEMP TABLE b_items ON COMMIT DROP AS SELECT s.local_id, i.id FROM s_items s "
          "JOIN b_ck b ON b.local_id = s.checkpoint_id JOIN items i ON i.checkpoint_id = b.id "
          "AND i.ord = s.ord",
          "inserting items");
  pg.exec("INSERT INTO problems (checkpoint_id, item_id, severity, file, message) "
          "SELECT b.id, bi.id, p.severity, p.file, p.message FROM s_problems p "
          "JOIN b_ck b ON b.local_id = p.checkpoint_id "
          "LEFT JOIN b_items bi ON bi.local_id = p.item_id ORDER BY p.local_id",
          "inserting problems");
  const Result expected = pg.exec(
      "SELECT count(*) FROM s_leaves l JOIN b_items bi ON bi.local_id = l.item_id",
      "counting leaves");
  r.leaves = pg.exec("INSERT INTO leaves (item_id, ord, key_path_id, spec_id, stored_chunks, "
                     "stored_bytes) SELECT bi.id, l.ord, kp.id, sp.id, l.stored_chunks, "
                     "l.stored_bytes FROM s_leaves l JOIN b_items bi ON bi.local_id = l.item_id "
                     "JOIN m_key_paths kp ON kp.local_id = l.key_path_id "
                     "JOIN m_leaf_specs sp ON sp.local_id = l.spec_id",
                     "inserting leaves")
                 .affected();
  if (r.leaves != static_cast<uint64_t>(expected.int64(0, 0)))
    throw PgError("inserting leaves: " + std::to_string(expected.int64(0, 0) - static_cast<int64_t>(r.leaves)) +
                      " leaves reference key paths or leaf specs missing from the local catalog",
                  "", pg.target());
  pg.exec("INSERT INTO leaf_extras (item_id, ord, inline_shape_id, inline_dtype_id, " +
              std::string(kExtraColumns) + ") SELECT bi.id, x.ord, sh.id, dt.id, " +
              "x.sharding_raw, x.random_key_impl, x.string_value, x.error, x.meta_name, "
              "x.meta_directory FROM s_extras x JOIN b_items bi ON bi.local_id = x.item_id "
              "LEFT JOIN m_shapes sh ON sh.local_id = x.inline_shape_id "
              "LEFT JOIN m_dtypes dt ON dt.local_id = x.inline_dtype_id",
          "inserting leaf extras");
  return r;
}

// Runs `body` in a transaction, again after a deadlock or serialization
// failure (after a short random pause), at most options.max_retries times.
template <typename Body>
auto in_transaction(Connection& pg, const PushOptions& options, PushResult& result, Body&& body) {
  std::minstd_rand random(std::random_device{}());
  for (int attempt = 0;; ++attempt) {
    pg.exec("BEGIN", "starting a transaction");
    try {
      auto value = body();
      pg.exec("COMMIT", "committing");
      return value;
    } catch (const PgError& e) {
      PQclear(PQexec(pg.get(), "ROLLBACK"));
      if (!e.retryable() || attempt >= options.max_retries) throw;
      ++result.retries;
      std::this_thread::sleep_for(std::chrono::milliseconds(10 + random() % (20 << std::min(attempt, 5))));
    } catch (...) {
      PQclear(PQexec(pg.get(), "ROLLBACK"));
      throw;
    }
  }
}

std::vector<LocalCheckpoint> local_checkpoints(SQLite::Database& db) {
  std::vector<LocalCheckpoint> out;
  SQLite::Statement q(db, "SELECT id, directory, fingerprint, leaf_count FROM checkpoints ORDER BY directory");
  while (q.executeStep())
    out.push_back({q.getColumn(0).getInt64(), q.getColumn(1).getString(), q.getColumn(2).getString(),
                   static_cast<uint64_t>(q.getColumn(3).getInt64())});
  return out;
}

// One read transaction on the local catalog for the whole push: every query
// sees the same snapshot, even while an import writes (WAL keeps it).
class LocalSnapshot {
 public:
  explicit LocalSnapshot(SQLite::Database& db) : db_(db) { db_.exec("BEGIN"); }
  ~LocalSnapshot() {
    try {
      db_.exec("ROLLBACK");
    } catch (...) {  // nothing was written; the connection closes anyway
    }
  }
  LocalSnapshot(const LocalSnapshot&) = delete;
  LocalSnapshot& operator=(const LocalSnapshot&) = delete;

 private:
  SQLite::Database& db_;
};

}  // namespace

bool is_postgres_uri(const std::string& text) noexcept { return pg::is_postgres_uri(text); }

PushResult push(Catalog& local, const std::string& conninfo, const PushOptions& options) {
  Connection pg(conninfo);
  pg::ensure_schema(pg);
  PushResult result;
  SQLite::Database& db = local.database();
  std::vector<LocalCheckpoint> checkpoints;
  std::optional<LocalSnapshot> snapshot;
  try {
    snapshot.emplace(db);
    checkpoints = local_checkpoints(db);
  } catch (const SQLite::Exception& e) {
    throw Error(Error::Code::kCatalog, std::string("reading checkpoints: ") + e.what(), local.path());
  }

  // What the database already has, by directory: unchanged ones need nothing.
  std::unordered_map<std::string, std::string> stored;
  {
    const auto rows = pg.exec_params("SELECT directory, fingerprint FROM checkpoints WHERE origin = $1",
                                     {options.origin}, "listing stored checkpoints");
    for (int i = 0; i < rows.rows(); ++i) stored.emplace(rows.text(i, 0), rows.text(i, 1));
  }
  std::vector<const LocalCheckpoint*> pending;
  for (const auto& c : checkpoints) {
    auto it = stored.find(c.directory);
    if (!options.force && it != stored.end() && it->second == c.fingerprint) ++result.unchanged;
    else pending.push_back(&c);
  }
  if (pending.empty()) return result;

  sqlite3* handle = db.getHandle();
  in_transaction(pg, options, result, [&] {
    for (const auto& table : shared_tables()) stage(pg, handle, table);
    pg.exec(shared_merge_sql(), "merging shared rows");
    std::string check = "SELECT ";
    for (const char* t : kKeyedTables) {
      if (check.size() > 7) check += ", ";
      check += std::string("(SELECT count(*) FROM k_") + t + ") - (SELECT count(*) FROM m_" + t + ")";
    }
    const Result missing = pg.exec(check, "checking shared rows");
    for (int i = 0; i < missing.columns(); ++i)
      if (missing.int64(0, i) != 0)
        throw PgError(std::string("merging shared rows: ") + kKeyedTables[i] +
                          ": a row's key hash matches a row with another key (md5 collision)",
                      "", pg.target());
    return 0;
  });

  for (size_t start = 0; start < pending.size();) {
    std::string ids;
    uint64_t leaves = 0;
    size_t end = start;
    while (end < pending.size() && (end == start || leaves + pending[end]->leaf_count <= options.batch_leaves)) {
      if (!ids.empty()) ids += ',';
      ids += std::to_string(pending[end]->id);
      leaves += pending[end]->leaf_count;
      ++end;
    }
    const BatchResult b = in_transaction(pg, options, result, [&] {
      stage_batch(pg, handle, ids);
      return merge_batch(pg, options.origin, options.force);
    });
    result.inserted += b.inserted;
    result.replaced += b.replaced;
    result.unchanged += b.unchanged;
    result.leaves += b.leaves;
    start = end;
  }
  return result;
}

}  // namespace ckptcat
