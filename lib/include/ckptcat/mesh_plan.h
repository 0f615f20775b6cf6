// Will a checkpoint fit on another mesh? Places every array of some items on
// a target mesh given by axis names and sizes, keeping each array's partition
// spec by axis name, and reports what does not divide, what the target lacks
// and the bytes each device would hold. Pure computation over typed metadata.
//
// Placement on the target (device ids 0..n-1 in mesh order):
//  - NamedSharding: the same partition spec on the target mesh. Axes the
//    target lacks are reported (missing_axes) and split nothing.
//  - SingleDeviceSharding: the whole array on one device, its own id when
//    the target has it, else device 0.
//  - PositionalSharding, or no sharding: no axis names to keep; counted
//    replicated on every device (an upper bound), and counted.
//
//   std::vector<ckptcat::MeshAxis> mesh = ckptcat::parse_mesh("data=4,model=8");
//   ckptcat::MeshPlan plan = ckptcat::plan_on_mesh({&item}, mesh, 10);
//   if (!plan.divides() || !plan.fits(16ull << 30)) ...
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ckptcat/checkpoint.h"
#include "ckptcat/shards.h"

namespace ckptcat {

struct MeshAxis {
  std::string name;
  int64_t size = 1;
  bool operator==(const MeshAxis&) const = default;
};

// Parses "AXIS=N,AXIS=N...": names unique and non-empty, sizes >= 1, at most
// 2^31 devices in all. Throws std::invalid_argument saying what is wrong.
std::vector<MeshAxis> parse_mesh(std::string_view text);

// An array as placed on the target.
struct PlannedLeaf {
  std::string item;
  std::string name;
  Shape shape;
  std::string dtype;
  LeafShards shards;       // on the target mesh (single-device: one shard)
  uint64_t bytes_on_largest = 0;  // what it adds to the largest device
};

struct MeshPlan {
  std::vector<MeshAxis> mesh;
  uint64_t device_count = 0;
  uint64_t arrays = 0;         // arrays with a known shape and dtype size
  uint64_t logical_bytes = 0;
  // Axes the checkpoint's partition specs name that the target lacks, sorted,
  // with how many arrays name each.
  std::vector<std::pair<std::string, uint64_t>> missing_axes;
  std::vector<PlannedLeaf> not_divisible;  // uneven on the target, in item/leaf order
  std::vector<PlannedLeaf> invalid;        // specs that cannot apply (e.g. longer than the rank)
  uint64_t replicated_arrays = 0;          // positional or unsharded: counted on every device
  uint64_t every_device_bytes = 0;         // what every device holds
  DeviceBytes largest;                     // lowest id among ties
  DeviceBytes smallest;
  std::vector<PlannedLeaf> top;            // largest contributors to the largest device

  // Everything divides, no axis is missing, nothing is invalid, and (when a
  // memory size is given) the largest device holds at most that many bytes.
  bool divides() const noexcept {
    return missing_axes.empty() && not_divisible.empty() && invalid.empty();
  }
  bool fits(uint64_t device_memory) const noexcept { return largest.bytes <= device_memory; }
};

// Cost: one small key per leaf; each distinct (spec, shape, dtype) computed once.
MeshPlan plan_on_mesh(const std::vector<const ItemMetadata*>& items,
                      const std::vector<MeshAxis>& mesh, size_t top_count);

}  // namespace ckptcat
