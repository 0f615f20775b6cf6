// Checkpoint comparison, zarr key matching and the path helpers.
#include <doctest/doctest.h>

#include "ckptcat/checkpoint_diff.h"
#include "ckptcat/leaf_fields.h"
#include "store_check.h"

using namespace ckptcat;

namespace {

Leaf array_leaf(std::vector<std::string> keys, std::string dtype, Shape shape) {
  Leaf l;
  for (auto& k : keys) l.key_path.push_back({k, KeyType::kDict});
  l.name = param_name(l.key_path);
  l.value_type = "jax.Array";
  l.kind = LeafKind::kArray;
  ArrayMetadata a;
  a.name = l.name;
  a.dtype = std::move(dtype);
  a.shape = shape;
  a.storage = StorageMetadata{shape, shape};
  l.metadata = a;
  l.stored = StoredSize{1, 64};
  return l;
}

ItemMetadata item_of(std::string name, std::vector<Leaf> leaves) {
  ItemMetadata i;
  i.name = std::move(name);
  i.directory = "/ckpt/1/" + i.name;
  i.kind = ItemKind::kPyTree;
  i.leaves = std::move(leaves);
  return i;
}

struct Finding {
  VerifyFinding::Kind kind;
  Problem::Severity severity;
  std::string file, message;
};

std::vector<Finding> zarr_findings(const std::vector<std::string>& keys) {
  import_detail::ZarrKeyCheck check;
  for (const auto& k : keys) check.add(k);
  std::vector<Finding> out;
  check.report([](const std::string& p) { return "<" + p + ">"; },
               [&](VerifyFinding::Kind k, Problem::Severity s, const std::string& f,
                   const std::string& m) { out.push_back({k, s, f, m}); });
  return out;
}

}  // namespace

TEST_CASE("diff_items: matched by key path, changes field by field") {
  const auto before = item_of("params", {array_leaf({"a"}, "float32", {2}), array_leaf({"b"}, "float32", {3}),
                                         array_leaf({"c"}, "int32", {4})});
  auto after = item_of("params", {array_leaf({"c"}, "int32", {4}), array_leaf({"b"}, "bfloat16", {3, 1}),
                                  array_leaf({"d"}, "float32", {5})});
  after.leaves[0].stored = StoredSize{2, 99};  // another save: different bytes
  const auto d = diff_items(before, after);
  REQUIRE(d.leaves.size() == 3);
  CHECK(d.leaves[0].kind == LeafChange::Kind::kRemoved);
  CHECK(d.leaves[0].name == "a");
  CHECK(d.leaves[1].kind == LeafChange::Kind::kChanged);
  CHECK(d.leaves[1].name == "b");
  CHECK(d.leaves[1].fields == std::vector<FieldChange>{{"dtype", "float32", "bfloat16"},
                                                       {"shape", "(3,)", "(3, 1)"},
                                                       {"chunk_shape", "(3,)", "(3, 1)"},
                                                       {"write_shape", "(3,)", "(3, 1)"}});
  CHECK(d.leaves[2].kind == LeafChange::Kind::kAdded);
  CHECK(d.leaves[2].after->name == "d");
  // Stored sizes count only when exhaustive (verification).
  const auto exhaustive = diff_items(before, after, {.exhaustive = true});
  REQUIRE(exhaustive.leaves.size() == 4);
  CHECK(exhaustive.leaves[2].name == "c");
  CHECK(exhaustive.leaves[2].fields ==
        std::vector<FieldChange>{{"stored_chunks", "1", "2"}, {"stored_bytes", "64", "99"}});
  CHECK(diff_items(before, before, {.exhaustive = true}).empty());
}

TEST_CASE("diff_checkpoints: items added and removed, unchanged items omitted") {
  CheckpointMetadata a, b;
  a.items = {item_of("opt", {}), item_of("params", {array_leaf({"w"}, "float32", {2})})};
  b.items = {item_of("params", {array_leaf({"w"}, "float32", {2})}), item_of("z", {array_leaf({"x"}, "int8", {})})};
  b.step_metadata.metrics = R"({"loss": 1.0})";
  const auto d = diff_checkpoints(a, b);
  CHECK(d.fields.empty());  // step metadata only when exhaustive
  REQUIRE(d.items.size() == 2);
  CHECK(d.items[0].kind == ItemDiff::Kind::kRemoved);
  CHECK(d.items[0].name == "opt");
  CHECK(d.items[1].kind == ItemDiff::Kind::kAdded);
  CHECK(d.items[1].leaf_count == 1);
  const auto e = diff_checkpoints(a, b, {.exhaustive = true});
  CHECK(e.fields == std::vector<FieldChange>{{"metrics", "{}", R"({"loss": 1.0})"}});
  CHECK(diff_checkpoints(a, a).empty());
}

TEST_CASE("zarr keys: chunks matched with their metadata in every layout") {
  CHECK(zarr_findings({"a/.zarray", "a/0.0", "a/0.1",            // zarr2
                       "p/w/c/0/0", "p/w/c/1/0", "p/w/zarr.json",  // zarr3, name with "/"
                       "s/0/1", "s/.zarray",                       // zarr2 "/"-separated
                       ".zarray", "0",                             // top-level param
                       "_METADATA"})                               // not a zarr key
            .empty());
  const auto f = zarr_findings({"a/.zarray", "b/0.0", "b/1.0", "c/c/0", "d/zarr.json"});
  REQUIRE(f.size() == 4);
  CHECK(f[0].kind == VerifyFinding::Kind::kChunksWithoutMetadata);
  CHECK(f[0].file == "<b>");
  CHECK(f[0].message == "2 chunk keys of array \"b\" without zarr metadata (.zarray or zarr.json)");
  CHECK(f[1].file == "<c>");
  CHECK(f[1].severity == Problem::Severity::kError);
  // a and d have metadata and no chunk: warnings.
  CHECK(f[2].kind == VerifyFinding::Kind::kMetadataWithoutChunks);
  CHECK(f[2].severity == Problem::Severity::kWarning);
  CHECK(f[2].file == "<a>");
  CHECK(f[3].file == "<d>");
}

TEST_CASE("paths: normal form and component-wise containment") {
  CHECK(normal_path("/a/b/../c/") == "/a/c");
  CHECK(normal_path("/") == "/");
  CHECK(path_is_under("/a/b", "/a/b"));
  CHECK(path_is_under("/a/b/c", "/a/b"));
  CHECK_FALSE(path_is_under("/a/bc", "/a/b"));
  CHECK_FALSE(path_is_under("/a", "/a/b"));
  CHECK(path_is_under("/x", "/"));
}
