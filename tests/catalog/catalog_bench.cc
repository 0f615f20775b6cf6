// Quick synthetic catalog benchmark (not part of the test run): ingests
// N checkpoints x M array leaves sharing names, shapes and shardings, and
// prints ingest speed (thread CPU time) (against a raw SQLite floor writing the same leaf rows),
// catalog bytes per leaf, item reconstruction time and peak memory.
//
//   bench_catalog [checkpoints=1000] [leaves=1000] [catalog path=temp file]
#include <SQLiteCpp/SQLiteCpp.h>
#include <sys/resource.h>

#include <ctime>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>

#include "ckptcat/catalog.h"
#include "shared_data.h"

namespace {

// CPU time of this thread: the machine may be shared, wall time is noisy.
struct Clock {
  static double now() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
  }
};
double seconds_since(double start) { return Clock::now() - start; }

ckptcat::CheckpointMetadata make_checkpoint(int64_t step, int leaves) {
  using namespace ckptcat;
  CheckpointMetadata c;
  c.root = "/bench/run";
  c.directory = "/bench/run/" + std::to_string(step);
  c.step_name = std::to_string(step);
  c.step = step;
  c.step_metadata.commit_timestamp_nsecs = 1700000000000000000 + step;
  ItemMetadata item;
  item.name = "state";
  item.directory = c.directory + "/state";
  item.kind = ItemKind::kPyTree;
  item.array_store = ArrayStore::kOcdbt;
  NamedShardingMetadata named;
  named.shape = {2, 4};
  named.axis_names = {"data", "model"};
  named.axis_types = std::vector<std::string>{"AxisType.Auto", "AxisType.Auto"};
  named.device_mesh = DeviceMesh{{0, 1, 2, 3, 4, 5, 6, 7}};
  const std::vector<PartitionSpecEntry> specs[] = {
      {std::string("data"), std::string("model")}, {std::monostate{}, std::string("model")},
      {std::vector<std::string>{"data", "model"}}, {}};
  for (int i = 0; i < leaves; ++i) {
    Leaf leaf;
    leaf.key_path = {{"params", KeyType::kDict},
                     {"layer_" + std::to_string(i / 8), KeyType::kDict},
                     {"w" + std::to_string(i % 8), KeyType::kDict}};
    leaf.name = param_name(leaf.key_path);
    leaf.value_type = "jax.Array";
    leaf.kind = LeafKind::kArray;
    named.partition_spec = specs[i % 4];
    const Shape shape{1024 * (1 + i % 3), 512};
    ArrayMetadata array{leaf.name, item.directory, shape, named, i % 2 ? "bfloat16" : "float32",
                        StorageMetadata{shape, Shape{512, 512}}};
    leaf.sharding_string = named.to_serialized_string();
    leaf.metadata = std::move(array);
    leaf.stored = StoredSize{static_cast<uint64_t>(8 + i % 5),
                             static_cast<uint64_t>(1000000 + 4099 * i + step)};
    item.leaves.push_back(std::move(leaf));
  }
  c.items.push_back(std::move(item));
  return c;
}

// The floor: the same narrow leaf rows, prepared statement, one transaction.
double raw_floor_seconds(const std::string& path, int checkpoints, int leaves) {
  SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
  db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;");
  db.exec("CREATE TABLE leaves(item_id INTEGER, ord INTEGER, key_path_id INTEGER, "
          "spec_id INTEGER, stored_chunks INTEGER, stored_bytes INTEGER, "
          "PRIMARY KEY (item_id, ord)) WITHOUT ROWID");
  const auto start = Clock::now();
  for (int c = 0; c < checkpoints; ++c) {
    SQLite::Transaction txn(db);
    SQLite::Statement insert(db, "INSERT INTO leaves VALUES (?, ?, ?, ?, ?, ?)");
    for (int i = 0; i < leaves; ++i) {
      insert.bind(1, int64_t{c + 1});
      insert.bind(2, int64_t{i});
      insert.bind(3, int64_t{i + 1});
      insert.bind(4, int64_t{1 + (i % 4) * 2 + (i % 2)});
      insert.bind(5, int64_t{8 + i % 5});
      insert.bind(6, int64_t{1000000 + 4099 * i + c});
      insert.exec();
      insert.reset();
    }
    txn.commit();
  }
  return seconds_since(start);
}

}  // namespace

int main(int argc, char** argv) {
  const int checkpoints = argc > 1 ? std::stoi(argv[1]) : 1000;
  const int leaves = argc > 2 ? std::stoi(argv[2]) : 1000;
  ckptcat::testing::TempDir dir;
  const std::string path = argc > 3 ? argv[3] : (dir.path() / "bench.ckptcat").string();

  double ingest_seconds = 0;
  {
    ckptcat::Catalog catalog(path);
    for (int step = 0; step < checkpoints; ++step) {
      const auto c = make_checkpoint(step, leaves);  // built outside the timed part
      const auto start = Clock::now();
      catalog.ingest(c, "fp");
      ingest_seconds += seconds_since(start);
    }
    catalog.database().exec("PRAGMA wal_checkpoint(TRUNCATE)");
    const auto stats = catalog.stats();
    const double total = static_cast<double>(checkpoints) * leaves;
    const double floor = raw_floor_seconds((dir.path() / "floor.db").string(), checkpoints, leaves);
    std::printf("ingest: %.0f leaves/s (%.2f s for %.0f leaves); raw SQLite floor %.0f leaves/s; "
                "ratio %.2fx\n",
                total / ingest_seconds, ingest_seconds, total, total / floor,
                ingest_seconds / floor);
    std::printf("catalog: %llu bytes, %.1f bytes/leaf\n",
                static_cast<unsigned long long>(stats.file_bytes), stats.file_bytes / total);

    // Best of 5, each on another checkpoint (same names: warm decoding caches).
    double best = 1e9;
    size_t loaded = 0;
    for (int i = 0; i < 5 && i < checkpoints; ++i) {
      const auto start = Clock::now();
      const auto item = catalog.load_item("/bench/run/" + std::to_string(i), "state");
      best = std::min(best, seconds_since(start));
      loaded = item ? item->leaves.size() : 0;
    }
    std::printf("load_item (%zu leaves): %.2f ms (best of 5)\n", loaded, best * 1e3);
  }
  {
    ckptcat::Catalog fresh(path);
    const auto start = Clock::now();
    const auto item = fresh.load_item("/bench/run/0", "state");
    std::printf("load_item (%zu leaves, new connection, cold caches): %.2f ms\n",
                item ? item->leaves.size() : 0, seconds_since(start) * 1e3);
  }
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  std::printf("peak RSS: %.1f MB\n", usage.ru_maxrss / 1024.0);
  return 0;
}
