// What each device holds: the shards of every array, computed from its shape,
// dtype and sharding metadata alone, with JAX's rules. Pure functions over the
// typed metadata (no catalog, no files).
//
// NamedSharding: array dimension d is split into as many parts as the product
// of the sizes of the mesh axes named by partition-spec entry d (an entry may
// name several axes; None, [] and entries missing at the end do not split).
// Each device of the mesh holds one shard; devices that differ only along the
// mesh axes the spec does not name hold the same shard (the replication
// factor). SingleDeviceSharding: the whole array on its one device.
// PositionalSharding (legacy): dimension d is split into shape[d] parts, one
// device per shard (its replicas are not recorded).
//
// A dimension the split does not divide is reported (status kUneven, and the
// DimSplit says which); its shard size is the rounded-up size, the largest
// shard, which JAX would refuse rather than pad. Bytes count packed elements:
// int4/uint4/float4 are half a byte, int2/uint2 a quarter; a shard's bytes are
// rounded up to a whole byte.
//
//   ckptcat::ShardAnalysis analysis;
//   for (const auto& leaf : item.leaves)
//     if (const ckptcat::LeafShards* s = analysis.add(leaf)) use(s->shard_bytes);
//   ckptcat::ShardTotals totals = analysis.totals();   // per-device bytes
//
// The same figures are in the catalog's `leaf_shards` and `sharding_devices`
// views (schema/views.sql); tests check they agree.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ckptcat/checkpoint.h"
#include "ckptcat/metadata.h"
#include "ckptcat/sharding.h"

namespace ckptcat {

// Bits per element of a NumPy / ml_dtypes dtype name ("bfloat16" 16, "int4" 4,
// "bytes64" 64); nullopt for a name whose size is unknown.
std::optional<int64_t> dtype_bits(std::string_view dtype) noexcept;

// The device id in a SingleDeviceSharding's device_str: the digits ending the
// part before any "(" when a ':' or '_' precedes them ("cpu:0" 0, "TFRT_CPU_3"
// 3, "TPU_5(process=0,(1,0,0,0))" 5); nullopt otherwise.
std::optional<int64_t> device_id_from_string(std::string_view device_str) noexcept;

enum class ShardStatus {
  kEven,       // every split divides its dimension
  kUneven,     // some dimension is not divisible by its split (JAX refuses it)
  kInvalid,    // the sharding cannot apply to the array (see LeafShards::problem)
  kUnsharded,  // the array has no sharding metadata: held by no device
};
const char* to_string(ShardStatus status) noexcept;  // "even", "uneven", "invalid", "unsharded"

struct DimSplit {
  int64_t size = 0;   // the array dimension
  int64_t parts = 1;  // how many pieces the sharding cuts it into
  int64_t shard = 0;  // ceil(size / parts): the largest piece
  bool even() const noexcept { return size % parts == 0; }
};

struct LeafShards {
  ShardStatus status = ShardStatus::kUnsharded;
  std::string problem;         // kInvalid: why; kUneven: which dimensions
  std::vector<DimSplit> dims;  // one per array dimension (empty when kInvalid)
  Shape shard_shape;           // the largest shard (dims[i].shard)
  uint64_t logical_bytes = 0;  // the whole array
  // The figures below are 0 when the status is kInvalid or kUnsharded.
  uint64_t shard_bytes = 0;      // bytes of the largest shard, held by each device
  uint64_t distinct_shards = 0;  // product of the parts
  uint64_t replication = 0;      // devices holding each shard
  uint64_t device_count = 0;     // devices holding a shard: distinct_shards * replication
};

// The figures for one array. `sharding` null: kUnsharded. Sizes whose
// products overflow 64 bits make the result kInvalid (never a wrong figure).
LeafShards compute_shards(const ShardingMetadata* sharding, const Shape& shape, int64_t dtype_bits);

// The device ids a sharding places one shard on each of, in mesh order:
// NamedSharding's device_mesh ids, or positions 0..n-1 when the mesh has no
// device_mesh (saved before 2024-09) and for PositionalSharding (`ids_known`
// false then); a single device's id, or -1 when its name holds none.
std::vector<int64_t> sharding_device_ids(const ShardingMetadata& sharding, bool* ids_known);

struct DeviceBytes {
  int64_t device_id = 0;  // -1: a single device whose id its name does not give
  uint64_t bytes = 0;
  bool operator==(const DeviceBytes&) const = default;
};

// Sums over many leaves (an item, a checkpoint).
struct ShardTotals {
  uint64_t arrays = 0;          // arrays with a known shape and dtype size
  uint64_t logical_bytes = 0;   // their bytes, once each
  uint64_t placed_bytes = 0;    // logical bytes of the arrays placed on devices
  uint64_t held_bytes = 0;      // bytes over all devices, replicas included
  uint64_t uneven_arrays = 0;   // counted on devices with their largest shards
  uint64_t invalid_arrays = 0;  // on no device
  uint64_t unsharded_arrays = 0;
  uint64_t unsharded_bytes = 0;
  bool device_ids_known = true;       // false: some mesh positions stand in for ids
  std::vector<DeviceBytes> devices;   // by device id

  // Adds the sums of other leaves (an item's to its checkpoint's), devices
  // by id: the same as analysing all the leaves together.
  ShardTotals& operator+=(const ShardTotals& other);
  // held_bytes / placed_bytes (1.0 when nothing is placed).
  double replication_overhead() const noexcept;
  std::optional<DeviceBytes> largest_device() const noexcept;   // lowest id among ties
  std::optional<DeviceBytes> smallest_device() const noexcept;
};

// Computes each distinct (sharding, shape, dtype) once and sums per device:
// cost O(leaves) hash lookups (a leaf's sharding is hashed in time independent
// of its device count, then compared exactly with the one stored) plus
// O(distinct groups) computations plus O(distinct shardings x devices) for the
// per-device sums. Owns what it has computed (LeafShards pointers it returns
// stay valid while it lives). Not thread-safe; never throws for leaves it
// cannot place (they are reported in their LeafShards).
class ShardAnalysis {
 public:
  ShardAnalysis();
  ~ShardAnalysis();
  ShardAnalysis(ShardAnalysis&&) noexcept;
  ShardAnalysis& operator=(ShardAnalysis&&) noexcept;

  // Adds an array leaf and returns its figures (owned by this analysis);
  // nullptr, adding nothing, for leaves that are not arrays with a known
  // shape and a dtype of known size.
  const LeafShards* add(const Leaf& leaf);
  ShardTotals totals() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ckptcat
