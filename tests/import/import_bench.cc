// Import speed over a generated tree (not part of the test run: `meson test
// --benchmark --suite import`). Prints checkpoints/s and leaves/s for a first
// import at several --jobs, and the cost of a re-import where all is unchanged.
//
//   import_bench [STEPS [LEAVES_PER_STEP]]     default 200 steps x 200 leaves
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "ckptcat/importer.h"
#include "orbax_writer.h"
#include "shared_data.h"

using namespace ckptcat;
using namespace ckptcat::testing;

int main(int argc, char** argv) {
  const int steps = argc > 1 ? std::stoi(argv[1]) : 200;
  const int leaves = argc > 2 ? std::stoi(argv[2]) : 200;
  TempDir tmp;
  CheckpointSpec step;
  ItemSpec& params = step.items.emplace_back(ItemSpec::pytree("params"));
  for (int i = 0; i < leaves; ++i)
    params.leaves.push_back(
        LeafSpec::array({"layer_" + std::to_string(i / 4), "w" + std::to_string(i % 4)}, "bfloat16",
                        {1024, 256})
            .with_sharding(named_sharding({2, 4}, {"data", "model"}, {"data", "model"}))
            .with_write_shape({512, 64}));
  step.items.push_back(ItemSpec::json("config", R"({"lr": 0.001})"));
  const auto t0 = std::chrono::steady_clock::now();
  for (int s = 0; s < steps; ++s) write_checkpoint(tmp.path() / "run" / std::to_string(s * 100), step);
  std::printf("wrote %d steps x %d leaves in %.2f s\n", steps, leaves,
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());

  // Reading alone (one thread), to tell reader cost from catalog cost.
  const auto t1 = std::chrono::steady_clock::now();
  size_t read_leaves = 0;
  for (const auto& loc : orbax::discover(tmp.path() / "run").checkpoints)
    for (const auto& item : orbax::read_checkpoint(loc).items) read_leaves += item.leaves.size();
  const double read_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
  std::printf("read only (1 thread): %zu leaves in %.2f s: %.0f leaves/s\n", read_leaves, read_seconds,
              static_cast<double>(read_leaves) / read_seconds);

  const unsigned cpus = std::max(1u, std::thread::hardware_concurrency());
  for (unsigned jobs : {1u, cpus}) {
    const std::string db = (tmp.path() / ("bench" + std::to_string(jobs) + ".db")).string();
    Catalog catalog(db);
    ImportOptions options;
    options.jobs = jobs;
    const auto first = Importer(catalog, options).run({tmp.path() / "run"});
    std::printf("import --jobs %u: %llu checkpoints, %llu leaves in %.2f s: %.0f checkpoints/s, %.0f leaves/s\n",
                jobs, static_cast<unsigned long long>(first.inserted),
                static_cast<unsigned long long>(first.leaves), first.seconds,
                static_cast<double>(first.inserted) / first.seconds,
                static_cast<double>(first.leaves) / first.seconds);
    const auto again = Importer(catalog, options).run({tmp.path() / "run"});
    std::printf("re-import --jobs %u (all unchanged): %.3f s\n", jobs, again.seconds);
  }
  return 0;
}
