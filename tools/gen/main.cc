// ckptcat-gen: writes a tree of Orbax checkpoints (see generator.h).
//
//   ckptcat-gen --preset demo /tmp/demo
//   ckptcat-gen --preset bench --runs 10 --steps 100 --leaves 1000 --seed 7 /tmp/big
#include <chrono>
#include <cstdio>
#include <exception>
#include <string>

#include <CLI/CLI.hpp>

#include "generator.h"

int main(int argc, char** argv) {
  namespace gen = ckptcat::gen;
  CLI::App app{"Writes a tree of Orbax-layout checkpoints (runs x steps x leaves) for demos, "
               "tests and benchmarks. Deterministic given --seed."};
  std::string preset_name = "small";
  std::optional<int> runs, steps, leaves, jobs, mesh_devices;
  uint64_t seed = 1;
  bool quiet = false;
  std::string out_dir;
  app.add_option("--preset", preset_name,
                 "demo | small | bench | orbax | pod (defaults below are the preset's)")
      ->check(CLI::IsMember({"demo", "small", "bench", "orbax", "pod"}));
  app.add_option("--runs", runs, "runs (CheckpointManager roots or export folders)")
      ->check(CLI::Range(0, 100000));
  app.add_option("--steps", steps, "checkpoints per run")->check(CLI::Range(0, 1000000));
  app.add_option("--leaves", leaves, "leaves of each checkpoint's main pytree item")
      ->check(CLI::Range(0, 10000000));
  app.add_option("--seed", seed, "seed of every random choice");
  app.add_option("--mesh-devices", mesh_devices,
                 "devices of the manager/multihost meshes (power of two)")
      ->check(CLI::Range(1, 4096));
  app.add_option("--jobs", jobs, "writer threads (default: all cores)")->check(CLI::Range(1, 256));
  app.add_flag("--quiet", quiet, "print nothing on success");
  app.add_option("OUT_DIR", out_dir, "folder to write into (created)")->required();
  CLI11_PARSE(app, argc, argv);

  gen::Options options = gen::preset_options(*gen::preset_from_string(preset_name));
  if (runs) options.runs = *runs;
  if (steps) options.steps = *steps;
  if (leaves) options.leaves = *leaves;
  if (jobs) options.jobs = *jobs;
  if (mesh_devices) options.mesh_devices = *mesh_devices;
  options.seed = seed;
  try {
    const auto start = std::chrono::steady_clock::now();
    const gen::Tree tree = gen::plan_tree(options);
    gen::write_tree(tree, out_dir);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!quiet)
      std::printf("wrote %llu checkpoints, %llu leaves (%d runs) into %s in %.2f s\n",
                  static_cast<unsigned long long>(tree.checkpoint_count()),
                  static_cast<unsigned long long>(tree.leaf_count()), options.runs,
                  out_dir.c_str(), seconds);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ckptcat-gen: %s\n", e.what());
    return 1;
  }
  return 0;
}
