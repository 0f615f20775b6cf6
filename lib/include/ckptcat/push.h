// ckptcat push: merging a local SQLite catalog into a shared PostgreSQL
// catalog (the same logical schema and views; schema/pg/).
//
//   ckptcat::Catalog local("host.db", {.read_only = true});
//   ckptcat::PushOptions options;
//   options.origin = "";                 // "" when every host sees one file system
//   auto result = ckptcat::push(local, "postgresql://ci@db/ckptcat", options);
//
// Checkpoints are keyed by (origin, directory) and carry their fingerprint:
// an unchanged one is skipped, a changed one replaced whole in one transaction;
// pushing again writes nothing. Shared rows (key paths, dtypes, shapes,
// storages, meshes, partition specs, shardings, leaf specs) are found by
// content, never by local ids, so any number of hosts can push at once and
// the database ends up with the union. Work goes in batches: rows are COPYed
// into session-local staging tables and merged by one server-side transaction
// per batch, retried on deadlock or serialization failure. A push that dies
// leaves every checkpoint as it was or as pushed, never in between.
//
// Throws ckptcat::Error (code kCatalog) with the server's message; messages
// never include the connection string (it may hold a password).
#pragma once

#include <cstdint>
#include <string>

#include "ckptcat/catalog.h"

namespace ckptcat {

struct PushOptions {
  std::string origin;           // host or file-system name; "" = shared file systems
  bool force = false;           // replace checkpoints even when their fingerprint matches
  uint64_t batch_leaves = 200000;  // leaves per transaction (a batch holds whole checkpoints)
  int max_retries = 20;         // per batch, on deadlock or serialization failure
};

struct PushResult {
  uint64_t inserted = 0;   // checkpoints new to the database
  uint64_t replaced = 0;   // present with another fingerprint: replaced whole
  uint64_t unchanged = 0;  // present with the same fingerprint: skipped
  uint64_t leaves = 0;     // leaves written
  uint64_t retries = 0;    // batches run again after a deadlock or serialization failure
};

// Merges every checkpoint of `local` into the database `conninfo` names (a
// postgresql:// URI or "key=value" string; PG* environment variables fill in
// the rest), creating or migrating its schema first.
PushResult push(Catalog& local, const std::string& conninfo, const PushOptions& options = {});

// Whether a --db argument names a PostgreSQL database (postgresql:// or
// postgres:// URI) rather than a SQLite file.
bool is_postgres_uri(const std::string& text) noexcept;

}  // namespace ckptcat
