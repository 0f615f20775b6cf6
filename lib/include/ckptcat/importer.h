// The import pipeline: finds every checkpoint under some paths, reads the
// changed ones on worker threads and stores them in a Catalog from a single
// writer thread, one transaction per checkpoint.
//
//   ckptcat::Catalog catalog("ckptcat.db");
//   ckptcat::Importer importer(catalog, {.jobs = 4});
//   ckptcat::ImportSummary s = importer.run({"/runs"});
//   // s.inserted, s.replaced, s.unchanged, s.failed, s.problems ...
//
// Unchanged checkpoints (same orbax::fingerprint as stored) are not read at
// all. Readers and writer are joined by a bounded queue, so at most
// 2 x jobs checkpoints are held in memory however large the tree. A
// checkpoint that cannot be read or stored is counted as failed, with its
// message, and the rest continues. The Catalog must not be used by another
// thread while run() is running.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "ckptcat/catalog.h"
#include "ckptcat/checkpoint.h"
#include "ckptcat/reader.h"

namespace ckptcat {

// A snapshot of the import, given to ImportOptions::progress.
struct ImportProgress {
  uint64_t done = 0;     // checkpoints finished (any outcome)
  uint64_t total = 0;    // checkpoints discovered
  uint64_t leaves = 0;   // leaves written so far
  uint64_t errors = 0;   // problems of severity error so far (failed checkpoints included)
  double seconds = 0;    // since run() started
  double rate() const { return seconds > 0 ? static_cast<double>(done) / seconds : 0; }
};

struct ImportOptions {
  unsigned jobs = 0;     // reader threads; 0 = std::thread::hardware_concurrency()
  bool force = false;    // re-read and replace checkpoints whose fingerprint is unchanged
  bool prune = false;    // remove catalog entries under the paths whose folders are gone
  orbax::DiscoveryOptions discovery;
  orbax::ReadOptions read;
  // Reads one checkpoint (on a reader thread); empty = orbax::read_checkpoint
  // with `read`. A reader that throws fails that checkpoint only.
  std::function<CheckpointMetadata(const orbax::CheckpointLocation&)> reader;
  // Called from the writer thread (never concurrently) after each checkpoint
  // and once at the end; keep it cheap.
  std::function<void(const ImportProgress&)> progress;
};

// A problem met during the import: one recorded while reading a checkpoint
// (checkpoint, item or leaf level, naming its file), or the failure of a
// whole checkpoint or path.
struct ImportProblem {
  Problem::Severity severity = Problem::Severity::kError;
  std::string checkpoint;  // checkpoint directory; the path itself for discovery problems
  std::string item;        // item name, "" when not item-specific
  std::string leaf;        // leaf name, "" when not leaf-specific
  std::string file;        // the file or folder concerned
  std::string message;
};

struct ImportSummary {
  uint64_t discovered = 0;
  uint64_t inserted = 0;
  uint64_t replaced = 0;
  uint64_t unchanged = 0;
  uint64_t failed = 0;   // not stored: reading or storing threw
  uint64_t pruned = 0;
  uint64_t leaves = 0;   // leaves written
  double seconds = 0;
  std::vector<std::string> pruned_directories;
  std::vector<ImportProblem> problems;  // in checkpoint order

  uint64_t imported() const { return inserted + replaced; }
  uint64_t error_count() const;    // problems of severity error
  uint64_t warning_count() const;
};

// Borrows `catalog` for its lifetime (the catalog must outlive it). One run()
// at a time per Importer and per Catalog: run() starts its own reader threads
// (ImportOptions::jobs) and writes from the calling thread only.
class Importer {
 public:
  explicit Importer(Catalog& catalog, ImportOptions options = {});

  // Imports everything at or below `paths` (checkpoint trees, roots, step or
  // item folders; an item folder imports its whole checkpoint). A path that
  // does not exist is reported as a problem (and, with prune, its catalog
  // entries are pruned). Throws ckptcat::Error only when the catalog itself
  // fails outside a checkpoint's transaction.
  ImportSummary run(const std::vector<std::filesystem::path>& paths);

 private:
  Catalog& catalog_;
  ImportOptions options_;
};

}  // namespace ckptcat
