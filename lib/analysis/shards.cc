// Shards of arrays by JAX's rules (see shards.h). The SQL views leaf_shards and
// sharding_devices (schema/views.sql) compute the same figures; keep the two
// in step (dtype sizes, device ids from names, the validity rules).
#include "ckptcat/shards.h"

#include <algorithm>
#include <deque>
#include <map>
#include <set>
#include <unordered_map>
#include <utility>

namespace ckptcat {
namespace {

struct DtypeBits {
  std::string_view name;
  int64_t bits;
};

// orbax-format.md §6.4, plus uint4/uint2 (JAX types TensorStore cannot save).
constexpr DtypeBits kDtypeBits[] = {
    {"bool", 8},           {"int8", 8},           {"uint8", 8},
    {"int16", 16},         {"uint16", 16},        {"float16", 16},
    {"bfloat16", 16},      {"int32", 32},         {"uint32", 32},
    {"float32", 32},       {"int64", 64},         {"uint64", 64},
    {"float64", 64},       {"complex64", 64},     {"complex128", 128},
    {"float8_e4m3fn", 8},  {"float8_e4m3fnuz", 8}, {"float8_e4m3b11fnuz", 8},
    {"float8_e5m2", 8},    {"float8_e5m2fnuz", 8}, {"float8_e3m4", 8},
    {"float8_e8m0fnu", 8}, {"float4_e2m1fn", 4},  {"int4", 4},
    {"uint4", 4},          {"int2", 2},           {"uint2", 2},
};

// Parses a run of at most 18 decimal digits.
std::optional<int64_t> parse_digits(std::string_view digits) noexcept {
  if (digits.empty() || digits.size() > 18) return std::nullopt;
  int64_t n = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  return n;
}

bool checked_multiply(uint64_t& acc, uint64_t factor) noexcept {
  return !__builtin_mul_overflow(acc, factor, &acc);
}

LeafShards invalid(LeafShards out, std::string why) {
  out.status = ShardStatus::kInvalid;
  out.problem = std::move(why);
  out.dims.clear();
  out.shard_shape.clear();
  return out;
}

// Bytes of `elements` elements of `bits` bits, packed, rounded up to a byte.
std::optional<uint64_t> packed_bytes(uint64_t elements, int64_t bits) noexcept {
  uint64_t total = elements;
  if (!checked_multiply(total, static_cast<uint64_t>(bits))) return std::nullopt;
  return total / 8 + (total % 8 != 0);
}

// How many parts each array dimension is cut into; sets `why` when the sharding
// cannot apply to an array of rank `rank`.
std::vector<int64_t> named_parts(const NamedShardingMetadata& s, size_t rank, std::string& why) {
  std::vector<int64_t> parts(rank, 1);
  if (s.partition_spec.size() > rank) {
    why = "partition spec has " + std::to_string(s.partition_spec.size()) +
          " entries for an array of rank " + std::to_string(rank);
    return parts;
  }
  std::set<std::string_view> used;
  auto apply = [&](size_t dim, const std::string& axis) {
    const auto it = std::find(s.axis_names.begin(), s.axis_names.end(), axis);
    if (it == s.axis_names.end()) {
      if (why.empty()) why = "partition spec names axis '" + axis + "', not in the mesh";
      return;
    }
    if (!used.insert(axis).second) {
      if (why.empty()) why = "partition spec names axis '" + axis + "' twice";
      return;
    }
    const size_t index = static_cast<size_t>(it - s.axis_names.begin());
    const int64_t size = index < s.shape.size() ? s.shape[index] : 0;
    if (size <= 0) {
      if (why.empty()) why = "mesh axis '" + axis + "' has size " + std::to_string(size);
      return;
    }
    if (__builtin_mul_overflow(parts[dim], size, &parts[dim]) && why.empty())
      why = "split of dimension " + std::to_string(dim) + " overflows";
  };
  for (size_t dim = 0; dim < s.partition_spec.size(); ++dim) {
    const auto& entry = s.partition_spec[dim];
    if (const auto* axis = std::get_if<std::string>(&entry)) apply(dim, *axis);
    else if (const auto* axes = std::get_if<std::vector<std::string>>(&entry))
      for (const auto& a : *axes) apply(dim, a);
  }
  return parts;
}

uint64_t mesh_devices(const std::vector<int64_t>& shape) noexcept {
  uint64_t n = 1;
  for (int64_t s : shape)
    if (s <= 0 || !checked_multiply(n, static_cast<uint64_t>(s))) return 0;
  return n;
}

// ---- grouping ------------------------------------------------------------------

void mix(size_t& h, size_t v) noexcept { h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2); }

size_t hash_strings(size_t h, const std::vector<std::string>& names) {
  for (const auto& n : names) mix(h, std::hash<std::string>{}(n));
  return h;
}

// A hash of what decides the shards and their devices. A device mesh counts
// by its size and a few ids spread over it: hashing every id of a 4,096-device
// mesh for every leaf would cost more than the analysis itself (each leaf holds
// its own copy of its sharding, so there is no identity to key on);
// same_placement then compares the ids exactly, at memcmp speed.
size_t hash_sharding(const ShardingMetadata& sharding) {
  size_t h = sharding.index();
  if (const auto* n = std::get_if<NamedShardingMetadata>(&sharding)) {
    for (int64_t v : n->shape) mix(h, static_cast<size_t>(v));
    h = hash_strings(h, n->axis_names);
    for (const auto& e : n->partition_spec) {
      mix(h, e.index());
      if (const auto* a = std::get_if<std::string>(&e)) mix(h, std::hash<std::string>{}(*a));
      else if (const auto* l = std::get_if<std::vector<std::string>>(&e)) h = hash_strings(h, *l);
    }
    if (n->device_mesh) {
      const auto& ids = n->device_mesh->device_ids;
      mix(h, ids.size());
      const size_t step = std::max<size_t>(1, ids.size() / 8);
      for (size_t i = 0; i < ids.size(); i += step) mix(h, static_cast<size_t>(ids[i]));
      if (!ids.empty()) mix(h, static_cast<size_t>(ids->back()));
    }
  } else if (const auto* d = std::get_if<SingleDeviceShardingMetadata>(&sharding)) {
    mix(h, std::hash<std::string>{}(d->device_str));
  } else if (const auto* p = std::get_if<PositionalShardingMetadata>(&sharding)) {
    for (int64_t v : p->shape) mix(h, static_cast<size_t>(v));
  }
  return h;
}

// Equal for placement purposes: what decides the shards and their devices.
// (Orbax's operator== treats cpu:0 and TFRT_CPU_0 alike; placement does too,
// but keying on the exact string keeps the rule simple and still correct.)
bool same_placement(const ShardingMetadata& a, const ShardingMetadata& b) {
  if (a.index() != b.index()) return false;
  if (const auto* x = std::get_if<NamedShardingMetadata>(&a)) {
    const auto& y = std::get<NamedShardingMetadata>(b);
    return x->shape == y.shape && x->axis_names == y.axis_names &&
           x->partition_spec == y.partition_spec && x->device_mesh == y.device_mesh;
  }
  if (const auto* x = std::get_if<SingleDeviceShardingMetadata>(&a))
    return x->device_str == std::get<SingleDeviceShardingMetadata>(b).device_str;
  return std::get<PositionalShardingMetadata>(a).shape ==
         std::get<PositionalShardingMetadata>(b).shape;
}

}  // namespace

std::optional<int64_t> dtype_bits(std::string_view dtype) noexcept {
  for (const auto& d : kDtypeBits)
    if (d.name == dtype) return d.bits;
  // numpy_dtype_from_zarr2 names raw |S<n> / |V<n> types by their bits.
  for (std::string_view prefix : {std::string_view("bytes"), std::string_view("void")})
    if (dtype.substr(0, prefix.size()) == prefix) {
      const auto bits = parse_digits(dtype.substr(prefix.size()));
      if (bits && *bits > 0) return bits;
    }
  return std::nullopt;
}

std::optional<int64_t> device_id_from_string(std::string_view device_str) noexcept {
  const std::string_view name = device_str.substr(0, device_str.find('('));
  size_t start = name.size();
  while (start > 0 && name[start - 1] >= '0' && name[start - 1] <= '9') --start;
  if (start == 0 || start == name.size()) return std::nullopt;
  if (name[start - 1] != ':' && name[start - 1] != '_') return std::nullopt;
  return parse_digits(name.substr(start));
}

const char* to_string(ShardStatus status) noexcept {
  switch (status) {
    case ShardStatus::kEven: return "even";
    case ShardStatus::kUneven: return "uneven";
    case ShardStatus::kInvalid: return "invalid";
    case ShardStatus::kUnsharded: return "unsharded";
  }
  return "?";
}

LeafShards compute_shards(const ShardingMetadata* sharding, const Shape& shape,
                          int64_t dtype_bits) {
  LeafShards out;
  if (dtype_bits <= 0) return invalid(std::move(out), "dtype of " + std::to_string(dtype_bits) + " bits");
  uint64_t elements = 1;
  for (int64_t d : shape)
    if (d < 0 || !checked_multiply(elements, static_cast<uint64_t>(d)))
      return invalid(std::move(out), "array shape " + shape_to_string(shape) + " is too large");
  const auto logical = packed_bytes(elements, dtype_bits);
  if (!logical) return invalid(std::move(out), "array bytes overflow");
  out.logical_bytes = *logical;
  if (!sharding) return out;

  std::vector<int64_t> parts(shape.size(), 1);
  uint64_t devices = 1;
  std::string why;
  if (const auto* named = std::get_if<NamedShardingMetadata>(sharding)) {
    parts = named_parts(*named, shape.size(), why);
    devices = mesh_devices(named->shape);
    if (devices == 0 && why.empty()) why = "mesh shape " + shape_to_string(named->shape) + " is empty";
  } else if (const auto* positional = std::get_if<PositionalShardingMetadata>(sharding)) {
    if (positional->shape.size() != shape.size())
      why = "positional sharding of rank " + std::to_string(positional->shape.size()) +
            " for an array of rank " + std::to_string(shape.size());
    else parts = positional->shape;
    devices = 0;  // one per shard, set below
  }
  if (!why.empty()) return invalid(std::move(out), std::move(why));

  uint64_t distinct = 1, shard_elements = 1;
  std::string uneven;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (parts[i] <= 0)
      return invalid(std::move(out), "dimension " + std::to_string(i) + " split into " +
                                         std::to_string(parts[i]) + " parts");
    DimSplit split{shape[i], parts[i], shape[i] / parts[i] + (shape[i] % parts[i] != 0)};
    if (!split.even())
      uneven += (uneven.empty() ? "" : ", ") + std::string("dimension ") + std::to_string(i) +
                ": " + std::to_string(split.size) + " into " + std::to_string(split.parts);
    if (!checked_multiply(distinct, static_cast<uint64_t>(split.parts)) ||
        !checked_multiply(shard_elements, static_cast<uint64_t>(split.shard)))
      return invalid(std::move(out), "shard count overflows");
    out.shard_shape.push_back(split.shard);
    out.dims.push_back(split);
  }
  if (devices == 0) devices = distinct;
  if (devices % distinct != 0)
    return invalid(std::move(out), std::to_string(distinct) + " shards over " +
                                       std::to_string(devices) + " devices");
  out.status = uneven.empty() ? ShardStatus::kEven : ShardStatus::kUneven;
  out.problem = uneven.empty() ? "" : "not divisible: " + uneven;
  out.shard_bytes = *packed_bytes(shard_elements, dtype_bits);  // <= logical: no overflow
  out.distinct_shards = distinct;
  out.device_count = devices;
  out.replication = devices / distinct;
  return out;
}

std::vector<int64_t> sharding_device_ids(const ShardingMetadata& sharding, bool* ids_known) {
  bool known = true;
  std::vector<int64_t> ids;
  if (const auto* named = std::get_if<NamedShardingMetadata>(&sharding)) {
    if (named->device_mesh) {
      ids = named->device_mesh->device_ids;
    } else {
      known = false;
      const uint64_t n = mesh_devices(named->shape);
      for (uint64_t p = 0; p < n; ++p) ids.push_back(static_cast<int64_t>(p));
    }
  } else if (const auto* single = std::get_if<SingleDeviceShardingMetadata>(&sharding)) {
    ids.push_back(device_id_from_string(single->device_str).value_or(-1));
  } else {
    known = false;
    const uint64_t n = mesh_devices(std::get<PositionalShardingMetadata>(sharding).shape);
    for (uint64_t p = 0; p < n; ++p) ids.push_back(static_cast<int64_t>(p));
  }
  if (ids_known) *ids_known = known;
  return ids;
}

ShardTotals& ShardTotals::operator+=(const ShardTotals& other) {
  arrays += other.arrays;
  logical_bytes += other.logical_bytes;
  placed_bytes += other.placed_bytes;
  held_bytes += other.held_bytes;
  uneven_arrays += other.uneven_arrays;
  invalid_arrays += other.invalid_arrays;
  unsharded_arrays += other.unsharded_arrays;
  unsharded_bytes += other.unsharded_bytes;
  device_ids_known = device_ids_known && other.device_ids_known;
  std::vector<DeviceBytes> merged;
  merged.reserve(devices.size() + other.devices.size());
  auto a = devices.begin();
  auto b = other.devices.begin();
  while (a != devices.end() || b != other.devices.end()) {
    if (b == other.devices.end() || (a != devices.end() && a->device_id < b->device_id))
      merged.push_back(*a++);
    else if (a == devices.end() || b->device_id < a->device_id)
      merged.push_back(*b++);
    else {
      merged.push_back({a->device_id, a->bytes + b->bytes});
      ++a, ++b;
    }
  }
  devices = std::move(merged);
  return *this;
}

double ShardTotals::replication_overhead() const noexcept {
  return placed_bytes == 0 ? 1.0 : static_cast<double>(held_bytes) / static_cast<double>(placed_bytes);
}

std::optional<DeviceBytes> ShardTotals::largest_device() const noexcept {
  if (devices.empty()) return std::nullopt;
  return *std::max_element(devices.begin(), devices.end(),
                           [](const DeviceBytes& a, const DeviceBytes& b) { return a.bytes < b.bytes; });
}

std::optional<DeviceBytes> ShardTotals::smallest_device() const noexcept {
  if (devices.empty()) return std::nullopt;
  return *std::min_element(devices.begin(), devices.end(),
                           [](const DeviceBytes& a, const DeviceBytes& b) { return a.bytes < b.bytes; });
}

// ---- ShardAnalysis ----------------------------------------------------------------

struct ShardAnalysis::Impl {
  static constexpr size_t kUnsharded = SIZE_MAX;
  // The distinct shardings seen (same_placement), by hash_sharding.
  std::vector<ShardingMetadata> shardings;
  std::unordered_map<size_t, std::vector<size_t>> sharding_index;
  // The distinct (sharding, shape, dtype size) seen, each computed once.
  struct Group {
    size_t sharding = kUnsharded;  // into `shardings`
    Shape shape;
    int64_t bits = 0;
    LeafShards shards;
    uint64_t leaves = 0;
  };
  std::deque<Group> groups;  // stable addresses: add() returns pointers into it
  std::unordered_map<size_t, std::vector<size_t>> group_index;

  size_t intern(const ShardingMetadata& sharding) {
    auto& bucket = sharding_index[hash_sharding(sharding)];
    for (size_t i : bucket)
      if (same_placement(shardings[i], sharding)) return i;
    bucket.push_back(shardings.size());
    shardings.push_back(sharding);
    return shardings.size() - 1;
  }
};

ShardAnalysis::ShardAnalysis() : impl_(std::make_unique<Impl>()) {}
ShardAnalysis::~ShardAnalysis() = default;
ShardAnalysis::ShardAnalysis(ShardAnalysis&&) noexcept = default;
ShardAnalysis& ShardAnalysis::operator=(ShardAnalysis&&) noexcept = default;

const LeafShards* ShardAnalysis::add(const Leaf& leaf) {
  const auto* array = std::get_if<ArrayMetadata>(&leaf.metadata);
  if (!array || !array->shape || !array->dtype) return nullptr;
  const auto bits = dtype_bits(*array->dtype);
  if (!bits) return nullptr;

  const size_t sharding = array->sharding ? impl_->intern(*array->sharding) : Impl::kUnsharded;
  size_t h = sharding;
  for (int64_t d : *array->shape) mix(h, static_cast<size_t>(d));
  mix(h, array->shape->size());
  mix(h, static_cast<size_t>(*bits));
  auto& bucket = impl_->group_index[h];
  for (size_t g : bucket) {
    auto& group = impl_->groups[g];
    if (group.sharding == sharding && group.bits == *bits && group.shape == *array->shape) {
      ++group.leaves;
      return &group.shards;
    }
  }
  bucket.push_back(impl_->groups.size());
  auto& group = impl_->groups.emplace_back();
  group.sharding = sharding;
  group.shape = *array->shape;
  group.bits = *bits;
  group.shards = compute_shards(sharding == Impl::kUnsharded ? nullptr : &impl_->shardings[sharding],
                                group.shape, *bits);
  group.leaves = 1;
  return &group.shards;
}

ShardTotals ShardAnalysis::totals() const {
  ShardTotals t;
  // Bytes each device of a sharding holds, summed per distinct sharding first,
  // so devices are visited once per sharding, not once per leaf.
  std::vector<std::optional<uint64_t>> per_sharding(impl_->shardings.size());
  for (const auto& g : impl_->groups) {
    const LeafShards& s = g.shards;
    t.arrays += g.leaves;
    t.logical_bytes += s.logical_bytes * g.leaves;
    switch (s.status) {
      case ShardStatus::kInvalid: t.invalid_arrays += g.leaves; continue;
      case ShardStatus::kUnsharded:
        t.unsharded_arrays += g.leaves;
        t.unsharded_bytes += s.logical_bytes * g.leaves;
        continue;
      case ShardStatus::kUneven: t.uneven_arrays += g.leaves; break;
      case ShardStatus::kEven: break;
    }
    t.placed_bytes += s.logical_bytes * g.leaves;
    t.held_bytes += s.shard_bytes * s.device_count * g.leaves;
    auto& bytes = per_sharding[g.sharding];
    bytes = bytes.value_or(0) + s.shard_bytes * g.leaves;
  }
  std::map<int64_t, uint64_t> devices;
  for (size_t i = 0; i < per_sharding.size(); ++i) {
    if (!per_sharding[i]) continue;  // no array placed by it
    bool known = true;
    for (int64_t id : sharding_device_ids(impl_->shardings[i], &known)) devices[id] += *per_sharding[i];
    t.device_ids_known = t.device_ids_known && known;
  }
  for (const auto& [id, bytes] : devices) t.devices.push_back({id, bytes});
  return t;
}

}  // namespace ckptcat
