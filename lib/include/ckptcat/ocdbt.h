// A native, read-only reader for TensorStore's OCDBT key-value format
// (docs/ocdbt-format.md). It opens a database folder, reads its latest
// generation and lists keys in order with each value's size and location,
// fetching only the values asked for (listing never reads out-of-line values).
//
// Pure decoding of each format element lives in lib/ocdbt/format/; this class
// does the file access. Every error is a ckptcat::Error naming the file, the
// offset and what was wrong.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ckptcat/error.h"

namespace ckptcat::ocdbt {

// Where a value's bytes are.
struct ValueLocation {
  bool is_inline = true;
  std::string file;     // absolute path of the data file (out-of-line values only)
  uint64_t offset = 0;  // out-of-line values only
};

struct KeyEntry {
  std::string key;
  uint64_t value_size = 0;
  ValueLocation location;
  // For inline values, their bytes: valid only during the visitor call that
  // received this entry (so metadata can be read while listing, at no cost).
  // Always empty in list_all() results; use read() there.
  std::string_view inline_value;
};

struct Generation {
  uint64_t generation_number = 0;
  uint64_t commit_time_nsecs = 0;
  uint64_t num_keys = 0;
  uint64_t num_tree_bytes = 0;
  uint64_t num_indirect_value_bytes = 0;
  bool empty = false;  // the empty tree
};

struct OpenOptions {
  // When the top-level manifest, or a node the latest generation needs, is
  // missing, read the ocdbt.process_* sub-databases and take the union of their
  // keys (Orbax's unmerged or damaged layout). Database::fallback() says so.
  bool per_process_fallback = true;
  // Cap on any decompressed node or manifest body (Orbax nodes reach ~100 MB).
  uint64_t max_decoded_bytes = 256u << 20;
};

// Counters for the benchmark: what was read from disk.
struct ReadStats {
  uint64_t files_opened = 0;
  uint64_t bytes_read = 0;
  uint64_t nodes_decoded = 0;
};

// A read-only view of one OCDBT database, owning its open files (closed by the
// destructor). Not thread-safe: its file handles and statistics are shared by
// every call, so use one Database per thread. Every method throws
// ckptcat::Error naming the file and, where known, the offset.
class Database {
 public:
  // Opens the database in `dir` and reads the latest generation's manifest.
  // Throws ckptcat::Error.
  static Database open(const std::filesystem::path& dir, const OpenOptions& options = {});

  Database(Database&&) noexcept;
  Database& operator=(Database&&) noexcept;
  ~Database();

  const std::filesystem::path& directory() const;
  // The latest generation (of the top-level database; in fallback mode, of the
  // first per-process database).
  const Generation& latest() const;
  std::vector<Generation> generations() const;  // every generation listed, oldest first

  // Non-empty when the per-process fallback was used: why (e.g. "manifest.ocdbt
  // missing") and which sub-databases were read.
  bool fallback() const;
  const std::string& fallback_reason() const;
  std::vector<std::filesystem::path> fallback_databases() const;

  // Visits keys in byte order: all, those starting with `prefix`, or those in
  // [lower, upper) (an empty `upper` means no upper bound). Return false from the
  // visitor to stop early. The visitor receives the same KeyEntry object, refilled
  // for each key (no per-key allocation); copy it to keep it. Subtrees outside
  // the range are not read. A Database is not safe for concurrent use by several
  // threads, but the visitor may call back into it (get, read).
  using Visitor = std::function<bool(const KeyEntry&)>;
  void list(const Visitor& visit) const;
  void list_prefix(std::string_view prefix, const Visitor& visit) const;
  void list_range(std::string_view lower, std::string_view upper, const Visitor& visit) const;
  std::vector<KeyEntry> list_all() const;

  // The value of `key`, or nullopt when absent.
  std::optional<std::string> get(std::string_view key) const;
  // The value behind an entry returned by list*.
  std::string read(const KeyEntry& entry) const;

  ReadStats stats() const;

 private:
  struct Impl;
  explicit Database(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ckptcat::ocdbt
