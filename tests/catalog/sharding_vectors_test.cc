// Every sharding string of ../shared/vectors/sharding_strings.jsonl, stored as
// a leaf's _sharding value: the catalog gives it back byte for byte, both as
// Leaf::sharding_string and through the leaf_metadata view (valid strings from
// the normalized tables, invalid ones from the raw fallback).
#include <SQLiteCpp/SQLiteCpp.h>
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "ckptcat/catalog.h"
#include "fixtures.h"
#include "shared_case.h"

namespace ckptcat {
namespace {

SHARED_TEST_CASE("shared sharding vectors round-trip through the catalog and its view") {
  const auto lines = testing::read_lines(testing::shared_data_dir() / "vectors" /
                                         "sharding_strings.jsonl");
  REQUIRE(!lines.empty());

  CheckpointMetadata c;
  c.directory = "/vectors/1";
  c.step_name = "1";
  c.step = 1;
  ItemMetadata item;
  item.name = "state";
  item.directory = "/vectors/1/state";
  item.kind = ItemKind::kPyTree;
  std::vector<bool> valid;
  for (size_t i = 0; i < lines.size(); ++i) {
    const auto vector = nlohmann::json::parse(lines[i]);
    item.leaves.push_back(testing::array_leaf("v" + std::to_string(i), item.directory,
                                              vector.at("serialized").get<std::string>()));
    valid.push_back(vector.at("valid").get<bool>());
  }
  c.items.push_back(item);

  Catalog catalog(":memory:");
  catalog.ingest(c, "fp");
  testing::check_same(c, *catalog.load_checkpoint(c.directory));

  SQLite::Statement q(catalog.database(),
                      "SELECT v.sharding, v.sharding_id, x.sharding_raw IS NOT NULL "
                      "FROM leaf_metadata v LEFT JOIN leaf_extras x "
                      "ON x.item_id = v.item_id AND x.ord = v.ord ORDER BY v.ord");
  size_t i = 0;
  for (; q.executeStep(); ++i) {
    REQUIRE(i < lines.size());
    INFO(lines[i].substr(0, 200));
    CHECK(q.getColumn(0).getString() == *item.leaves[i].sharding_string);
    // Valid strings are normalized (not kept raw), invalid ones are kept raw.
    CHECK(q.getColumn(2).getInt() == (valid[i] ? 0 : 1));
    if (valid[i]) {
      auto sharding = catalog.load_sharding(q.getColumn(1).getInt64());
      REQUIRE(sharding);
      CHECK(to_serialized_string(*sharding) == *item.leaves[i].sharding_string);
    }
  }
  CHECK(i == lines.size());
  CHECK(catalog.verify().empty());
}

}  // namespace
}  // namespace ckptcat
