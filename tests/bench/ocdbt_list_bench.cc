// OCDBT listing benchmark: writes a multi-level database with the test-only
// writer, then lists every key warm and prints keys/second, plus how many bytes
// the reader read against the encoded size of the nodes it needed.
//
//   bench_ocdbt_list [--smoke] [--keys N] [--fanout F] [--runs R]
//
// --smoke uses 100,000 keys (for the normal test run); the default is 1,000,000.
// Exits 1 when the listing is wrong (count or order), so the smoke run checks.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "ckptcat/ocdbt.h"
#include "ocdbt_writer.h"
#include "shared_data.h"

using ckptcat::ocdbt::Database;
using ckptcat::ocdbt::KeyEntry;
using namespace ckptcat::testing;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

struct Row {
  const char* what;
  uint64_t keys;
  double seconds;
  ckptcat::ocdbt::ReadStats stats;
};

void print_row(const Row& r) {
  std::printf("%-28s %10llu %9.3f %12.0f %8llu %12llu\n", r.what,
              static_cast<unsigned long long>(r.keys), r.seconds,
              r.seconds > 0 ? static_cast<double>(r.keys) / r.seconds : 0.0,
              static_cast<unsigned long long>(r.stats.nodes_decoded),
              static_cast<unsigned long long>(r.stats.bytes_read));
}

ckptcat::ocdbt::ReadStats minus(const ckptcat::ocdbt::ReadStats& a, const ckptcat::ocdbt::ReadStats& b) {
  return {a.files_opened - b.files_opened, a.bytes_read - b.bytes_read, a.nodes_decoded - b.nodes_decoded};
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t num_keys = 1000000;
  size_t fanout = 256;
  int runs = 5;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--smoke") == 0) num_keys = 100000;
    else if (std::strcmp(argv[i], "--keys") == 0 && i + 1 < argc) num_keys = std::strtoull(argv[++i], nullptr, 10);
    else if (std::strcmp(argv[i], "--fanout") == 0 && i + 1 < argc) fanout = std::strtoull(argv[++i], nullptr, 10);
    else if (std::strcmp(argv[i], "--runs") == 0 && i + 1 < argc) runs = std::max(1, std::atoi(argv[++i]));
    else {
      std::fprintf(stderr, "usage: %s [--smoke] [--keys N] [--fanout F] [--runs R]\n", argv[0]);
      return 2;
    }
  }

  TempDir tmp;
  // Orbax-like keys: <param path>/<chunk index>, small random inline values,
  // every 50th value out of line.
  auto start = Clock::now();
  {
    OcdbtWriterOptions options;
    options.max_node_entries = fanout;
    OcdbtWriter writer(tmp.path(), options);
    char key[96];
    std::string small(16, '\0');
    const std::string big(1500, 'b');
    uint64_t state = 88172645463325252ull;
    for (uint64_t i = 0; i < num_keys; ++i) {
      std::snprintf(key, sizeof key, "params.encoder.layer_%05llu.mlp.kernel/%llu.%llu",
                    static_cast<unsigned long long>(i / 1000), static_cast<unsigned long long>(i % 1000 / 10),
                    static_cast<unsigned long long>(i % 10));
      for (auto& c : small) {  // xorshift: values that do not compress away
        state ^= state << 13, state ^= state >> 7, state ^= state << 17;
        c = static_cast<char>(state);
      }
      writer.put(key, i % 50 == 0 ? big : small);
    }
    writer.commit();
  }
  const double write_seconds = seconds_since(start);

  Database db = Database::open(tmp.path());
  const auto& latest = db.latest();
  std::printf("OCDBT listing benchmark: %llu keys, fanout %zu, %llu bytes of B+tree nodes\n",
              static_cast<unsigned long long>(latest.num_keys), fanout,
              static_cast<unsigned long long>(latest.num_tree_bytes));
  std::printf("%-28s %10s %9s %12s %8s %12s\n", "", "keys", "seconds", "keys/s", "nodes", "bytes read");
  print_row({"write (test writer)", num_keys, write_seconds, {}});

  bool ok = true;
  std::string previous;
  auto list_all = [&](const char* what, bool check) {
    const auto before = db.stats();
    uint64_t count = 0;
    const auto t = Clock::now();
    db.list([&](const KeyEntry& e) {
      if (check) {
        if (count > 0 && !(previous < e.key)) ok = false;
        previous = e.key;
      }
      ++count;
      return true;
    });
    Row row{what, count, seconds_since(t), minus(db.stats(), before)};
    if (count != num_keys) ok = false;
    return row;
  };
  const Row first = list_all("list all (first, checked)", true);
  print_row(first);
  Row best = list_all("list all (warm)", false);
  for (int run = 1; run < runs; ++run) {
    Row r = list_all("list all (warm)", false);
    if (r.seconds < best.seconds) best = r;
  }
  const std::string best_label = "list all (warm, best of " + std::to_string(runs) + ")";
  best.what = best_label.c_str();
  print_row(best);

  // A prefix listing reads only the nodes covering the prefix.
  const auto before = db.stats();
  uint64_t prefix_keys = 0;
  auto t = Clock::now();
  db.list_prefix("params.encoder.layer_00500.", [&](const KeyEntry&) { return ++prefix_keys, true; });
  print_row({"list prefix (one layer)", prefix_keys, seconds_since(t), minus(db.stats(), before)});
  const uint64_t expected_prefix_keys = num_keys > 500000 ? std::min<uint64_t>(1000, num_keys - 500000) : 0;
  if (prefix_keys != expected_prefix_keys) ok = false;

  std::printf("\nbytes read per full listing: %llu; encoded B+tree nodes: %llu (ratio %.3f)\n",
              static_cast<unsigned long long>(best.stats.bytes_read),
              static_cast<unsigned long long>(latest.num_tree_bytes),
              static_cast<double>(best.stats.bytes_read) / static_cast<double>(latest.num_tree_bytes));
  std::printf("warm listing: %.2f million keys/s (target >= 5)\n",
              static_cast<double>(best.keys) / best.seconds / 1e6);
  if (!ok) {
    std::fprintf(stderr, "FAILED: listing returned wrong keys\n");
    return 1;
  }
  return 0;
}
