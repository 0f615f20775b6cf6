// ckptcat-gen: writes Orbax-layout checkpoint trees at scale (runs x steps x
// leaves) for demos, tests and benchmarks, on top of the test-only fixture
// writers (tests/support/orbax_writer.h, ocdbt_writer.h).
//
// A tree is a folder of runs; each run is written in one "style" that stands
// for a way real training jobs save (see Style below), so one tree exercises
// composite and direct steps, OCDBT with zarr2 and zarr3, plain zarr folders,
// multi-process saves, NamedSharding over meshes of up to 4,096 devices and
// SingleDeviceSharding, every dtype of orbax-format.md §6.4, scalars, strings,
// empty containers, optimizer-state trees and CheckpointManager roots.
//
// Chunk values are filler bytes; all metadata is realistic: Flax/optax-like
// names (params.layers_3.attention.query.kernel, opt_state.0.mu.params...),
// shapes of a transformer, write shapes of the shards and chunk shapes split
// further when a shard exceeds the chunk byte budget.
//
// Everything is a pure function of the Options (seed included): the same
// options give byte-identical trees, whatever the number of writer threads.
//
//   ckptcat::gen::Options o = ckptcat::gen::preset_options(ckptcat::gen::Preset::kDemo);
//   ckptcat::gen::Tree tree = ckptcat::gen::plan_tree(o);
//   ckptcat::gen::write_tree(tree, "/tmp/demo");
//   // tree.runs[r].step_spec(s) is what /tmp/demo/<run>/<step> holds.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "orbax_writer.h"

namespace ckptcat::gen {

enum class Preset { kDemo, kSmall, kBench, kOrbax, kPod };
// "demo", "small", "bench", "orbax", "pod"
std::optional<Preset> preset_from_string(const std::string& name);

// How a run saves. Each is a realistic combination seen in the wild.
enum class Style {
  // CheckpointManager (composite steps: `state` pytree + `metrics` JSON item),
  // steps named "1000", root metadata, OCDBT + zarr3, one process, NamedSharding
  // over a (data, model) mesh.
  kManager,
  // A multi-host CheckpointManager: steps named "step_00001000", v1 layout
  // (`orbax.checkpoint`, item `state`), commit_success.txt, OCDBT + zarr2 saved
  // by 4 processes and merged (large chunks out of line in
  // ocdbt.process_N/d/), NamedSharding with multi-axis partition entries.
  kMultiHost,
  // Direct checkpoints (StandardCheckpointer saved straight to a path) in plain
  // zarr folders (no OCDBT), SingleDeviceSharding and np.ndarray leaves, one
  // probe leaf per dtype of spec §6.4; zarr2 and zarr3 alternate by step.
  kExport,
  // A TPU pod: NamedSharding over a 16 x 16 x 16 mesh (4,096 devices, device
  // ids in a shuffled physical order), OCDBT + zarr3, 8 processes.
  kPod,
  // What Orbax itself writes for a CheckpointManager save on two hosts:
  // composite steps as kManager (the mesh of mesh_devices written out in full
  // in every _sharding entry), OCDBT + zarr3 saved by 2 processes into
  // ocdbt.process_N sub-databases and merged, small chunk values inline, and
  // every item's B+tree one root node (Orbax's max_decoded_node_bytes = 1e8
  // never splits a node of a few thousand keys).
  kOrbax,
};
// "manager", "multihost", "export", "pod", "orbax"
const char* to_string(Style style) noexcept;

struct Options {
  int runs = 4;
  int steps = 3;
  int leaves = 120;  // leaves of each checkpoint's main pytree item
  uint64_t seed = 1;
  // Run r is written in styles[r % styles.size()].
  std::vector<Style> styles = {Style::kManager, Style::kMultiHost, Style::kExport, Style::kPod};
  // Mesh of kManager / kMultiHost runs: device count (8 = 2 x 4 by default).
  int mesh_devices = 8;
  // Shards larger than this are split into several chunks (SaveArgs.chunk_byte_size).
  uint64_t chunk_byte_budget = 512 * 1024;
  int jobs = 0;  // writer threads; 0 = all cores
};

// The defaults of each preset (runs, steps, leaves, styles, mesh).
//  demo:  2 runs x 3 steps x 36 leaves (manager + export), for the README.
//  small: 4 runs x 3 steps x 120 leaves, one run of each style.
//  bench: 10 runs x 100 steps x 1,000 leaves (manager + multihost, OCDBT):
//         1,000 checkpoints, 1,000,000 leaves.
//  orbax: 1 run x 40 steps x 2,000 leaves in the kOrbax style, 8 devices.
//  pod:   1 run x 20 steps x 1,000 leaves in the kPod style (4,096 devices:
//         each step's _sharding is ~64 MB, identical across steps).
Options preset_options(Preset preset);

// One run: a CheckpointManager root (or a folder of direct checkpoints).
struct Run {
  std::string name;  // folder under the output folder, e.g. "run-00-manager"
  Style style = Style::kManager;
  int index = 0;
  uint64_t seed = 0;
  std::vector<int64_t> steps;            // step numbers, increasing
  std::optional<std::string> root_metadata;  // custom_metadata of _ROOT_METADATA (JSON text)
  // The main pytree item, the same leaves at every step (as in real training).
  ckptcat::testing::ItemSpec state;

  std::string step_folder(size_t step_index) const;
  // The full description of step `step_index` (timestamps, metrics, items).
  ckptcat::testing::CheckpointSpec step_spec(size_t step_index) const;
};

struct Tree {
  Options options;
  std::vector<Run> runs;
  uint64_t checkpoint_count() const;
  uint64_t leaf_count() const;  // leaves of all pytree items of all checkpoints
};

// Decides everything to write (cheap: one item template per run).
Tree plan_tree(const Options& options);

// Writes `tree` into `out_dir` (created; runs go into sub-folders), on
// options.jobs threads. Throws std::runtime_error on I/O failure.
void write_tree(const Tree& tree, const std::filesystem::path& out_dir);

}  // namespace ckptcat::gen
