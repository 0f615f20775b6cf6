// A test-only OCDBT writer, written from docs/ocdbt-format.md, that
// produces every format feature the real corpus lacks (spec §12): out-of-line
// values packed several to a data file at non-zero offsets, base paths into
// ocdbt.process_N/ (for values and for child nodes), multi-level B+trees with
// subtree common prefixes, version-tree nodes, empty generations, numbered
// manifests, raw and zstd envelopes (mixed, multi-frame, without content size).
//
// Each commit() writes one generation holding every key put so far; the B+tree
// of a generation is written whole (cost linear in the number of keys), values
// are appended to data files as they are put. Not a general OCDBT writer: no
// deletes, no node reuse between generations, single writer.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

namespace ckptcat::testing {

// A data file, relative to the database folder: base_path + relative_path.
struct OcdbtFileRef {
  std::string base_path;      // "" or e.g. "ocdbt.process_0/"
  std::string relative_path;  // e.g. "d/<32 hex>"
  std::string path() const { return base_path + relative_path; }
  friend bool operator<(const OcdbtFileRef& a, const OcdbtFileRef& b) {
    return std::tie(a.base_path, a.relative_path) < std::tie(b.base_path, b.relative_path);
  }
  friend bool operator==(const OcdbtFileRef& a, const OcdbtFileRef& b) {
    return a.base_path == b.base_path && a.relative_path == b.relative_path;
  }
};

// Bytes stored in a data file.
struct OcdbtValueRef {
  OcdbtFileRef file;
  uint64_t offset = 0;
  uint64_t length = 0;
};

enum class OcdbtCompression { kZstd, kRaw, kMixed /* alternate raw and zstd per item */ };

struct OcdbtWriterOptions {
  OcdbtCompression compression = OcdbtCompression::kZstd;
  int zstd_frames = 1;            // > 1: each zstd body is split into this many frames
  bool zstd_content_size = true;  // false: frames carry no content size
  uint32_t max_inline_value_bytes = 1024;  // Orbax's setting
  size_t max_node_entries = 1024;          // B+tree fanout (leaves and interior nodes)
  uint8_t version_tree_arity_log2 = 4;
  bool numbered_manifest = false;
  uint64_t target_data_file_size = 64u << 20;  // start a new data file past this size
  // Folder (relative to the database, ending in '/') for values and for leaf
  // nodes: a non-empty leaf base path makes interior nodes reach their children
  // through a base path (then every out-of-line value must live under it too).
  std::string value_base_path;
  std::string leaf_base_path;
  uint64_t first_commit_time_ns = 1778718340771198958ull;
  uint64_t seed = 1;  // uuid and data file names (mixed with the folder name)
};

class OcdbtWriter {
 public:
  explicit OcdbtWriter(std::filesystem::path dir, OcdbtWriterOptions options = {});
  ~OcdbtWriter();
  OcdbtWriter(const OcdbtWriter&) = delete;
  OcdbtWriter& operator=(const OcdbtWriter&) = delete;

  // Stores `value` for `key` in the next generation: inline when it is at most
  // max_inline_value_bytes, else appended to a data file. A later put wins.
  void put(std::string key, std::string_view value);
  // References bytes already stored elsewhere (relative to this database), as
  // a merged Orbax database references per-process data files.
  void put_ref(std::string key, const OcdbtValueRef& ref);
  // Writes a generation holding every key put so far (possibly none: an empty
  // tree) and the manifest; returns the generation number.
  uint64_t commit();

  // The committed contents, sorted by key: an inline value, or where it lives.
  struct Stored {
    std::string key;
    std::string inline_value;
    int32_t file = -1;  // index into files(); -1 = inline
    uint64_t offset = 0;
    uint64_t length = 0;
  };
  const std::vector<Stored>& entries() const;
  const std::vector<OcdbtFileRef>& files() const;
  const std::filesystem::path& directory() const;
  uint64_t generation() const;  // last committed, 0 before the first commit

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One envelope (spec §3) around `body`: zstd (split into `zstd_frames` frames,
// with or without the frame content size) or raw. For hand-made test items.
std::string encode_ocdbt_envelope(uint32_t magic, std::string_view body, bool zstd,
                                  int zstd_frames = 1, bool zstd_content_size = true);

// Writes `values` as Orbax writes an item: every key into
// <item_dir>/ocdbt.process_<p>/ (key i goes to process i % num_processes, each
// process committing its keys in `commits_per_process` batches), then a merged
// top-level database in <item_dir> with one generation, inline values copied
// and out-of-line values referenced through base path "ocdbt.process_<p>/".
struct OrbaxItemOptions {
  int num_processes = 1;
  int commits_per_process = 1;
  // Top-level leaf nodes are written into ocdbt.process_0/d/ and reached
  // through a base path (single process only).
  bool leaves_in_process_folder = false;
  OcdbtWriterOptions writer;
};
void write_orbax_item_database(const std::filesystem::path& item_dir,
                               const std::vector<std::pair<std::string, std::string>>& values,
                               const OrbaxItemOptions& options = {});

}  // namespace ckptcat::testing
