#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "ckptcat/sharding.h"

using namespace ckptcat;

static std::string roundtrip(const std::string& s) {
  return to_serialized_string(sharding_from_serialized_string(s));
}

TEST_CASE("serialized strings round-trip byte for byte") {
  const char* cases[] = {
      R"({"sharding_type": "SingleDeviceSharding", "device_str": "cpu:0"})",
      R"({"sharding_type": "NamedSharding", "shape": [1], "axis_names": ["x"], "partition_spec": [null]})",
      R"({"sharding_type": "NamedSharding", "shape": [2, 4], "axis_names": ["data", "model"], "axis_types": ["AxisType.Auto", "AxisType.Auto"], "partition_spec": [["data", "model"], null], "device_mesh": {"mesh": [[{"id": 0}, {"id": 1}, {"id": 2}, {"id": 3}], [{"id": 4}, {"id": 5}, {"id": 6}, {"id": 7}]]}})",
      R"({"sharding_type": "NamedSharding", "shape": [], "axis_names": [], "partition_spec": [], "device_mesh": {"mesh": {"id": 5}}})",
      R"({"sharding_type": "PositionalSharding", "shape": [1, 2]})",
      R"({"sharding_type": "PositionalSharding", "shape": [4, 1], "memory_kind": "device"})",
      R"({"sharding_type": "NamedSharding", "shape": [2], "axis_names": ["donn\u00e9es"], "partition_spec": ["donn\u00e9es"]})",
  };
  for (const char* c : cases) CHECK(roundtrip(c) == c);
}

TEST_CASE("partition spec keeps None, \"x\" and [\"x\"] distinct") {
  auto s = sharding_from_serialized_string(
      R"({"sharding_type": "NamedSharding", "shape": [8], "axis_names": ["x"], "partition_spec": [null, "x", ["x"]]})");
  const auto& named = std::get<NamedShardingMetadata>(s);
  REQUIRE(named.partition_spec.size() == 3);
  CHECK(std::holds_alternative<std::monostate>(named.partition_spec[0]));
  CHECK(std::get<std::string>(named.partition_spec[1]) == "x");
  CHECK(std::get<std::vector<std::string>>(named.partition_spec[2]) ==
        std::vector<std::string>{"x"});
  NamedShardingMetadata other = named;
  other.partition_spec[1] = std::vector<std::string>{"x"};
  CHECK_FALSE(named == other);
  CHECK(sharding_summary(s) == "mesh(x=8) P(None, 'x', ('x',))");
}

TEST_CASE("device mesh nesting and size must match the mesh shape") {
  auto bad = [](const char* s) {
    CHECK_THROWS_AS(sharding_from_serialized_string(s), ShardingError);
  };
  bad(R"({"sharding_type": "NamedSharding", "shape": [2, 2], "axis_names": ["a", "b"], "partition_spec": [], "device_mesh": {"mesh": [[{"id": 0}]]}})");
  bad(R"({"sharding_type": "NamedSharding", "shape": [2], "axis_names": ["a"], "partition_spec": [], "device_mesh": {"mesh": [[{"id": 0}], [{"id": 1}]]}})");
  bad(R"({"sharding_type": "NamedSharding", "shape": [2], "axis_names": ["a"], "partition_spec": [], "device_mesh": {"mesh": [{"id": 0}, {"x": 1}]}})");
  bad(R"({"sharding_type": "NamedSharding", "shape": [2], "axis_names": ["a", "b"], "partition_spec": []})");
  bad(R"({"sharding_type": "NamedSharding", "shape": [2], "axis_names": ["a"], "axis_types": [], "partition_spec": []})");
  bad(R"({"sharding_type": "NamedSharding", "shape": [-2], "axis_names": ["a"], "partition_spec": []})");
  bad(R"({"sharding_type": "NamedSharding", "shape": [2], "axis_names": ["a"], "partition_spec": [3]})");
  bad(R"({"sharding_type": "NamedSharding", "shape": [2], "axis_names": ["a"], "partition_spec": [[null]]})");
}

TEST_CASE("errors quote the offending part") {
  try {
    sharding_from_serialized_string(R"({"sharding_type": "GSPMDSharding"})");
    FAIL("expected an error");
  } catch (const ShardingError& e) {
    CHECK(std::string(e.what()).find("GSPMDSharding") != std::string::npos);
  }
  try {
    sharding_from_serialized_string(R"({"sharding_type": )");
    FAIL("expected an error");
  } catch (const ShardingError& e) {
    CHECK(std::string(e.what()).find("not valid JSON") != std::string::npos);
  }
  CHECK_THROWS_AS(sharding_from_serialized_string("[]"), ShardingError);
  CHECK_THROWS_AS(sharding_from_serialized_string("{}"), ShardingError);
  CHECK_THROWS_AS(sharding_from_serialized_string(R"({"sharding_type": 3})"), ShardingError);
  CHECK_THROWS_AS(
      sharding_from_serialized_string(R"({"sharding_type": "SingleDeviceSharding", "device_str": null})"),
      ShardingError);
}

TEST_CASE("from_deserialized_dict for each kind, and equality rules") {
  auto single = SingleDeviceShardingMetadata::from_deserialized_dict(
      nlohmann::json{{"sharding_type", "SingleDeviceSharding"}, {"device_str", "TFRT_CPU_3"}});
  CHECK(single == SingleDeviceShardingMetadata{"cpu:3"});
  CHECK_FALSE(single == SingleDeviceShardingMetadata{"cpu:4"});
  CHECK_FALSE(single == SingleDeviceShardingMetadata{"cuda:3"});
  CHECK(single.to_serialized_string() ==
        R"({"sharding_type": "SingleDeviceSharding", "device_str": "TFRT_CPU_3"})");

  auto named = NamedShardingMetadata::from_deserialized_dict(nlohmann::json::parse(
      R"({"shape": [2], "axis_names": ["x"], "partition_spec": ["x"], "device_mesh": {}})"));
  CHECK_FALSE(named.device_mesh.has_value());  // empty device_mesh means none, as in Orbax
  auto with_mesh = named;
  with_mesh.device_mesh = DeviceMesh{{1, 0}};
  CHECK_FALSE(named == with_mesh);
  auto with_types = named;
  with_types.axis_types = std::vector<std::string>{"AxisType.Auto"};
  CHECK_FALSE(named == with_types);

  auto positional = PositionalShardingMetadata::from_deserialized_dict(
      nlohmann::json::parse(R"({"shape": [1, 2], "memory_kind": null})"));
  CHECK(positional == PositionalShardingMetadata{{1, 2}, std::nullopt});
  CHECK(sharding_kind(ShardingMetadata{positional}) == ShardingKind::kPositional);
  CHECK(std::string(sharding_type_name(ShardingKind::kNamed)) == "NamedSharding");
}
