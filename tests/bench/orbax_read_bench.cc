// Orbax reader benchmark: writes a CheckpointManager root of N steps, each with
// an item of L jax.Array leaves (optimizer-state-like tree, NamedSharding on an
// 8x8 mesh, OCDBT), then times discovery, fingerprints and full reads.
//   bench_orbax_read [--smoke] [--steps N] [--leaves L]
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "ckptcat/reader.h"
#include "orbax_writer.h"
#include "shared_data.h"

using namespace ckptcat;
using namespace ckptcat::testing;
using Clock = std::chrono::steady_clock;

static double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

int main(int argc, char** argv) {
  int steps = 100, leaves = 1000;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--smoke")) { steps = 3; leaves = 50; }
    else if (!std::strcmp(argv[i], "--steps") && i + 1 < argc) steps = std::stoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--leaves") && i + 1 < argc) leaves = std::stoi(argv[++i]);
  }
  TempDir tmp;
  CheckpointSpec spec;
  ItemSpec& item = spec.items.emplace_back(ItemSpec::pytree("state"));
  const auto mesh = named_sharding({8, 8}, {"data", "model"}, {std::string("data"), std::string("model")});
  for (int i = 0; i < leaves; ++i) {
    const std::string group = i % 3 == 0 ? "params" : (i % 3 == 1 ? "mu" : "nu");
    item.leaves.push_back(LeafSpec::array({"opt_state", group, "layer_" + std::to_string(i / 3), "kernel"},
                                          "bfloat16", {1024, 512})
                              .with_sharding(mesh).with_write_shape({128, 64}));
  }
  auto t = Clock::now();
  for (int s = 0; s < steps; ++s) write_checkpoint(tmp.path() / step_folder_name(s * 100), spec);
  const double write_ms = ms_since(t);

  t = Clock::now();
  const auto found = orbax::discover(tmp.path());
  const double discover_ms = ms_since(t);
  t = Clock::now();
  for (const auto& loc : found.checkpoints) (void)orbax::fingerprint(loc);
  const double fingerprint_ms = ms_since(t);
  // Fresh readers parse every file; one Reader parses each distinct text once.
  size_t read_leaves = 0, errors = 0;
  auto read_all = [&](auto&& read) {
    read_leaves = errors = 0;
    const auto start = Clock::now();
    for (const auto& loc : found.checkpoints) {
      const auto m = read(loc);
      for (const auto& it : m.items) {
        read_leaves += it.leaves.size();
        for (const auto& l : it.leaves) errors += l.error.has_value();
      }
    }
    return ms_since(start);
  };
  const double fresh_ms = read_all([](const auto& loc) { return orbax::read_checkpoint(loc); });
  orbax::Reader reader;
  const double read_ms = read_all([&](const auto& loc) { return reader.read_checkpoint(loc); });
  std::printf("orbax reader: %d checkpoints x %d leaves (%zu leaves read, %zu leaf errors)\n", steps,
              leaves, read_leaves, errors);
  std::printf("  write (test writer)   %10.1f ms  (%.2f ms/checkpoint)\n", write_ms, write_ms / steps);
  std::printf("  discover              %10.1f ms\n", discover_ms);
  std::printf("  fingerprint all       %10.1f ms  (%.3f ms/checkpoint)\n", fingerprint_ms, fingerprint_ms / steps);
  const auto per_leaf = [&](double ms) { return 1000.0 * ms / std::max<size_t>(read_leaves, 1); };
  std::printf("  read all, fresh       %10.1f ms  (%.2f ms/checkpoint, %.2f us/leaf)\n", fresh_ms,
              fresh_ms / steps, per_leaf(fresh_ms));
  std::printf("  read all, one Reader  %10.1f ms  (%.2f ms/checkpoint, %.2f us/leaf)\n", read_ms,
              read_ms / steps, per_leaf(read_ms));
  return found.checkpoints.size() == static_cast<size_t>(steps) &&
                 read_leaves == static_cast<size_t>(steps) * leaves && errors == 0
             ? 0
             : 1;
}
