// ckptcat::pull (ckptcat/pull.h): shared PostgreSQL catalog -> SQLite catalog,
// table by table with the database's ids, in one SQLite transaction. Column
// lists name the same columns on both engines (schema/pg/ mirrors schema/);
// SQLite's INTEGER affinity turns the text PostgreSQL sends into integers.
#include "ckptcat/pull.h"

#include <SQLiteCpp/SQLiteCpp.h>

#include "connection.h"
#include "pg_schema.h"

namespace ckptcat {
namespace {

struct Copied {
  const char* table;
  const char* columns;
  const char* from_where;  // after "SELECT <columns> FROM "; "%C" stands for the checkpoint filter
};

// Parents before children (the SQLite catalog checks foreign keys).
constexpr Copied kTables[] = {
    {"value_types", "id, name", "value_types"},
    {"dtypes", "id, name", "dtypes"},
    {"shapes", "id, rank, json", "shapes"},
    {"shape_dims", "shape_id, dim, size", "shape_dims"},
    {"key_paths", "id, name, key_types, keys", "key_paths"},
    {"storages", "id, chunk_shape_id, write_shape_id, key", "storages"},
    {"meshes", "id, shape_id, has_axis_types, has_devices, device_count, key", "meshes"},
    {"mesh_axes", "mesh_id, axis, name, name_json, size, span, axis_type, axis_type_json",
     "mesh_axes"},
    {"mesh_devices", "mesh_id, pos, device_id", "mesh_devices"},
    {"partition_specs", "id, entry_count, key", "partition_specs"},
    {"partition_spec_entries", "spec_id, pos, kind", "partition_spec_entries"},
    {"partition_spec_axes", "spec_id, pos, sub, name, name_json", "partition_spec_axes"},
    {"shardings",
     "id, kind, mesh_id, partition_spec_id, device_str, device_str_json, shape_id, memory_kind, "
     "memory_kind_json, key",
     "shardings"},
    {"sharding_texts", "sharding_id, serialized", "sharding_texts"},
    {"leaf_specs",
     "id, value_type_id, kind, skip_deserialize, metadata, dtype_id, shape_id, storage_id, "
     "sharding_id, array_sharding_id, key",
     "leaf_specs"},
    {"roots", "id, path", "roots WHERE id IN (SELECT root_id FROM checkpoints WHERE id IN (%C))"},
    {"checkpoints",
     "id, directory, fingerprint, root_id, step_name, step, direct, layout_version, finished, "
     "unfinished_reason, commit_marker, mtime_nsecs, time_nsecs, step_metadata_present, "
     "item_handlers_kind, item_handlers_string, metrics, performance_metrics, custom_metadata, "
     "init_timestamp_nsecs, commit_timestamp_nsecs, commit_timestamp_null, item_count, "
     "leaf_count, stored_bytes",
     "checkpoints WHERE id IN (%C)"},
    {"step_item_handlers", "checkpoint_id, item, typestr",
     "step_item_handlers WHERE checkpoint_id IN (%C)"},
    {"items",
     "id, checkpoint_id, ord, name, directory, kind, handler, use_ocdbt, use_zarr3, "
     "store_array_data_equal_to_fill_value, custom_metadata, has_value_metadata_tree, "
     "array_store, json_content, error, leaf_count, stored_bytes",
     "items WHERE checkpoint_id IN (%C)"},
    {"problems", "id, checkpoint_id, item_id, severity, file, message",
     "problems WHERE checkpoint_id IN (%C) ORDER BY id"},
    {"leaves", "item_id, ord, key_path_id, spec_id, stored_chunks, stored_bytes",
     "leaves WHERE item_id IN (SELECT id FROM items WHERE checkpoint_id IN (%C))%L"},
    {"leaf_extras",
     "item_id, ord, sharding_raw, random_key_impl, string_value, inline_shape_id, "
     "inline_dtype_id, error, meta_name, meta_directory",
     "leaf_extras WHERE item_id IN (SELECT id FROM items WHERE checkpoint_id IN (%C))%X"},
};

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return text;
}

}  // namespace

void pull(const std::string& conninfo, Catalog& into, const PullScope& scope) {
  pg::Connection pg(conninfo);
  pg::require_schema(pg);
  // The chosen checkpoints: one per directory, the first origin's.
  std::string chosen =
      "SELECT DISTINCT ON (directory) id FROM checkpoints c";
  if (scope.directories) {
    std::string list;
    for (const auto& d : *scope.directories) list += (list.empty() ? "" : ", ") + pg.quote_literal(d);
    chosen += list.empty() ? " WHERE false" : " WHERE directory IN (" + list + ")";
  }
  chosen += " ORDER BY directory, origin";
  // Without leaves: only those the leaf errors (import_errors) name.
  const std::string only_errors =
      scope.leaves ? "" : " AND (item_id, ord) IN (SELECT item_id, ord FROM leaf_extras WHERE error IS NOT NULL)";
  const std::string extras_filter = scope.leaves ? "" : " AND error IS NOT NULL";

  SQLite::Database& db = into.database();
  try {
    pg.exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", "reading the catalog");
    SQLite::Transaction txn(db);
    for (const auto& t : kTables) {
      std::string from = replace_all(t.from_where, "%C", chosen);
      from = replace_all(from, "%L", only_errors);
      from = replace_all(from, "%X", extras_filter);
      const pg::Result rows =
          pg.exec(std::string("SELECT ") + t.columns + " FROM " + from, "reading the catalog");
      std::string marks;
      for (int i = 0; i < rows.columns(); ++i) marks += i ? ", ?" : "?";
      SQLite::Statement insert(db, std::string("INSERT INTO ") + t.table + " (" + t.columns +
                                       ") VALUES (" + marks + ")");
      for (int r = 0; r < rows.rows(); ++r) {
        for (int c = 0; c < rows.columns(); ++c) {
          if (rows.is_null(r, c)) {
            insert.bind(c + 1);
          } else {
            const std::string_view v = rows.text(r, c);
            insert.bind(c + 1, std::string(v));  // as TEXT; INTEGER columns convert it
          }
        }
        insert.exec();
        insert.reset();
      }
    }
    txn.commit();
    pg.exec("COMMIT", "reading the catalog");
  } catch (const SQLite::Exception& e) {
    throw Error(Error::Code::kCatalog,
                std::string("copying the shared catalog into memory: ") + e.what(), pg.target());
  }
}

}  // namespace ckptcat
