// Shards by JAX's rules (ckptcat/shards.h), every figure computed by hand:
// each partition-spec form, scalars, replicated and uneven arrays, a 4,096-
// device mesh, single-device and positional shardings, packed int4 bytes, and
// per-device totals of an item mixing them.
#include <doctest/doctest.h>

#include <algorithm>
#include <numeric>

#include "ckptcat/shards.h"

using namespace ckptcat;

namespace {

using Spec = std::vector<PartitionSpecEntry>;
using Axes = std::vector<std::string>;

NamedShardingMetadata mesh(std::vector<int64_t> shape, std::vector<std::string> names, Spec spec,
                           std::optional<std::vector<int64_t>> ids = std::nullopt) {
  NamedShardingMetadata s;
  s.shape = std::move(shape);
  s.axis_names = std::move(names);
  s.partition_spec = std::move(spec);
  if (!ids) {
    ids.emplace(static_cast<size_t>(std::accumulate(s.shape.begin(), s.shape.end(), int64_t{1},
                                                    std::multiplies<>())));
    std::iota(ids->begin(), ids->end(), 0);
  }
  s.device_mesh = DeviceMesh{*ids};
  return s;
}

// A (data=2, model=4) mesh over devices 0..7.
ShardingMetadata dm(Spec spec) { return mesh({2, 4}, {"data", "model"}, std::move(spec)); }

LeafShards shards(const ShardingMetadata& s, const Shape& shape, const char* dtype) {
  return compute_shards(&s, shape, *dtype_bits(dtype));
}

void check(const LeafShards& r, ShardStatus status, const Shape& shard_shape, uint64_t shard_bytes,
           uint64_t distinct, uint64_t replication, uint64_t devices) {
  CHECK(r.status == status);
  CHECK(r.shard_shape == shard_shape);
  CHECK(r.shard_bytes == shard_bytes);
  CHECK(r.distinct_shards == distinct);
  CHECK(r.replication == replication);
  CHECK(r.device_count == devices);
  CHECK(r.device_count == r.distinct_shards * r.replication);
}

Leaf array_leaf(std::string name, Shape shape, std::string dtype,
                std::optional<ShardingMetadata> sharding) {
  Leaf leaf;
  leaf.name = name;
  leaf.kind = LeafKind::kArray;
  leaf.value_type = "jax.Array";
  ArrayMetadata a;
  a.name = std::move(name);
  a.shape = std::move(shape);
  a.dtype = std::move(dtype);
  a.sharding = std::move(sharding);
  leaf.metadata = std::move(a);
  return leaf;
}

}  // namespace

TEST_CASE("dtype sizes in bits; int4 and uint4 are half a byte") {
  CHECK(dtype_bits("float32") == 32);
  CHECK(dtype_bits("bfloat16") == 16);
  CHECK(dtype_bits("bool") == 8);
  CHECK(dtype_bits("float8_e4m3fn") == 8);
  CHECK(dtype_bits("complex128") == 128);
  CHECK(dtype_bits("complex64") == 64);
  CHECK(dtype_bits("int4") == 4);
  CHECK(dtype_bits("uint4") == 4);
  CHECK(dtype_bits("float4_e2m1fn") == 4);
  CHECK(dtype_bits("int2") == 2);
  CHECK(dtype_bits("bytes64") == 64);
  CHECK(dtype_bits("void8") == 8);
  CHECK_FALSE(dtype_bits("object"));
  CHECK_FALSE(dtype_bits("bytes"));
  CHECK_FALSE(dtype_bits("bytes0"));
  CHECK_FALSE(dtype_bits("bytes8x"));
  CHECK_FALSE(dtype_bits("bytes9999999999999999999"));
}

TEST_CASE("device ids from device strings") {
  CHECK(device_id_from_string("cpu:0") == 0);
  CHECK(device_id_from_string("rocm:0") == 0);
  CHECK(device_id_from_string("cuda:12") == 12);
  CHECK(device_id_from_string("TFRT_CPU_3") == 3);
  CHECK(device_id_from_string("TPU_5(process=0,(1,0,0,0))") == 5);
  CHECK_FALSE(device_id_from_string("cpu"));
  CHECK_FALSE(device_id_from_string("7"));
  CHECK_FALSE(device_id_from_string("cpu:"));
  CHECK_FALSE(device_id_from_string("gpu7"));
  CHECK_FALSE(device_id_from_string(""));
}

TEST_CASE("NamedSharding: each spec form") {
  SUBCASE("None: the dimension is not split; replicated over the whole mesh") {
    check(shards(dm({std::monostate{}}), {8, 16}, "float32"), ShardStatus::kEven, {8, 16}, 512, 1, 8, 8);
  }
  SUBCASE("one axis, spec shorter than the rank") {
    check(shards(dm({"data"}), {8, 16}, "float32"), ShardStatus::kEven, {4, 16}, 256, 2, 4, 8);
    check(shards(dm({std::monostate{}, "model"}), {8, 16}, "float32"), ShardStatus::kEven, {8, 4},
          128, 4, 2, 8);
  }
  SUBCASE("an axis per dimension: no replication") {
    check(shards(dm({"model", "data"}), {8, 16}, "float32"), ShardStatus::kEven, {2, 8}, 64, 8, 1, 8);
  }
  SUBCASE("several axes in one entry split by their product") {
    check(shards(dm({Axes{"data", "model"}, std::monostate{}}), {16, 3}, "float32"),
          ShardStatus::kEven, {2, 3}, 24, 8, 1, 8);
    // ["data"] splits like "data"; [] like None.
    check(shards(dm({Axes{"data"}}), {8, 16}, "float32"), ShardStatus::kEven, {4, 16}, 256, 2, 4, 8);
    check(shards(dm({Axes{}, Axes{}}), {8, 16}, "float32"), ShardStatus::kEven, {8, 16}, 512, 1, 8, 8);
  }
  SUBCASE("scalars and replicated arrays: P()") {
    const auto scalar = shards(dm({}), {}, "int32");
    check(scalar, ShardStatus::kEven, {}, 4, 1, 8, 8);
    CHECK(scalar.logical_bytes == 4);
    check(shards(dm({}), {3, 5}, "bfloat16"), ShardStatus::kEven, {3, 5}, 30, 1, 8, 8);
  }
  SUBCASE("uneven: reported, with the largest shard") {
    const auto r = shards(dm({"model"}), {10}, "float32");
    check(r, ShardStatus::kUneven, {3}, 12, 4, 2, 8);
    CHECK(r.problem == "not divisible: dimension 0: 10 into 4");
    REQUIRE(r.dims.size() == 1);
    CHECK_FALSE(r.dims[0].even());
    CHECK(r.logical_bytes == 40);
    const auto two = shards(dm({"data", Axes{"model"}}), {3, 6}, "float32");
    CHECK(two.status == ShardStatus::kUneven);
    CHECK(two.problem == "not divisible: dimension 0: 3 into 2, dimension 1: 6 into 4");
    CHECK(two.shard_shape == Shape{2, 2});
  }
  SUBCASE("a sharding that cannot apply is invalid, never guessed") {
    const auto unknown = shards(dm({"expert"}), {8}, "float32");
    CHECK(unknown.status == ShardStatus::kInvalid);
    CHECK(unknown.problem.find("'expert'") != std::string::npos);
    CHECK(unknown.shard_bytes == 0);
    CHECK(unknown.logical_bytes == 32);
    CHECK(shards(dm({"data", "data"}), {8, 8}, "float32").status == ShardStatus::kInvalid);
    CHECK(shards(dm({Axes{"model", "model"}}), {8}, "float32").status == ShardStatus::kInvalid);
    const auto longer = shards(dm({"data", "model"}), {8}, "float32");
    CHECK(longer.status == ShardStatus::kInvalid);
    CHECK(longer.problem == "partition spec has 2 entries for an array of rank 1");
    CHECK(shards(mesh({0}, {"x"}, {}), {8}, "float32").status == ShardStatus::kInvalid);
  }
  SUBCASE("int4 counts half a byte; shards round up to a whole byte") {
    const auto r = shards(dm({"model"}), {8}, "int4");
    check(r, ShardStatus::kEven, {2}, 1, 4, 2, 8);
    CHECK(r.logical_bytes == 4);
    check(shards(dm({"data"}), {6}, "uint4"), ShardStatus::kEven, {3}, 2, 2, 4, 8);
  }
}

TEST_CASE("a 4,096-device mesh") {
  std::vector<int64_t> ids(4096);
  std::iota(ids.begin(), ids.end(), 0);
  std::reverse(ids.begin(), ids.end());
  const ShardingMetadata pod = mesh({16, 16, 16}, {"x", "y", "z"}, {Axes{"x", "y"}, "z"}, ids);
  check(shards(pod, {4096, 1024}, "bfloat16"), ShardStatus::kEven, {16, 64}, 2048, 4096, 1, 4096);
  const ShardingMetadata rows = mesh({16, 16, 16}, {"x", "y", "z"}, {"x", std::monostate{}}, ids);
  check(shards(rows, {1024, 1024}, "float32"), ShardStatus::kEven, {64, 1024}, 262144, 16, 256, 4096);
  bool known = false;
  const auto devices = sharding_device_ids(pod, &known);
  CHECK(known);
  CHECK(devices.size() == 4096);
  CHECK(devices.front() == 4095);
}

TEST_CASE("SingleDeviceSharding, PositionalSharding, no sharding") {
  const ShardingMetadata single = SingleDeviceShardingMetadata{"cuda:3"};
  check(shards(single, {5, 7}, "float64"), ShardStatus::kEven, {5, 7}, 280, 1, 1, 1);
  bool known = false;
  CHECK(sharding_device_ids(single, &known) == std::vector<int64_t>{3});
  CHECK(known);
  CHECK(sharding_device_ids(ShardingMetadata{SingleDeviceShardingMetadata{"weird"}}, &known) ==
        std::vector<int64_t>{-1});

  const ShardingMetadata positional = PositionalShardingMetadata{{2, 1}, std::nullopt};
  check(shards(positional, {8, 4}, "float32"), ShardStatus::kEven, {4, 4}, 64, 2, 1, 2);
  CHECK(sharding_device_ids(positional, &known) == std::vector<int64_t>{0, 1});
  CHECK_FALSE(known);
  CHECK(shards(positional, {8}, "float32").status == ShardStatus::kInvalid);
  CHECK(shards(ShardingMetadata{PositionalShardingMetadata{{0}, std::nullopt}}, {8}, "float32")
            .status == ShardStatus::kInvalid);

  const auto none = compute_shards(nullptr, {5}, 32);
  CHECK(none.status == ShardStatus::kUnsharded);
  CHECK(none.logical_bytes == 20);
  CHECK(none.shard_bytes == 0);

  const auto huge = compute_shards(&single, {int64_t{1} << 40, int64_t{1} << 40}, 32);
  CHECK(huge.status == ShardStatus::kInvalid);
}

TEST_CASE("per-device totals of an item: shared shardings, single devices, replicas") {
  ShardAnalysis analysis;
  const ShardingMetadata both = dm({"data", "model"});
  std::vector<Leaf> leaves;
  leaves.push_back(array_leaf("a", {8, 16}, "float32", both));       // 64 B on 0..7
  leaves.push_back(array_leaf("a2", {8, 16}, "float32", both));      // 64 B on 0..7
  leaves.push_back(array_leaf("b", {4}, "float32", dm({std::monostate{}})));  // 16 B on 0..7
  leaves.push_back(array_leaf("c", {10}, "float32", SingleDeviceShardingMetadata{"cpu:0"}));  // 40 on 0
  leaves.push_back(array_leaf("d", {2}, "float64", SingleDeviceShardingMetadata{"cpu:9"}));   // 16 on 9
  leaves.push_back(array_leaf("e", {5}, "float32", std::nullopt));   // 20 B on no device
  leaves.push_back(array_leaf("f", {10}, "float32", dm({"model"})));  // uneven: 12 B on 0..7
  leaves.push_back(array_leaf("g", {4}, "float32", dm({"nope"})));    // invalid
  std::vector<const LeafShards*> results;
  for (const auto& l : leaves) results.push_back(analysis.add(l));
  CHECK(results[0] == results[1]);  // computed once per (sharding, shape, dtype)
  CHECK(results[0] != results[2]);

  Leaf scalar;
  scalar.kind = LeafKind::kScalar;
  scalar.metadata = ScalarMetadata{"s", "", "int64"};
  CHECK(analysis.add(scalar) == nullptr);
  CHECK(analysis.add(array_leaf("unknown", {4}, "object", both)) == nullptr);

  const ShardTotals t = analysis.totals();
  CHECK(t.arrays == 8);
  CHECK(t.logical_bytes == 512 + 512 + 16 + 40 + 16 + 20 + 40 + 16);
  CHECK(t.placed_bytes == 512 + 512 + 16 + 40 + 16 + 40);
  CHECK(t.held_bytes == 512 + 512 + 128 + 40 + 16 + 96);
  CHECK(t.unsharded_arrays == 1);
  CHECK(t.unsharded_bytes == 20);
  CHECK(t.uneven_arrays == 1);
  CHECK(t.invalid_arrays == 1);
  CHECK(t.device_ids_known);
  std::vector<DeviceBytes> expected = {{0, 196}};
  for (int64_t d = 1; d < 8; ++d) expected.push_back({d, 156});
  expected.push_back({9, 16});
  CHECK(t.devices == expected);
  CHECK(t.largest_device() == DeviceBytes{0, 196});
  CHECK(t.smallest_device() == DeviceBytes{9, 16});
  CHECK(t.replication_overhead() == doctest::Approx(1304.0 / 1136.0));
}

TEST_CASE("meshes without device ids use positions") {
  ShardAnalysis analysis;
  NamedShardingMetadata old = mesh({2}, {"x"}, {"x"});
  old.device_mesh.reset();
  const auto leaf = array_leaf("w", {4}, "float32", ShardingMetadata{old});
  analysis.add(leaf);
  const auto t = analysis.totals();
  CHECK_FALSE(t.device_ids_known);
  CHECK(t.devices == std::vector<DeviceBytes>{{0, 8}, {1, 8}});
  CHECK(ShardTotals{}.replication_overhead() == 1.0);
  CHECK_FALSE(ShardTotals{}.largest_device());
}

TEST_CASE("the totals of two parts add up to the totals of the whole") {
  NamedShardingMetadata old = mesh({2}, {"x"}, {"x"});
  old.device_mesh.reset();
  std::vector<Leaf> leaves;
  leaves.push_back(array_leaf("a", {8, 16}, "float32", dm({"data", "model"})));
  leaves.push_back(array_leaf("b", {4}, "float32", dm({std::monostate{}})));
  leaves.push_back(array_leaf("c", {10}, "float32", SingleDeviceShardingMetadata{"cpu:0"}));
  leaves.push_back(array_leaf("d", {2}, "float64", SingleDeviceShardingMetadata{"cpu:9"}));
  leaves.push_back(array_leaf("e", {5}, "float32", std::nullopt));
  leaves.push_back(array_leaf("f", {10}, "float32", dm({"model"})));
  leaves.push_back(array_leaf("g", {4}, "float32", dm({"nope"})));
  leaves.push_back(array_leaf("h", {4}, "float32", ShardingMetadata{old}));
  leaves.push_back(array_leaf("i", {8, 16}, "float32", dm({"data", "model"})));
  ShardAnalysis whole, odd, even;
  for (size_t i = 0; i < leaves.size(); ++i) {
    whole.add(leaves[i]);
    (i % 2 ? odd : even).add(leaves[i]);
  }
  const ShardTotals expected = whole.totals();
  ShardTotals sum = odd.totals();
  sum += even.totals();
  CHECK(sum.arrays == expected.arrays);
  CHECK(sum.logical_bytes == expected.logical_bytes);
  CHECK(sum.placed_bytes == expected.placed_bytes);
  CHECK(sum.held_bytes == expected.held_bytes);
  CHECK(sum.uneven_arrays == expected.uneven_arrays);
  CHECK(sum.invalid_arrays == expected.invalid_arrays);
  CHECK(sum.unsharded_arrays == expected.unsharded_arrays);
  CHECK(sum.unsharded_bytes == expected.unsharded_bytes);
  CHECK(sum.device_ids_known == expected.device_ids_known);
  CHECK_FALSE(sum.device_ids_known);
  CHECK(sum.devices == expected.devices);
  CHECK(sum.devices.size() == 9);  // 0..7 and 9
  ShardTotals none;
  none += expected;
  CHECK(none.devices == expected.devices);
}

TEST_CASE("4,096-device meshes that differ in one device id are told apart") {
  std::vector<int64_t> ids(4096);
  std::iota(ids.begin(), ids.end(), 0);
  std::vector<int64_t> moved = ids;
  moved[5] = 5000;  // not among the ids hashed: only the exact comparison sees it
  ShardAnalysis analysis;
  const auto spec = Spec{Axes{"x", "y"}, "z"};
  const Leaf a = array_leaf("a", {4096, 1024}, "bfloat16", mesh({16, 16, 16}, {"x", "y", "z"}, spec, ids));
  const Leaf b = array_leaf("b", {4096, 1024}, "bfloat16", mesh({16, 16, 16}, {"x", "y", "z"}, spec, moved));
  const Leaf a2 = array_leaf("a2", {4096, 1024}, "bfloat16", mesh({16, 16, 16}, {"x", "y", "z"}, spec, ids));
  const LeafShards* sa = analysis.add(a);
  const LeafShards* sb = analysis.add(b);
  CHECK(sa != sb);
  CHECK(analysis.add(a2) == sa);
  const ShardTotals t = analysis.totals();
  REQUIRE(t.devices.size() == 4097);
  CHECK(t.devices[0] == DeviceBytes{0, 3 * 2048});
  CHECK(t.devices[5] == DeviceBytes{5, 2 * 2048});
  CHECK(t.devices.back() == DeviceBytes{5000, 2048});
}
