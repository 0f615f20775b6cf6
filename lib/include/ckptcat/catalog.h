// The SQLite catalog: stores CheckpointMetadata (what the reader produced) in
// normalized tables and gives the same typed objects back.
//
//   ckptcat::Catalog catalog("runs.ckptcat");            // creates the schema if empty
//   auto result = catalog.ingest(checkpoint, fingerprint); // one transaction per checkpoint
//   CheckpointFilter steps;
//   steps.root = "/ckpt/run1";
//   for (const auto& c : catalog.list_checkpoints(steps)) ...
//   std::optional<CheckpointMetadata> back = catalog.load_checkpoint(c.directory);
//   LeafFilter leaves;
//   leaves.name_glob = "params.*";
//   leaves.dtype = "bfloat16";
//   for (const auto& hit : catalog.find_leaves(leaves)) ...
//
// The schema (tables, views usable from a plain sqlite3 shell, migrations) is
// documented in schema/*.sql. A catalog file is identified by PRAGMA
// application_id and versioned by PRAGMA user_version; opening applies pending
// migrations in order and refuses a catalog written by a newer ckptcat.
//
// Ingest is idempotent and incremental: a checkpoint is keyed by its directory
// and carries the caller's fingerprint (cheap stat data computed by the
// reader). Re-ingesting with the same fingerprint changes nothing; a different
// fingerprint replaces the checkpoint whole, atomically. Writes use BEGIN
// IMMEDIATE and a busy timeout, so two processes on one catalog wait for each
// other instead of failing.
//
// Every method throws ckptcat::Error (code kCatalog, naming the catalog file)
// on SQLite or schema problems. A Catalog is not thread-safe; use one per
// thread (or process).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ckptcat/checkpoint.h"
#include "ckptcat/metadata.h"
#include "ckptcat/sharding.h"

namespace SQLite {
class Database;
}

namespace ckptcat {

struct CatalogOptions {
  bool read_only = false;  // open an existing catalog without writing (no migration)
  int busy_timeout_ms = 10000;  // how long a writer waits for another one
};

// How a Catalog reads its file (Catalog::access()).
enum class CatalogAccess {
  kReadWrite,
  kReadOnly,
  // Read-only, where SQLite could not create the WAL index (the `-shm` file)
  // beside a WAL catalog because the folder is read-only: opened with SQLite's
  // `immutable=1`, which takes no locks and assumes nobody changes the file
  // while it is open. Callers may want to say so.
  kImmutable,
};

struct PublishOptions {
  bool overwrite = false;  // replace an existing destination file
};

// What ingest() did with a checkpoint.
enum class IngestAction {
  kInserted,   // the directory was not in the catalog
  kReplaced,   // it was, with another fingerprint: old content replaced whole
  kUnchanged,  // it was, with the same fingerprint: nothing written
};
const char* to_string(IngestAction action) noexcept;  // "inserted", "replaced", "unchanged"

struct IngestOptions {
  // Replace the stored checkpoint even when its fingerprint is unchanged
  // (`ckptcat import --force`): still one transaction, so a failed write
  // keeps the old entry. The result is then kReplaced, never kUnchanged.
  bool force = false;
};

struct IngestResult {
  IngestAction action = IngestAction::kUnchanged;
  int64_t checkpoint_id = 0;  // row id of the (new or existing) checkpoint
  uint64_t leaf_count = 0;    // leaves written (0 when unchanged)
};

// One row of list_checkpoints(): the checkpoint's own fields and aggregates.
struct CheckpointSummary {
  int64_t id = 0;
  std::string directory;
  std::string root;
  std::string step_name;
  std::optional<int64_t> step;
  bool finished = true;
  std::optional<int64_t> init_timestamp_nsecs;
  std::optional<int64_t> commit_timestamp_nsecs;
  int64_t mtime_nsecs = 0;
  // commit_timestamp_nsecs when known, else mtime_nsecs (Orbax's fallback).
  int64_t time_nsecs = 0;
  std::string fingerprint;
  uint64_t item_count = 0;
  uint64_t leaf_count = 0;
  uint64_t stored_bytes = 0;  // sum of the leaves' StoredSize::bytes
  uint64_t error_count = 0;   // rows of import_errors() for this checkpoint
};

// Filters of list_checkpoints(); unset fields do not filter. Ranges are inclusive.
struct CheckpointFilter {
  std::optional<std::string> root;
  std::optional<int64_t> min_step;
  std::optional<int64_t> max_step;
  std::optional<int64_t> min_time_nsecs;  // on CheckpointSummary::time_nsecs
  std::optional<int64_t> max_time_nsecs;
  std::optional<bool> finished;
};

// Filters of find_leaves(); unset fields do not filter, set fields all apply.
struct LeafFilter {
  std::optional<std::string> checkpoint_directory;  // only this checkpoint
  std::optional<std::string> root;                  // only checkpoints of this root
  std::optional<std::string> item;                  // only items of this name
  std::optional<std::string> name_glob;   // SQLite GLOB on the param name ("params.*.w")
  std::optional<std::string> dtype;       // array or scalar dtype ("bfloat16")
  std::optional<int> rank;                // number of array dimensions
  std::optional<Shape> shape;             // exact array shape
  std::optional<std::string> mesh_axis;   // NamedSharding whose mesh has this axis name
  std::optional<ShardingKind> sharding_kind;
  std::optional<uint64_t> min_stored_bytes;  // leaves without a StoredSize never match
  std::optional<uint64_t> max_stored_bytes;
  std::optional<std::string> value_type;  // verbatim ("jax.Array", "scalar", ...)
  std::optional<LeafKind> kind;
  uint64_t limit = 0;  // at most this many results; 0 = all
};

// A leaf found by find_leaves(), with where it lives.
struct LeafRecord {
  int64_t checkpoint_id = 0;
  std::string checkpoint_directory;
  std::optional<int64_t> step;
  std::string item_name;
  std::string item_directory;
  Leaf leaf;
};

// A recorded problem: CheckpointMetadata::problems and ItemMetadata::problems
// (scope "checkpoint" / "item"), ItemMetadata::error (scope "item", file = the
// item directory) and Leaf::error (scope "leaf", file = the item directory).
struct ImportError {
  std::string checkpoint_directory;
  std::string scope;      // "checkpoint", "item" or "leaf"
  std::string item_name;  // "" for scope "checkpoint"
  std::string leaf_name;  // "" unless scope "leaf"
  Problem::Severity severity = Problem::Severity::kError;
  std::string file;
  std::string message;
};

// Row counts and file size, for reports and the storage benchmark.
struct CatalogStats {
  uint64_t checkpoints = 0;
  uint64_t items = 0;
  uint64_t leaves = 0;
  uint64_t key_paths = 0;
  uint64_t leaf_specs = 0;
  uint64_t shardings = 0;
  uint64_t meshes = 0;
  uint64_t mesh_devices = 0;
  uint64_t file_bytes = 0;  // page_count * page_size (WAL content not yet checkpointed excluded)
};

class Catalog {
 public:
  // Opens `path` (":memory:" for a private in-memory catalog), creating the
  // file and the schema when empty and applying pending migrations. Refuses a
  // file that is not a ckptcat catalog or whose schema is newer than
  // schema_version(), with a message naming both versions.
  explicit Catalog(const std::string& path, const CatalogOptions& options = {});
  ~Catalog();
  Catalog(Catalog&&) noexcept;
  Catalog& operator=(Catalog&&) noexcept;
  Catalog(const Catalog&) = delete;
  Catalog& operator=(const Catalog&) = delete;

  // The schema version this build writes (PRAGMA user_version) and the
  // application_id that marks a ckptcat catalog.
  static int schema_version() noexcept;
  static int32_t application_id() noexcept;

  const std::string& path() const noexcept;
  CatalogAccess access() const noexcept;

  // ---- ingest ----------------------------------------------------------------

  // Stores `checkpoint` under its directory in one IMMEDIATE transaction:
  // all of it or, on any error, nothing (the previous content stays).
  // Unchanged (same directory and fingerprint) costs one indexed lookup,
  // unless options.force asks for a replace anyway.
  IngestResult ingest(const CheckpointMetadata& checkpoint, std::string_view fingerprint,
                      const IngestOptions& options = {});

  // The fingerprint stored for `directory`, if the catalog has it; lets a
  // caller skip reading an unchanged checkpoint at all.
  std::optional<std::string> fingerprint(const std::string& directory) const;

  // Removes the listed checkpoints (by directory; unknown ones are ignored) in
  // one transaction. Returns how many were removed.
  uint64_t remove(const std::vector<std::string>& directories);
  // Removes every checkpoint whose directory no longer exists on disk,
  // optionally only those whose directory is `folder` or lies below it
  // (whole path components: "/runs/a" covers "/runs/a/1" but not
  // "/runs/ab/1"; a trailing '/' is ignored). `folder` is compared as text, in
  // the absolute, lexically normal form directories are stored in. Only a
  // definite "does not exist" prunes; an unreadable parent does not. Returns
  // the directories removed.
  std::vector<std::string> prune_missing(const std::optional<std::string>& folder = std::nullopt);

  // ---- reading back ----------------------------------------------------------

  std::vector<CheckpointSummary> list_checkpoints(const CheckpointFilter& filter = {}) const;

  // The checkpoint exactly as ingested (every field of CheckpointMetadata,
  // items in stored order, leaves in _METADATA order); nullopt if unknown.
  std::optional<CheckpointMetadata> load_checkpoint(const std::string& directory) const;
  // One item of a checkpoint; nullopt if the checkpoint or item is unknown.
  std::optional<ItemMetadata> load_item(const std::string& checkpoint_directory,
                                        const std::string& item_name) const;

  // Leaves across checkpoints matching every set filter, ordered like
  // list_checkpoints() (root, step as a number with steps unknown last,
  // directory), then by item (stored order) and leaf (_METADATA order).
  std::vector<LeafRecord> find_leaves(const LeafFilter& filter) const;

  // Problems recorded at ingest, optionally for one checkpoint only.
  std::vector<ImportError> import_errors(
      const std::optional<std::string>& checkpoint_directory = std::nullopt) const;

  // A stored sharding by row id (shardings.id, as shown by the views); its
  // to_serialized_string() is byte-identical to the ingested string.
  std::optional<ShardingMetadata> load_sharding(int64_t sharding_id) const;

  // ---- maintenance -------------------------------------------------------------

  // Writes a compact, self-contained copy of the catalog to `destination`
  // (VACUUM INTO) for others to read: in rollback-journal mode instead of WAL,
  // so that it needs no `-wal` or `-shm` beside it and reads from a read-only
  // folder, with the same application_id and user_version. The copy is written
  // beside `destination` and renamed onto it, so a failure leaves no partial
  // file. Refuses an existing destination unless options.overwrite, a folder,
  // and the catalog's own file. Works on a read-only catalog too.
  void publish(const std::string& destination, const PublishOptions& options = {}) const;

  CatalogStats stats() const;

  // Checks the catalog: PRAGMA integrity_check and foreign_key_check, and that
  // every sharding string the SQL views rebuild equals the C++ serialization
  // of the same rows. Returns one line per problem; empty when all is well.
  std::vector<std::string> verify() const;

  // The underlying connection, for the views and ad-hoc SQL (tests, the CLI's
  // raw queries). Writing through it bypasses the catalog's caches: do not
  // insert or delete catalog rows this way.
  SQLite::Database& database();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ckptcat
