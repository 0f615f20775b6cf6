#include <doctest/doctest.h>

#include <unordered_set>

#include "ckptcat/checkpoint.h"
#include "ckptcat/metadata.h"

using namespace ckptcat;

TEST_CASE("ArrayMetadata equality compares shape, sharding, dtype, storage only") {
  ArrayMetadata a{"a", "/x", Shape{8}, SingleDeviceShardingMetadata{"cpu:0"}, "int32",
                  StorageMetadata{Shape{8}, Shape{8}}};
  ArrayMetadata b = a;
  b.name = "other";
  b.directory = "/elsewhere";
  CHECK(a == b);
  CHECK_FALSE(a.same_as(b));
  b = a;
  b.shape = Shape{9};
  CHECK_FALSE(a == b);
  b = a;
  b.dtype = "float32";
  CHECK_FALSE(a == b);
  b = a;
  b.storage->chunk_shape = Shape{4};
  CHECK_FALSE(a == b);
  b = a;
  b.sharding = SingleDeviceShardingMetadata{"TFRT_CPU_0"};  // same device
  CHECK(a == b);
  b.sharding = SingleDeviceShardingMetadata{"cpu:1"};
  CHECK_FALSE(a == b);
  b.sharding = std::nullopt;
  CHECK_FALSE(a == b);
  CHECK(a.same_as(a));
}

TEST_CASE("ScalarMetadata compares only dtype; StringMetadata are all equal") {
  ScalarMetadata s1{"step", "/a", "int64"}, s2{"lr", "/b", "int64"}, s3{"step", "/a", "float64"};
  CHECK(s1 == s2);
  CHECK_FALSE(s1 == s3);
  CHECK_FALSE(s1.same_as(s2));
  StringMetadata t1{"name", "/a"}, t2{"other", "/b"};
  CHECK(t1 == t2);
  CHECK_FALSE(t1.same_as(t2));
  CHECK(t1.same_as(StringMetadata{"name", "/a"}));
}

TEST_CASE("StorageMetadata is comparable and hashable") {
  StorageMetadata a{Shape{8}, Shape{8}}, b{Shape{8}, std::nullopt}, c{std::nullopt, Shape{8}};
  CHECK(a == StorageMetadata{Shape{8}, Shape{8}});
  CHECK_FALSE(b == c);
  std::unordered_set<StorageMetadata> set{a, b, c, StorageMetadata{Shape{8}, Shape{8}}};
  CHECK(set.size() == 3);
  CHECK(std::hash<StorageMetadata>{}(b) != std::hash<StorageMetadata>{}(c));
}

TEST_CASE("shapes print as Python tuples and param names join keys with dots") {
  CHECK(shape_to_string({}) == "()");
  CHECK(shape_to_string({8}) == "(8,)");
  CHECK(shape_to_string({2, 4}) == "(2, 4)");
  KeyPath path{{"opt_state", KeyType::kDict}, {"1", KeyType::kSequence}, {"mu", KeyType::kDict}};
  CHECK(param_name(path) == "opt_state.1.mu");
  CHECK(param_name({}) == "");
  CHECK(leaf_kind_from_string("bare") == LeafKind::kBare);
  CHECK_FALSE(leaf_kind_from_string("array?").has_value());
}
