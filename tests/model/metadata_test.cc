#include <doctest/doctest.h>

#include <functional>
#include <unordered_set>
#include <vector>

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

TEST_CASE("Leaf::exactly_equal compares every field a leaf has") {
  Leaf base;
  base.key_path = {{"params", KeyType::kDict}, {"w", KeyType::kDict}};
  base.name = "params.w";
  base.value_type = "jax.Array";
  base.kind = LeafKind::kArray;
  ArrayMetadata array{"params.w", "/i", Shape{8}, std::nullopt, "float32", StorageMetadata{Shape{4}, Shape{8}}};
  array.sharding = SingleDeviceShardingMetadata{"cpu:0"};
  base.metadata = array;
  base.sharding_string = R"({"sharding_type": "SingleDeviceSharding", "device_str": "cpu:0"})";
  base.stored = StoredSize{2, 32};
  CHECK(base.exactly_equal(base));

  // The structured binding stops compiling when a field is added to Leaf: then
  // exactly_equal and the list of changes below must learn about it.
  const auto& [key_path, name, value_type, skip_deserialize, kind, metadata, sharding_string, stored,
               random_key_impl, string_value, inline_shape, inline_dtype, error] = base;
  (void)key_path, (void)name, (void)value_type, (void)skip_deserialize, (void)kind, (void)metadata;
  (void)sharding_string, (void)stored, (void)random_key_impl, (void)string_value;
  (void)inline_shape, (void)inline_dtype, (void)error;

  std::vector<std::pair<const char*, std::function<void(Leaf&)>>> changes = {
      {"key_path", [](Leaf& l) { l.key_path[1].type = KeyType::kSequence; }},
      {"name", [](Leaf& l) { l.name = "params.v"; }},
      {"value_type", [](Leaf& l) { l.value_type = "np.ndarray"; }},
      {"skip_deserialize", [](Leaf& l) { l.skip_deserialize = true; }},
      {"kind", [](Leaf& l) { l.kind = LeafKind::kScalar; }},
      {"metadata kind", [](Leaf& l) { l.metadata = ScalarMetadata{"params.w", "/i", "float32"}; }},
      {"metadata directory", [](Leaf& l) { std::get<ArrayMetadata>(l.metadata).directory = "/j"; }},
      {"metadata shape", [](Leaf& l) { std::get<ArrayMetadata>(l.metadata).shape = Shape{9}; }},
      {"sharding bytes (Orbax equal)",
       [](Leaf& l) { std::get<ArrayMetadata>(l.metadata).sharding = SingleDeviceShardingMetadata{"TFRT_CPU_0"}; }},
      {"sharding_string", [](Leaf& l) { l.sharding_string.reset(); }},
      {"stored", [](Leaf& l) { l.stored = StoredSize{2, 33}; }},
      {"random_key_impl", [](Leaf& l) { l.random_key_impl = "rbg"; }},
      {"string_value", [](Leaf& l) { l.string_value = ""; }},
      {"inline_shape", [](Leaf& l) { l.inline_shape = Shape{}; }},
      {"inline_dtype", [](Leaf& l) { l.inline_dtype = "int8"; }},
      {"error", [](Leaf& l) { l.error = "x"; }},
  };
  for (const auto& [what, change] : changes) {
    const auto& what_value = what;  // clang 14: a structured binding cannot be captured
    CAPTURE(what_value);
    Leaf other = base;
    change(other);
    CHECK_FALSE(base.exactly_equal(other));
    CHECK_FALSE(other.exactly_equal(base));
  }
}

TEST_CASE("Shared: copies share one object; equality compares contents, never addresses") {
  const Shared<std::string> a = std::string(100000, 'x');
  const Shared<std::string> copy = a;
  CHECK(copy.same_object(a));
  const Shared<std::string> equal = std::string(100000, 'x');
  CHECK_FALSE(equal.same_object(a));
  CHECK(equal == a);
  CHECK(a == std::string(100000, 'x'));
  CHECK_FALSE(a == Shared<std::string>("y"));
  CHECK(Shared<std::string>("abc") == "abc");
  CHECK(Shared<std::string>().empty());
  CHECK(Shared<std::string>() == Shared<std::string>(std::shared_ptr<const std::string>()));

  // As the fields they replace: optional strings and braced id lists.
  Leaf leaf;
  leaf.sharding_string = "s";
  CHECK(leaf.sharding_string == std::optional<std::string>("s"));
  CHECK(leaf.sharding_string->size() == 1);
  const DeviceMesh mesh{{3, 1, 2}};
  CHECK(mesh.device_ids.size() == 3);
  CHECK(mesh.device_ids[1] == 1);
  CHECK(mesh == DeviceMesh{std::vector<int64_t>{3, 1, 2}});
  CHECK_FALSE(mesh == DeviceMesh{{3, 2, 1}});
  std::vector<int64_t> listed(mesh.device_ids.begin(), mesh.device_ids.end());
  CHECK(listed == std::vector<int64_t>{3, 1, 2});
}
