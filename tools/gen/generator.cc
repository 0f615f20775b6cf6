// ckptcat-gen: planning and writing checkpoint trees (see generator.h).
#include "generator.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "ckptcat/python_json.h"

namespace ckptcat::gen {
namespace {

namespace fs = std::filesystem;
using testing::CheckpointSpec;
using testing::ItemSpec;
using testing::LeafSpec;

// SplitMix64: a tiny generator whose output is fixed by its definition, so
// trees are identical across compilers and standard libraries.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  uint64_t below(uint64_t n) { return n == 0 ? 0 : next() % n; }
  double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

 private:
  uint64_t state_;
};

uint64_t mix(uint64_t a, uint64_t b) { return Rng(a * 0x100000001b3ull ^ b).next(); }

// Every dtype of orbax-format.md §6.4 that TensorStore can save.
const std::vector<std::string>& all_dtypes() {
  static const std::vector<std::string> kDtypes = {
      "bool",          "int8",           "uint8",           "int16",
      "uint16",        "int32",          "uint32",          "int64",
      "uint64",        "float16",        "float32",         "float64",
      "complex64",     "complex128",     "bfloat16",        "float8_e4m3fn",
      "float8_e4m3fnuz", "float8_e4m3b11fnuz", "float8_e5m2", "float8_e5m2fnuz",
      "float8_e3m4",   "float8_e8m0fnu", "float4_e2m1fn",   "int4",
      "int2"};
  return kDtypes;
}

// Bits per element, for the chunk byte budget.
int dtype_bits(const std::string& dtype) {
  if (dtype == "int2") return 2;
  if (dtype == "int4" || dtype == "float4_e2m1fn") return 4;
  if (dtype == "complex128") return 128;
  if (dtype == "complex64" || dtype.find("64") != std::string::npos) return 64;
  if (dtype.find("32") != std::string::npos) return 32;
  if (dtype.find("16") != std::string::npos) return 16;
  return 8;  // bool, int8, uint8, float8_*
}

constexpr const char* kV1PyTreeHandler =
    "orbax.checkpoint.experimental.v1._src.handlers.pytree_handler.PyTreeHandler";
constexpr const char* kV1JsonHandler =
    "orbax.checkpoint.experimental.v1._src.handlers.json_handler.JsonHandler";
constexpr int64_t kBaseTimeNsecs = 1778718340000000000;

// ---- the model whose training state the runs save ---------------------------------

struct ModelDims {
  int64_t d_model, heads, head_dim, d_ff, vocab;
};

ModelDims model_dims(Style style, Rng& rng) {
  static const int64_t kWidths[] = {256, 512};
  static const int64_t kVocabs[] = {8192, 16384, 32768};
  ModelDims m{};
  // A pod model is wide enough for 16-way tensor parallelism.
  m.d_model = style == Style::kPod ? 2048 : kWidths[rng.below(2)];
  m.head_dim = 64;
  m.heads = m.d_model / m.head_dim;
  m.d_ff = 4 * m.d_model;
  m.vocab = kVocabs[rng.below(3)];
  return m;
}

// How a parameter dimension is split: not at all, over the "fsdp" role or
// over the "model" role (each style maps roles to its mesh axes).
enum class Role { kNone, kFsdp, kModel };

struct Param {
  std::vector<std::string> keys;  // below "params"
  Shape shape;
  std::vector<Role> roles;  // one per dimension
};

// The n-th parameter of an endless transformer: embedding, final norm, then
// 8 parameters per layer.
Param nth_param(uint64_t n, const ModelDims& m) {
  const Role F = Role::kFsdp, M = Role::kModel, N = Role::kNone;
  if (n == 0) return {{"embedder", "input_embedding"}, {m.vocab, m.d_model}, {M, F}};
  if (n == 1) return {{"final_norm", "scale"}, {m.d_model}, {N}};
  const uint64_t layer = (n - 2) / 8;
  const std::string l = "layers_" + std::to_string(layer);
  switch ((n - 2) % 8) {
    case 0: return {{l, "attention", "query", "kernel"}, {m.d_model, m.heads, m.head_dim}, {F, M, N}};
    case 1: return {{l, "attention", "key", "kernel"}, {m.d_model, m.heads, m.head_dim}, {F, M, N}};
    case 2: return {{l, "attention", "value", "kernel"}, {m.d_model, m.heads, m.head_dim}, {F, M, N}};
    case 3: return {{l, "attention", "out", "kernel"}, {m.heads, m.head_dim, m.d_model}, {M, N, F}};
    case 4: return {{l, "mlp", "wi", "kernel"}, {m.d_model, m.d_ff}, {F, M}};
    case 5: return {{l, "mlp", "wo", "kernel"}, {m.d_ff, m.d_model}, {M, F}};
    case 6: return {{l, "pre_attention_norm", "scale"}, {m.d_model}, {N}};
    default: return {{l, "pre_mlp_norm", "scale"}, {m.d_model}, {N}};
  }
}

// ---- meshes and shardings ------------------------------------------------------------

struct MeshPlan {
  std::optional<NamedShardingMetadata> mesh;  // partition_spec left empty
  PartitionSpecEntry fsdp, model;             // what each role becomes
};

std::vector<int64_t> shuffled_ids(int64_t n, Rng& rng) {
  std::vector<int64_t> ids(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) ids[static_cast<size_t>(i)] = i;
  for (size_t i = ids.size(); i > 1; --i) std::swap(ids[i - 1], ids[rng.below(i)]);
  return ids;
}

// Splits `devices` (a power of two) into two factors, the second the larger.
std::pair<int64_t, int64_t> split2(int64_t devices) {
  int64_t a = 1;
  while (4 * a * a <= devices) a *= 2;
  return {a, devices / a};
}

MeshPlan mesh_plan(Style style, int mesh_devices, Rng& rng) {
  MeshPlan p;
  int64_t devices = 1;
  while (devices * 2 <= std::max(1, mesh_devices)) devices *= 2;
  switch (style) {
    case Style::kManager:
    case Style::kOrbax: {
      const auto [data, model] = split2(devices);
      p.mesh = testing::named_sharding({data, model}, {"data", "model"}, {});
      p.fsdp = std::string("data");
      p.model = std::string("model");
      break;
    }
    case Style::kMultiHost: {
      const auto [a, model] = split2(devices);
      const auto [data, fsdp] = split2(a);
      p.mesh = testing::named_sharding({data, fsdp, model}, {"data", "fsdp", "model"}, {});
      p.mesh->axis_types = std::vector<std::string>{"AxisType.Explicit", "AxisType.Explicit",
                                                    "AxisType.Auto"};
      p.mesh->device_mesh->device_ids = shuffled_ids(devices, rng);
      p.fsdp = std::vector<std::string>{"data", "fsdp"};
      p.model = std::string("model");
      break;
    }
    case Style::kPod: {
      // Older JAX (no axis_types); only the tensor axis splits parameters,
      // which keeps chunks at 16 per kernel.
      p.mesh = testing::named_sharding({16, 16, 16}, {"data", "fsdp", "tensor"}, {});
      p.mesh->axis_types.reset();
      p.mesh->device_mesh->device_ids = shuffled_ids(4096, rng);
      p.fsdp = std::monostate{};
      p.model = std::string("tensor");
      break;
    }
    case Style::kExport:
      break;
  }
  return p;
}

int64_t axes_size(const NamedShardingMetadata& mesh, const PartitionSpecEntry& entry) {
  auto size_of = [&](const std::string& axis) {
    for (size_t i = 0; i < mesh.axis_names.size(); ++i)
      if (mesh.axis_names[i] == axis) return mesh.shape[i];
    return int64_t{1};
  };
  if (const auto* one = std::get_if<std::string>(&entry)) return size_of(*one);
  int64_t n = 1;
  if (const auto* many = std::get_if<std::vector<std::string>>(&entry))
    for (const auto& a : *many) n *= size_of(a);
  return n;
}

// Chunks as Orbax picks them: the shard, halved along its largest dimension
// until it fits the byte budget (SaveArgs.chunk_byte_size).
Shape chunk_shape_for(Shape write_shape, const std::string& dtype, uint64_t budget) {
  auto bytes = [&](const Shape& s) {
    uint64_t bits = static_cast<uint64_t>(dtype_bits(dtype));
    for (auto d : s) bits *= static_cast<uint64_t>(d);
    return (bits + 7) / 8;
  };
  while (bytes(write_shape) > budget) {
    auto largest = std::max_element(write_shape.begin(), write_shape.end());
    if (largest == write_shape.end() || *largest <= 1) break;
    *largest = (*largest + 1) / 2;
  }
  return write_shape;
}

// ---- the training state item ---------------------------------------------------------

KeyPath key_path(const std::vector<std::string>& keys, const std::vector<size_t>& sequence_levels) {
  KeyPath path;
  for (size_t i = 0; i < keys.size(); ++i) {
    const bool seq = std::find(sequence_levels.begin(), sequence_levels.end(), i) !=
                     sequence_levels.end();
    path.push_back({keys[i], seq ? KeyType::kSequence : KeyType::kDict});
  }
  return path;
}

// JAX flatten order: dict keys sorted bytewise, sequence indices numerically.
bool flatten_less(const LeafSpec& a, const LeafSpec& b) {
  const size_t n = std::min(a.path.size(), b.path.size());
  for (size_t i = 0; i < n; ++i) {
    const auto& x = a.path[i];
    const auto& y = b.path[i];
    if (x.key == y.key) continue;
    if (x.type == KeyType::kSequence && y.type == KeyType::kSequence)
      return std::stoll(x.key) < std::stoll(y.key);
    return x.key < y.key;
  }
  return a.path.size() < b.path.size();
}

struct StyleTraits {
  std::string param_dtype, moment_dtype;
  ItemSpec::Storage storage = ItemSpec::Storage::kOcdbt;
  bool zarr3 = true;
  int processes = 1;
  uint64_t large_chunk_bytes = 16;  // embedding chunk values: > 1024 go out of line
  bool dtype_probes = false;
};

StyleTraits traits(Style style) {
  switch (style) {
    case Style::kManager: return {"bfloat16", "float32", ItemSpec::Storage::kOcdbt, true, 1, 16, false};
    case Style::kMultiHost: return {"float32", "float32", ItemSpec::Storage::kOcdbt, false, 4, 1536, false};
    case Style::kExport: return {"float32", "float32", ItemSpec::Storage::kFiles, false, 1, 16, true};
    case Style::kPod: return {"bfloat16", "float32", ItemSpec::Storage::kOcdbt, true, 8, 16, false};
    case Style::kOrbax: return {"bfloat16", "float32", ItemSpec::Storage::kOcdbt, true, 2, 16, false};
  }
  return {};
}

ItemSpec state_item(const Run& run, const Options& options, Rng& rng) {
  const StyleTraits t = traits(run.style);
  const ModelDims dims = model_dims(run.style, rng);
  const MeshPlan mesh = mesh_plan(run.style, options.mesh_devices, rng);

  ItemSpec item = ItemSpec::pytree(run.style == Style::kPod ? "default" : "state");
  item.storage = t.storage;
  item.zarr3 = t.zarr3;
  item.num_processes = t.processes;
  if (run.style == Style::kMultiHost) item.handler = kV1PyTreeHandler;
  if (run.style == Style::kOrbax) item.ocdbt_max_node_entries = size_t{1} << 30;  // one node
  item.tree_custom_metadata = run.style == Style::kExport ? R"({"exported_by": "ckptcat-gen"})"
                                                          : std::optional<std::string>();

  std::vector<LeafSpec>& leaves = item.leaves;
  const int64_t n = std::max(0, options.leaves);
  auto add = [&](LeafSpec leaf) {
    if (static_cast<int64_t>(leaves.size()) < n) leaves.push_back(std::move(leaf));
  };

  // Bookkeeping leaves first (kept when the budget is tiny): a scalar, the
  // optimizer count, optax's EmptyState (saved as None), a string, an empty dict.
  LeafSpec step = LeafSpec::scalar({"step"}, "int64");
  add(step);
  LeafSpec count = LeafSpec::array({}, "int32", {});
  count.path = key_path({"opt_state", "0", "count"}, {1});
  if (mesh.mesh) count.with_sharding(*mesh.mesh);  // a replicated 0-d array
  else count.with_sharding(SingleDeviceShardingMetadata{"cpu:0"});
  add(count);
  LeafSpec empty_state = LeafSpec::empty({}, "None");
  empty_state.path = key_path({"opt_state", "1"}, {1});
  add(empty_state);
  add(LeafSpec::string({"meta", "run_name"}, run.name));
  add(LeafSpec::empty({"meta", "extra"}, "Dict"));

  int64_t budget = n - static_cast<int64_t>(leaves.size());
  if (t.dtype_probes) {
    for (const auto& dtype : all_dtypes()) {
      if (budget <= 0) break;
      add(LeafSpec::numpy({"probes", dtype}, dtype, {4, 8}));
      --budget;
    }
  }
  // Each parameter comes with its two Adam moments; a remainder of one or two
  // leaves becomes counters.
  const int64_t params = std::max<int64_t>(0, budget / 3);
  for (int64_t r = 0; r < budget - 3 * params; ++r)
    add(LeafSpec::scalar({"meta", "counter_" + std::to_string(r)}, r % 2 ? "float64" : "int64"));

  for (int64_t i = 0; i < params; ++i) {
    const Param p = nth_param(static_cast<uint64_t>(i), dims);
    for (int copy = 0; copy < 3; ++copy) {
      std::vector<std::string> keys;
      std::vector<size_t> seq;
      if (copy == 0) keys = {"params"};
      else keys = {"opt_state", "0", copy == 1 ? "mu" : "nu"}, seq = {1};
      keys.insert(keys.end(), p.keys.begin(), p.keys.end());
      const std::string& dtype = copy == 0 ? t.param_dtype : t.moment_dtype;
      LeafSpec leaf = LeafSpec::array({}, dtype, p.shape);
      leaf.path = key_path(keys, seq);
      if (i == 0) leaf.chunk_value_bytes = t.large_chunk_bytes;
      Shape write_shape = p.shape;
      if (mesh.mesh) {
        NamedShardingMetadata s = *mesh.mesh;
        for (size_t d = 0; d < p.roles.size(); ++d) {
          const PartitionSpecEntry e = p.roles[d] == Role::kFsdp    ? mesh.fsdp
                                       : p.roles[d] == Role::kModel ? mesh.model
                                                                    : PartitionSpecEntry{};
          s.partition_spec.push_back(e);
          const int64_t parts = axes_size(s, e);
          write_shape[d] = (p.shape[d] + parts - 1) / parts;
        }
        // JAX drops trailing replicated entries from the spec.
        while (!s.partition_spec.empty() &&
               std::holds_alternative<std::monostate>(s.partition_spec.back()))
          s.partition_spec.pop_back();
        leaf.with_sharding(std::move(s));
      } else {
        leaf.with_sharding(SingleDeviceShardingMetadata{"cpu:0"});
      }
      leaf.with_write_shape(write_shape);
      // Sharded saves split large shards (chunk_byte_size); exports keep one chunk.
      leaf.with_chunk_shape(mesh.mesh ? chunk_shape_for(write_shape, dtype, options.chunk_byte_budget)
                                      : write_shape);
      add(std::move(leaf));
    }
  }
  std::stable_sort(leaves.begin(), leaves.end(), flatten_less);
  return item;
}

std::string root_metadata_text(const Run& run) {
  pyjson::Writer w;
  w.begin_object().key("run").value(run.name).key("style").value(to_string(run.style));
  w.key("seed").value(static_cast<int64_t>(run.seed % 1000000)).end_object();
  return w.take();
}

}  // namespace

std::optional<Preset> preset_from_string(const std::string& name) {
  if (name == "demo") return Preset::kDemo;
  if (name == "small") return Preset::kSmall;
  if (name == "bench") return Preset::kBench;
  if (name == "orbax") return Preset::kOrbax;
  if (name == "pod") return Preset::kPod;
  return std::nullopt;
}

const char* to_string(Style style) noexcept {
  switch (style) {
    case Style::kManager: return "manager";
    case Style::kMultiHost: return "multihost";
    case Style::kExport: return "export";
    case Style::kPod: return "pod";
    case Style::kOrbax: return "orbax";
  }
  return "?";
}

Options preset_options(Preset preset) {
  Options o;
  switch (preset) {
    case Preset::kDemo:
      o.runs = 2, o.steps = 3, o.leaves = 36;
      o.styles = {Style::kManager, Style::kExport};
      break;
    case Preset::kSmall:
      break;  // the defaults
    case Preset::kBench:
      o.runs = 10, o.steps = 100, o.leaves = 1000;
      o.styles = {Style::kManager, Style::kMultiHost};
      break;
    case Preset::kOrbax:
      o.runs = 1, o.steps = 40, o.leaves = 2000;
      o.styles = {Style::kOrbax};
      break;
    case Preset::kPod:
      o.runs = 1, o.steps = 20, o.leaves = 1000;
      o.styles = {Style::kPod};
      break;
  }
  return o;
}

std::string Run::step_folder(size_t step_index) const {
  const int64_t step = steps.at(step_index);
  switch (style) {
    case Style::kManager:
    case Style::kOrbax: return testing::step_folder_name(step);
    case Style::kMultiHost: return testing::step_folder_name(step, "step", 8);
    case Style::kExport: return testing::step_folder_name(step, "export");
    case Style::kPod: return testing::step_folder_name(step, "", 8);
  }
  return std::to_string(step);
}

CheckpointSpec Run::step_spec(size_t step_index) const {
  Rng rng(mix(seed, 1000 + step_index));
  CheckpointSpec spec;
  const int64_t step = steps.at(step_index);
  spec.init_timestamp_nsecs = kBaseTimeNsecs + int64_t{index} * 86'400'000'000'000 +
                              static_cast<int64_t>(step_index) * 3'600'000'000'000 +
                              static_cast<int64_t>(rng.below(1'000'000'000));
  spec.commit_timestamp_nsecs =
      *spec.init_timestamp_nsecs + 200'000'000 + static_cast<int64_t>(rng.below(800'000'000));
  {
    pyjson::Writer w;
    w.begin_object().key("run").value(name).key("step").value(step).end_object();
    spec.custom_metadata = w.take();
  }
  spec.items.reserve(2);  // `item` must stay valid when a second item is pushed below
  spec.items.push_back(state);
  ItemSpec& item = spec.items.back();
  switch (style) {
    case Style::kManager:
    case Style::kOrbax: {
      pyjson::Writer w;
      const double progress = static_cast<double>(step_index + 1) / static_cast<double>(steps.size());
      w.begin_object().key("loss").value(std::round((4.0 - 2.5 * progress + rng.unit() * 0.1) * 1e4) / 1e4);
      w.key("accuracy").value(std::round((0.3 + 0.6 * progress) * 1e4) / 1e4).end_object();
      spec.items.push_back(ItemSpec::json("metrics", w.take(), "metrics"));
      break;
    }
    case Style::kMultiHost: {
      spec.v1 = true;
      spec.commit_marker = true;
      ItemSpec meta = ItemSpec::json("metadata", R"({"hosts": 4})", "data.json");
      meta.handler = kV1JsonHandler;
      spec.items.push_back(std::move(meta));
      break;
    }
    case Style::kExport:
      spec.direct = true;
      item.zarr3 = step_index % 2 == 1;
      break;
    case Style::kPod:
      spec.commit_marker = true;
      break;
  }
  // Step-dependent string value, so steps differ in more than timestamps.
  for (auto& leaf : item.leaves)
    if (leaf.value_type == "string") leaf.string_value = name + "@" + std::to_string(step);
  return spec;
}

uint64_t Tree::checkpoint_count() const {
  uint64_t n = 0;
  for (const auto& r : runs) n += r.steps.size();
  return n;
}

uint64_t Tree::leaf_count() const {
  uint64_t n = 0;
  for (const auto& r : runs) n += r.steps.size() * r.state.leaves.size();
  return n;
}

Tree plan_tree(const Options& options) {
  if (options.styles.empty()) throw std::invalid_argument("no run style");
  Tree tree;
  tree.options = options;
  for (int r = 0; r < options.runs; ++r) {
    Run run;
    run.index = r;
    run.style = options.styles[static_cast<size_t>(r) % options.styles.size()];
    run.seed = mix(options.seed, static_cast<uint64_t>(r));
    char name[64];
    std::snprintf(name, sizeof name, "run-%02d-%s", r, to_string(run.style));
    run.name = name;
    Rng rng(run.seed);
    const int64_t stride = run.style == Style::kExport ? 5000 : 100 * (1 + static_cast<int64_t>(rng.below(10)));
    for (int s = 0; s < options.steps; ++s) run.steps.push_back(stride * (s + 1));
    if (run.style != Style::kExport) run.root_metadata = root_metadata_text(run);
    run.state = state_item(run, options, rng);
    tree.runs.push_back(std::move(run));
  }
  return tree;
}

void write_tree(const Tree& tree, const fs::path& out_dir) {
  fs::create_directories(out_dir);
  std::vector<std::pair<size_t, size_t>> work;  // (run, step index)
  for (size_t r = 0; r < tree.runs.size(); ++r) {
    const Run& run = tree.runs[r];
    fs::create_directories(out_dir / run.name);
    if (run.root_metadata) testing::write_root_metadata(out_dir / run.name, *run.root_metadata);
    for (size_t s = 0; s < run.steps.size(); ++s) work.emplace_back(r, s);
  }
  const unsigned jobs = tree.options.jobs > 0 ? static_cast<unsigned>(tree.options.jobs)
                                              : std::max(1u, std::thread::hardware_concurrency());
  std::atomic<size_t> next{0};
  std::mutex failure_mutex;
  std::exception_ptr failure;
  auto worker = [&] {
    for (size_t i = next++; i < work.size(); i = next++) {
      try {
        const Run& run = tree.runs[work[i].first];
        testing::write_checkpoint(out_dir / run.name / run.step_folder(work[i].second),
                                  run.step_spec(work[i].second));
      } catch (...) {
        std::lock_guard lock(failure_mutex);
        if (!failure) failure = std::current_exception();
        next = work.size();
      }
    }
  };
  std::vector<std::thread> threads;
  for (unsigned j = 1; j < std::min<size_t>(jobs, work.size()); ++j) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();
  if (failure) std::rethrow_exception(failure);
}

}  // namespace ckptcat::gen
