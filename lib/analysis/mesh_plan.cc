// Placing a checkpoint's arrays on another mesh (see mesh_plan.h).
#include "ckptcat/mesh_plan.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <stdexcept>
#include <unordered_map>

namespace ckptcat {
namespace {

constexpr uint64_t kMaxDevices = uint64_t{1} << 31;

enum class Placement { kMesh, kSingleDevice, kReplicated };

// What decides an array's placement on the target, as a short key: the
// partition spec (named), the device id (single device) or nothing; then the
// shape and dtype size. Never touches a mesh's device list.
std::string placement_key(const ArrayMetadata& array, int64_t bits) {
  std::string key;
  if (!array.sharding) {
    key = "r";
  } else if (const auto* named = std::get_if<NamedShardingMetadata>(&*array.sharding)) {
    key = "n";
    for (const auto& entry : named->partition_spec) {
      if (const auto* axis = std::get_if<std::string>(&entry)) key += "s" + *axis;
      else if (const auto* axes = std::get_if<std::vector<std::string>>(&entry)) {
        key += "l";
        for (const auto& a : *axes) key += a + '\x1f';
      } else {
        key += "0";
      }
      key += '\x1e';
    }
  } else if (const auto* single = std::get_if<SingleDeviceShardingMetadata>(&*array.sharding)) {
    key = "d" + std::to_string(device_id_from_string(single->device_str).value_or(0));
  } else {
    key = "r";
  }
  key += '|';
  for (int64_t d : *array.shape) key += std::to_string(d) + ',';
  key += '|' + std::to_string(bits);
  return key;
}

struct Group {
  Placement placement = Placement::kReplicated;
  int64_t device = 0;  // kSingleDevice
  LeafShards shards;
  std::vector<std::string> missing;  // axes of the spec the target lacks
  uint64_t bytes_per_device = 0;     // on each device holding it
};

Group place(const ArrayMetadata& array, int64_t bits, const NamedShardingMetadata& target) {
  Group g;
  const Shape& shape = *array.shape;
  const auto* named = array.sharding ? std::get_if<NamedShardingMetadata>(&*array.sharding) : nullptr;
  const auto* single =
      array.sharding ? std::get_if<SingleDeviceShardingMetadata>(&*array.sharding) : nullptr;
  if (named) {
    g.placement = Placement::kMesh;
    // The same spec with the axes the target lacks taken out, edited in place.
    NamedShardingMetadata on_target = target;
    on_target.partition_spec = named->partition_spec;
    auto lacks = [&](const std::string& axis) {
      if (std::find(target.axis_names.begin(), target.axis_names.end(), axis) != target.axis_names.end())
        return false;
      if (std::find(g.missing.begin(), g.missing.end(), axis) == g.missing.end()) g.missing.push_back(axis);
      return true;
    };
    for (auto& entry : on_target.partition_spec) {
      if (const auto* axis = std::get_if<std::string>(&entry)) {
        if (lacks(*axis)) entry = std::monostate{};
      } else if (auto* axes = std::get_if<std::vector<std::string>>(&entry)) {
        axes->erase(std::remove_if(axes->begin(), axes->end(), lacks), axes->end());
      }
    }
    const ShardingMetadata sharding = std::move(on_target);
    g.shards = compute_shards(&sharding, shape, bits);
  } else if (single) {
    g.placement = Placement::kSingleDevice;
    const int64_t id = device_id_from_string(single->device_str).value_or(0);
    const ShardingMetadata sharding = SingleDeviceShardingMetadata{single->device_str};
    g.shards = compute_shards(&sharding, shape, bits);
    uint64_t devices = 1;
    for (int64_t s : target.shape) devices *= static_cast<uint64_t>(s);
    g.device = static_cast<uint64_t>(id) < devices ? id : 0;
  } else {
    g.placement = Placement::kReplicated;
    const ShardingMetadata sharding = NamedShardingMetadata{target.shape, target.axis_names, {}, {}, {}};
    g.shards = compute_shards(&sharding, shape, bits);
  }
  const bool placed = g.shards.status == ShardStatus::kEven || g.shards.status == ShardStatus::kUneven;
  g.bytes_per_device = placed ? g.shards.shard_bytes : 0;
  return g;
}

}  // namespace

std::vector<MeshAxis> parse_mesh(std::string_view text) {
  std::vector<MeshAxis> mesh;
  uint64_t devices = 1;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t end = std::min(text.find(',', start), text.size());
    const std::string_view part = text.substr(start, end - start);
    const size_t eq = part.find('=');
    if (eq == std::string_view::npos || eq == 0)
      throw std::invalid_argument("mesh axis '" + std::string(part) + "' is not AXIS=N");
    MeshAxis axis{std::string(part.substr(0, eq)), 0};
    const std::string_view number = part.substr(eq + 1);
    const auto r = std::from_chars(number.data(), number.data() + number.size(), axis.size);
    if (r.ec != std::errc() || r.ptr != number.data() + number.size() || axis.size < 1)
      throw std::invalid_argument("mesh axis '" + axis.name + "' needs a size >= 1, not '" +
                                  std::string(number) + "'");
    for (const auto& a : mesh)
      if (a.name == axis.name) throw std::invalid_argument("mesh axis '" + axis.name + "' given twice");
    if (__builtin_mul_overflow(devices, static_cast<uint64_t>(axis.size), &devices) ||
        devices > kMaxDevices)
      throw std::invalid_argument("mesh has more than 2^31 devices");
    mesh.push_back(std::move(axis));
    start = end + 1;
  }
  return mesh;
}

MeshPlan plan_on_mesh(const std::vector<const ItemMetadata*>& items,
                      const std::vector<MeshAxis>& mesh, size_t top_count) {
  MeshPlan plan;
  plan.mesh = mesh;
  NamedShardingMetadata target;
  plan.device_count = 1;
  for (const auto& a : mesh) {
    target.shape.push_back(a.size);
    target.axis_names.push_back(a.name);
    plan.device_count *= static_cast<uint64_t>(a.size);
  }

  struct Use {
    const ItemMetadata* item;
    const Leaf* leaf;
    const Group* group;
  };
  std::unordered_map<std::string, Group> groups;
  std::vector<Use> uses;
  std::map<std::string, uint64_t> missing;
  std::map<int64_t, uint64_t> single_bytes;
  for (const ItemMetadata* item : items)
    for (const Leaf& leaf : item->leaves) {
      const auto* array = std::get_if<ArrayMetadata>(&leaf.metadata);
      if (!array || !array->shape || !array->dtype) continue;
      const auto bits = dtype_bits(*array->dtype);
      if (!bits) continue;
      auto [it, inserted] = groups.try_emplace(placement_key(*array, *bits));
      if (inserted) it->second = place(*array, *bits, target);
      const Group& g = it->second;
      uses.push_back({item, &leaf, &g});
      ++plan.arrays;
      plan.logical_bytes += g.shards.logical_bytes;
      for (const auto& axis : g.missing) ++missing[axis];
      switch (g.placement) {
        case Placement::kSingleDevice: single_bytes[g.device] += g.bytes_per_device; break;
        case Placement::kReplicated: ++plan.replicated_arrays; [[fallthrough]];
        case Placement::kMesh: plan.every_device_bytes += g.bytes_per_device; break;
      }
    }
  plan.missing_axes.assign(missing.begin(), missing.end());

  // The largest device: every device's share plus the most single-device
  // bytes; the smallest: a device without single-device arrays, if any.
  plan.largest = {0, plan.every_device_bytes};
  for (const auto& [id, bytes] : single_bytes)
    if (plan.every_device_bytes + bytes > plan.largest.bytes) plan.largest = {id, plan.every_device_bytes + bytes};
  plan.smallest = plan.largest;
  for (int64_t id = 0; static_cast<uint64_t>(id) < plan.device_count; ++id) {
    const auto it = single_bytes.find(id);
    const uint64_t bytes = plan.every_device_bytes + (it == single_bytes.end() ? 0 : it->second);
    if (bytes < plan.smallest.bytes) plan.smallest = {id, bytes};
    if (it == single_bytes.end()) break;  // later devices without arrays of their own: the same
  }

  // What a leaf adds to the largest device.
  auto bytes_of = [&](const Use* u) {
    return u->group->placement != Placement::kSingleDevice || u->group->device == plan.largest.device_id
               ? u->group->bytes_per_device
               : 0;
  };
  auto planned = [&](const Use& u) {
    const auto& array = std::get<ArrayMetadata>(u.leaf->metadata);
    return PlannedLeaf{u.item->name, u.leaf->name, *array.shape, *array.dtype, u.group->shards, bytes_of(&u)};
  };
  std::vector<const Use*> contributors;
  for (const Use& u : uses) {
    if (u.group->shards.status == ShardStatus::kUneven) plan.not_divisible.push_back(planned(u));
    if (u.group->shards.status == ShardStatus::kInvalid) plan.invalid.push_back(planned(u));
    contributors.push_back(&u);
  }
  const size_t n = std::min(top_count, contributors.size());
  std::partial_sort(contributors.begin(), contributors.begin() + static_cast<std::ptrdiff_t>(n),
                    contributors.end(), [&](const Use* a, const Use* b) {
                      const uint64_t x = bytes_of(a), y = bytes_of(b);
                      return x != y ? x > y : a < b;  // ties in leaf order
                    });
  for (size_t i = 0; i < n && bytes_of(contributors[i]) > 0; ++i) plan.top.push_back(planned(*contributors[i]));
  return plan;
}

}  // namespace ckptcat
