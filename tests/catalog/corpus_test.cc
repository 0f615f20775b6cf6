// Every checkpoint of ../shared/corpus, read by the Orbax reader, ingested and
// reconstructed: equal to the reader's objects, and every leaf_metadata
// sharding equal to the _sharding file value byte for byte.
#include <SQLiteCpp/SQLiteCpp.h>
#include <doctest/doctest.h>

#include "ckptcat/catalog.h"
#include "ckptcat/reader.h"
#include "fixtures.h"
#include "shared_case.h"

namespace ckptcat {
namespace {

SHARED_TEST_CASE("the corpus round-trips through the catalog") {
  const auto corpus = testing::shared_data_dir() / "corpus";
  const auto found = orbax::discover(corpus);
  REQUIRE(!found.checkpoints.empty());

  Catalog catalog(":memory:");
  size_t leaves = 0, shardings = 0;
  for (const auto& location : found.checkpoints) {
    const CheckpointMetadata read = orbax::read_checkpoint(location);
    const std::string fingerprint = orbax::fingerprint(location);
    INFO(read.directory);
    REQUIRE(catalog.ingest(read, fingerprint).action == IngestAction::kInserted);
    CHECK(catalog.ingest(read, fingerprint).action == IngestAction::kUnchanged);
    const auto loaded = catalog.load_checkpoint(read.directory);
    REQUIRE(loaded);
    testing::check_same(read, *loaded);

    for (const auto& item : read.items) {
      const auto one = catalog.load_item(read.directory, item.name);
      REQUIRE(one);
      testing::check_same(item, *one);
      SQLite::Statement q(catalog.database(),
                          "SELECT name, sharding FROM leaf_metadata WHERE checkpoint_dir = ? "
                          "AND item = ? ORDER BY ord");
      q.bind(1, read.directory);
      q.bind(2, item.name);
      for (const auto& leaf : item.leaves) {
        REQUIRE(q.executeStep());
        CHECK(q.getColumn(0).getString() == leaf.name);
        if (leaf.sharding_string) {
          CHECK(q.getColumn(1).getString() == *leaf.sharding_string);
          ++shardings;
        } else {
          CHECK(q.getColumn(1).isNull());
        }
        ++leaves;
      }
      CHECK_FALSE(q.executeStep());
    }
  }
  MESSAGE(found.checkpoints.size(), " checkpoints, ", leaves, " leaves, ", shardings,
          " sharding strings");
  CHECK(shardings > 0);
  CHECK(catalog.verify().empty());
}

}  // namespace
}  // namespace ckptcat
