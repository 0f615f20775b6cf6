// ckptcat::Catalog: connection, transactions and queries. The table layout is
// documented in schema/migrations/*.sql, the views in schema/views.sql.
#include "ckptcat/catalog.h"

#include <SQLiteCpp/SQLiteCpp.h>

#include <filesystem>
#include <stdexcept>

#include "ckptcat/error.h"
#include "connection.h"
#include "interner.h"
#include "loader.h"
#include "publish.h"
#include "schema.h"
#include "writer.h"

namespace ckptcat {

using catalog_detail::CheckpointWriter;
using catalog_detail::Interner;
using catalog_detail::Loader;

const char* to_string(IngestAction action) noexcept {
  switch (action) {
    case IngestAction::kInserted: return "inserted";
    case IngestAction::kReplaced: return "replaced";
    case IngestAction::kUnchanged: return "unchanged";
  }
  return "unchanged";
}

class Catalog::Impl {
 public:
  Impl(const std::string& path, const CatalogOptions& options)
      : path_(path), db_(catalog_detail::open_connection(path, options, access_)) {
    catalog_detail::prepare_connection(db_, path, options.read_only, options.busy_timeout_ms);
  }

  // Runs `body`, turning SQLite and encoding failures into ckptcat::Error.
  template <typename Body>
  auto guarded(const char* what, Body&& body) -> decltype(body()) {
    try {
      return body();
    } catch (const Error& e) {
      throw e.with_file(path_);  // every message names the catalog file (catalog.h)
    } catch (const SQLite::Exception& e) {
      throw Error(Error::Code::kCatalog, std::string(what) + ": " + e.what(), path_);
    }
  }

  Loader& loader() {
    if (!loader_) loader_ = std::make_unique<Loader>(db_);
    return *loader_;
  }

  CheckpointWriter& writer() {
    if (!writer_) {
      interner_ = std::make_unique<Interner>(db_);
      writer_ = std::make_unique<CheckpointWriter>(db_, *interner_);
    }
    return *writer_;
  }

  // After a rollback: cached ids and half-run statements are invalid.
  void drop_writer() {
    writer_.reset();
    interner_.reset();
  }

  // (id, fingerprint) of the checkpoint stored under `directory`.
  std::optional<std::pair<int64_t, std::string>> stored(const std::string& directory) {
    if (!select_stored_)
      select_stored_ = std::make_unique<SQLite::Statement>(
          db_, "SELECT id, fingerprint FROM checkpoints WHERE directory = ?1");
    auto& q = *select_stored_;
    q.bind(1, directory);
    std::optional<std::pair<int64_t, std::string>> result;
    if (q.executeStep()) result.emplace(q.getColumn(0).getInt64(), q.getColumn(1).getString());
    q.reset();
    return result;
  }

  std::string path_;
  CatalogAccess access_ = CatalogAccess::kReadWrite;  // set by open_connection() (before db_)
  SQLite::Database db_;

 private:
  std::unique_ptr<Interner> interner_;
  std::unique_ptr<CheckpointWriter> writer_;
  std::unique_ptr<Loader> loader_;
  std::unique_ptr<SQLite::Statement> select_stored_;
};

namespace {

// A WHERE clause with positional parameters, built from optional filters.
class Conditions {
 public:
  template <typename T>
  void add(const std::string& sql, T value) {
    clauses_.push_back(sql);
    binders_.push_back([value = std::move(value)](SQLite::Statement& q, int i) { q.bind(i, value); });
  }
  std::string sql() const {
    std::string out;
    for (size_t i = 0; i < clauses_.size(); ++i) out += (i ? " AND " : " WHERE ") + clauses_[i];
    return out;
  }
  void bind(SQLite::Statement& q) const {
    for (size_t i = 0; i < binders_.size(); ++i) binders_[i](q, static_cast<int>(i) + 1);
  }

 private:
  std::vector<std::string> clauses_;
  std::vector<std::function<void(SQLite::Statement&, int)>> binders_;
};

std::optional<int64_t> optional_int(const SQLite::Column& column) {
  if (column.isNull()) return std::nullopt;
  return column.getInt64();
}

// The order checkpoints are listed in everywhere: by root, then step as a
// number (checkpoints without one last), then directory. Needs `c` =
// checkpoints and `r` = its root.
constexpr const char* kCheckpointOrder = "r.path, c.step IS NULL, c.step, c.directory";

const char* sharding_kind_column(ShardingKind kind) {
  switch (kind) {
    case ShardingKind::kNamed: return "named";
    case ShardingKind::kSingleDevice: return "single_device";
    case ShardingKind::kPositional: return "positional";
  }
  return "";
}

}  // namespace

Catalog::Catalog(const std::string& path, const CatalogOptions& options) {
  try {
    impl_ = std::make_unique<Impl>(path, options);
  } catch (const SQLite::Exception& e) {
    throw Error(Error::Code::kCatalog, std::string("cannot open catalog: ") + e.what(), path);
  }
}
Catalog::~Catalog() = default;
Catalog::Catalog(Catalog&&) noexcept = default;
Catalog& Catalog::operator=(Catalog&&) noexcept = default;

int Catalog::schema_version() noexcept { return catalog_detail::latest_schema_version(); }
int32_t Catalog::application_id() noexcept { return catalog_detail::kApplicationId; }
const std::string& Catalog::path() const noexcept { return impl_->path_; }
CatalogAccess Catalog::access() const noexcept { return impl_->access_; }
SQLite::Database& Catalog::database() { return impl_->db_; }

IngestResult Catalog::ingest(const CheckpointMetadata& checkpoint, std::string_view fingerprint,
                             const IngestOptions& options) {
  return impl_->guarded(("ingesting " + checkpoint.directory).c_str(), [&] {
    const auto unchanged = [&](const auto& stored) {
      return !options.force && stored && stored->second == fingerprint;
    };
    auto before = impl_->stored(checkpoint.directory);
    if (unchanged(before)) return IngestResult{IngestAction::kUnchanged, before->first, 0};

    SQLite::Transaction txn(impl_->db_, SQLite::TransactionBehavior::IMMEDIATE);
    // Another process may have imported it while we waited for the lock.
    auto existing = impl_->stored(checkpoint.directory);
    if (unchanged(existing)) return IngestResult{IngestAction::kUnchanged, existing->first, 0};
    try {
      if (existing)
        impl_->db_.exec("DELETE FROM checkpoints WHERE id = " + std::to_string(existing->first));
      const auto written = impl_->writer().write(checkpoint, fingerprint);
      txn.commit();
      return IngestResult{existing ? IngestAction::kReplaced : IngestAction::kInserted,
                          written.checkpoint_id, written.leaf_count};
    } catch (...) {
      impl_->drop_writer();
      throw;  // txn rolls back: the previous content stays
    }
  });
}

std::optional<std::string> Catalog::fingerprint(const std::string& directory) const {
  return impl_->guarded("reading a fingerprint", [&]() -> std::optional<std::string> {
    auto stored = impl_->stored(directory);
    if (!stored) return std::nullopt;
    return stored->second;
  });
}

uint64_t Catalog::remove(const std::vector<std::string>& directories) {
  return impl_->guarded("removing checkpoints", [&] {
    SQLite::Transaction txn(impl_->db_, SQLite::TransactionBehavior::IMMEDIATE);
    SQLite::Statement del(impl_->db_, "DELETE FROM checkpoints WHERE directory = ?1");
    uint64_t removed = 0;
    for (const auto& directory : directories) {
      del.bind(1, directory);
      removed += static_cast<uint64_t>(del.exec());
      del.reset();
    }
    txn.commit();
    return removed;
  });
}

std::vector<std::string> Catalog::prune_missing(const std::optional<std::string>& folder) {
  std::vector<std::string> missing;
  impl_->guarded("listing checkpoints to prune", [&] {
    std::string sql = "SELECT c.directory FROM checkpoints c JOIN roots r ON r.id = c.root_id";
    std::string exact, below;  // the folder itself; the start of every path below it
    if (folder) {
      exact = *folder;
      while (exact.size() > 1 && exact.back() == '/') exact.pop_back();
      below = exact == "/" ? exact : exact + '/';
      // substr, not LIKE or GLOB: folder names may hold their wildcards.
      sql += " WHERE c.directory = ?1 OR substr(c.directory, 1, length(?2)) = ?2";
    }
    SQLite::Statement q(impl_->db_, sql + " ORDER BY " + kCheckpointOrder);
    if (folder) {
      q.bind(1, exact);
      q.bind(2, below);
    }
    while (q.executeStep()) {
      std::string directory = q.getColumn(0).getString();
      std::error_code ec;
      const auto status = std::filesystem::status(directory, ec);
      // Only a definite "does not exist" prunes; an unreadable parent does not.
      if (status.type() == std::filesystem::file_type::not_found) missing.push_back(directory);
    }
  });
  remove(missing);
  return missing;
}

std::vector<CheckpointSummary> Catalog::list_checkpoints(const CheckpointFilter& filter) const {
  return impl_->guarded("listing checkpoints", [&] {
    Conditions where;
    if (filter.root) where.add("r.path = ?", *filter.root);
    if (filter.min_step) where.add("c.step >= ?", *filter.min_step);
    if (filter.max_step) where.add("c.step <= ?", *filter.max_step);
    if (filter.min_time_nsecs) where.add("c.time_nsecs >= ?", *filter.min_time_nsecs);
    if (filter.max_time_nsecs) where.add("c.time_nsecs <= ?", *filter.max_time_nsecs);
    if (filter.finished) where.add("c.finished = ?", static_cast<int64_t>(*filter.finished));
    SQLite::Statement q(
        impl_->db_,
        "SELECT c.id, c.directory, r.path, c.step_name, c.step, c.finished, "
        "c.init_timestamp_nsecs, c.commit_timestamp_nsecs, c.mtime_nsecs, c.time_nsecs, "
        "c.fingerprint, c.item_count, c.leaf_count, c.stored_bytes, "
        "(SELECT count(*) FROM import_errors e WHERE e.checkpoint_id = c.id) "
        "FROM checkpoints c JOIN roots r ON r.id = c.root_id" +
            where.sql() + " ORDER BY " + kCheckpointOrder);
    where.bind(q);
    std::vector<CheckpointSummary> out;
    while (q.executeStep()) {
      CheckpointSummary s;
      s.id = q.getColumn(0).getInt64();
      s.directory = q.getColumn(1).getString();
      s.root = q.getColumn(2).getString();
      s.step_name = q.getColumn(3).getString();
      s.step = optional_int(q.getColumn(4));
      s.finished = q.getColumn(5).getInt64() != 0;
      s.init_timestamp_nsecs = optional_int(q.getColumn(6));
      s.commit_timestamp_nsecs = optional_int(q.getColumn(7));
      s.mtime_nsecs = q.getColumn(8).getInt64();
      s.time_nsecs = q.getColumn(9).getInt64();
      s.fingerprint = q.getColumn(10).getString();
      s.item_count = static_cast<uint64_t>(q.getColumn(11).getInt64());
      s.leaf_count = static_cast<uint64_t>(q.getColumn(12).getInt64());
      s.stored_bytes = static_cast<uint64_t>(q.getColumn(13).getInt64());
      s.error_count = static_cast<uint64_t>(q.getColumn(14).getInt64());
      out.push_back(std::move(s));
    }
    return out;
  });
}

std::optional<CheckpointMetadata> Catalog::load_checkpoint(const std::string& directory) const {
  return impl_->guarded("loading a checkpoint", [&] { return impl_->loader().checkpoint(directory); });
}

std::optional<ItemMetadata> Catalog::load_item(const std::string& checkpoint_directory,
                                               const std::string& item_name) const {
  return impl_->guarded("loading an item",
                        [&] { return impl_->loader().item(checkpoint_directory, item_name); });
}

std::vector<LeafRecord> Catalog::find_leaves(const LeafFilter& f) const {
  return impl_->guarded("finding leaves", [&] {
    Conditions where;
    if (f.checkpoint_directory) where.add("c.directory = ?", *f.checkpoint_directory);
    if (f.root) where.add("c.root_id = (SELECT id FROM roots WHERE path = ?)", *f.root);
    if (f.item) where.add("i.name = ?", *f.item);
    if (f.name_glob) where.add("p.name GLOB ?", *f.name_glob);
    if (f.dtype) where.add("sp.dtype_id = (SELECT id FROM dtypes WHERE name = ?)", *f.dtype);
    if (f.rank)
      where.add("sp.shape_id IN (SELECT id FROM shapes WHERE rank = ?)",
                static_cast<int64_t>(*f.rank));
    if (f.shape)
      where.add("sp.shape_id = (SELECT id FROM shapes WHERE json = ?)",
                catalog_detail::shape_json(*f.shape));
    if (f.mesh_axis)
      where.add("coalesce(sp.sharding_id, sp.array_sharding_id) IN (SELECT s.id FROM shardings s "
                "JOIN mesh_axes a ON a.mesh_id = s.mesh_id WHERE a.name = ?)",
                *f.mesh_axis);
    if (f.sharding_kind)
      where.add("coalesce(sp.sharding_id, sp.array_sharding_id) IN "
                "(SELECT id FROM shardings WHERE kind = ?)",
                std::string(sharding_kind_column(*f.sharding_kind)));
    if (f.min_stored_bytes)
      where.add("l.stored_bytes >= ?", static_cast<int64_t>(*f.min_stored_bytes));
    if (f.max_stored_bytes)
      where.add("l.stored_bytes <= ?", static_cast<int64_t>(*f.max_stored_bytes));
    if (f.value_type)
      where.add("sp.value_type_id = (SELECT id FROM value_types WHERE name = ?)", *f.value_type);
    if (f.kind) where.add("sp.kind = ?", std::string(to_string(*f.kind)));
    std::string sql = std::string("SELECT c.id, c.directory, c.step, i.name, i.directory, ") +
                      Loader::kLeafColumns + " FROM " + Loader::kLeafFrom +
                      " JOIN items i ON i.id = l.item_id"
                      " JOIN checkpoints c ON c.id = i.checkpoint_id"
                      " JOIN roots r ON r.id = c.root_id"
                      " JOIN leaf_specs sp ON sp.id = l.spec_id" +
                      where.sql() + " ORDER BY " + kCheckpointOrder + ", i.ord, l.ord";
    if (f.limit) sql += " LIMIT " + std::to_string(f.limit);
    SQLite::Statement q(impl_->db_, sql);
    where.bind(q);
    std::vector<LeafRecord> out;
    Loader& loader = impl_->loader();
    while (q.executeStep()) {
      LeafRecord r;
      r.checkpoint_id = q.getColumn(0).getInt64();
      r.checkpoint_directory = q.getColumn(1).getString();
      r.step = optional_int(q.getColumn(2));
      r.item_name = q.getColumn(3).getString();
      r.item_directory = q.getColumn(4).getString();
      r.leaf = loader.decode_leaf(q, 5, r.item_directory);
      out.push_back(std::move(r));
    }
    return out;
  });
}

std::vector<ImportError> Catalog::import_errors(
    const std::optional<std::string>& checkpoint_directory) const {
  return impl_->guarded("listing import errors", [&] {
    Conditions where;
    if (checkpoint_directory) where.add("checkpoint_dir = ?", *checkpoint_directory);
    SQLite::Statement q(impl_->db_,
                        "SELECT checkpoint_dir, scope, item, leaf, severity, file, message "
                        "FROM import_errors" +
                            where.sql());
    where.bind(q);
    std::vector<ImportError> out;
    while (q.executeStep()) {
      ImportError e;
      e.checkpoint_directory = q.getColumn(0).getString();
      e.scope = q.getColumn(1).getString();
      e.item_name = q.getColumn(2).getString();
      e.leaf_name = q.getColumn(3).getString();
      e.severity = q.getColumn(4).getString() == "warning" ? Problem::Severity::kWarning
                                                            : Problem::Severity::kError;
      e.file = q.getColumn(5).getString();
      e.message = q.getColumn(6).getString();
      out.push_back(std::move(e));
    }
    return out;
  });
}

std::optional<ShardingMetadata> Catalog::load_sharding(int64_t sharding_id) const {
  return impl_->guarded("loading a sharding", [&]() -> std::optional<ShardingMetadata> {
    auto sharding = impl_->loader().sharding(sharding_id);
    if (!sharding) return std::nullopt;
    return *sharding;
  });
}

CatalogStats Catalog::stats() const {
  return impl_->guarded("reading statistics", [&] {
    auto count = [&](const char* table) {
      return static_cast<uint64_t>(
          impl_->db_.execAndGet(std::string("SELECT count(*) FROM ") + table).getInt64());
    };
    CatalogStats s;
    s.checkpoints = count("checkpoints");
    s.items = count("items");
    s.leaves = count("leaves");
    s.key_paths = count("key_paths");
    s.leaf_specs = count("leaf_specs");
    s.shardings = count("shardings");
    s.meshes = count("meshes");
    s.mesh_devices = count("mesh_devices");
    s.file_bytes = static_cast<uint64_t>(
        impl_->db_.execAndGet("SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()")
            .getInt64());
    return s;
  });
}

void Catalog::publish(const std::string& destination, const PublishOptions& options) const {
  impl_->guarded(("publishing to " + destination).c_str(), [&] {
    catalog_detail::publish_copy(impl_->db_, impl_->path_, destination, options.overwrite);
  });
}

std::vector<std::string> Catalog::verify() const {
  return impl_->guarded("verifying the catalog", [&] {
    std::vector<std::string> problems;
    {
      SQLite::Statement q(impl_->db_, "PRAGMA integrity_check");
      while (q.executeStep()) {
        std::string line = q.getColumn(0).getString();
        if (line != "ok") problems.push_back("integrity_check: " + line);
      }
    }
    {
      SQLite::Statement q(impl_->db_, "PRAGMA foreign_key_check");
      while (q.executeStep())
        problems.push_back("foreign_key_check: table " + q.getColumn(0).getString() + " row " +
                           q.getColumn(1).getString() + " has no parent in " +
                           q.getColumn(2).getString());
    }
    // The leaves table declares no foreign keys (see the schema): check them here.
    for (const auto& [column, parent] :
         {std::pair{"item_id", "items"}, {"key_path_id", "key_paths"}, {"spec_id", "leaf_specs"}}) {
      const int64_t orphans =
          impl_->db_
              .execAndGet(std::string("SELECT count(*) FROM leaves WHERE ") + column +
                          " NOT IN (SELECT id FROM " + parent + ")")
              .getInt64();
      if (orphans)
        problems.push_back("leaves: " + std::to_string(orphans) + " rows whose " + column +
                           " has no row in " + parent);
    }
    // leaf_metadata reads each leaf's string from sharding_texts: every
    // sharding a leaf names needs its row there, equal to the rebuilt string.
    {
      SQLite::Statement texts(
          impl_->db_,
          "SELECT DISTINCT sp.sharding_id, t.serialized IS NULL FROM leaf_specs sp "
          "LEFT JOIN sharding_texts t ON t.sharding_id = sp.sharding_id "
          "LEFT JOIN sharding_strings s ON s.sharding_id = sp.sharding_id "
          "WHERE sp.sharding_id IS NOT NULL AND t.serialized IS NOT s.serialized");
      while (texts.executeStep())
        problems.push_back("sharding " + texts.getColumn(0).getString() +
                           (texts.getColumn(1).getInt() ? ": no row in sharding_texts"
                                                        : ": its sharding_texts string differs "
                                                          "from the one the tables describe"));
    }
    SQLite::Statement q(impl_->db_, "SELECT sharding_id, serialized FROM sharding_strings");
    while (q.executeStep()) {
      const int64_t id = q.getColumn(0).getInt64();
      const std::string from_sql = q.getColumn(1).getString();
      auto sharding = impl_->loader().sharding(id);
      const std::string from_cpp = sharding ? to_serialized_string(*sharding) : std::string();
      if (from_sql != from_cpp)
        problems.push_back("sharding " + std::to_string(id) +
                           ": the sharding_strings view gives " + from_sql.substr(0, 200) +
                           " but the rows describe " + from_cpp.substr(0, 200));
    }
    return problems;
  });
}

}  // namespace ckptcat
