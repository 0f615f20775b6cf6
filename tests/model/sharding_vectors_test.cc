// Byte-exact round trip over ../shared: every vector and every _sharding value
// in the corpus.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "ckptcat/sharding.h"
#include "shared_case.h"

using namespace ckptcat;
namespace fs = std::filesystem;

SHARED_TEST_CASE("shared sharding vectors: valid ones round-trip, invalid ones are refused") {
  const auto dir = testing::shared_data_dir();
  int valid = 0, invalid = 0;
  for (const auto& line : testing::read_lines(dir / "vectors" / "sharding_strings.jsonl")) {
    auto vec = nlohmann::json::parse(line);
    const auto serialized = vec["serialized"].get<std::string>();
    INFO("case ", vec["case"].get<std::string>());
    if (vec["valid"].get<bool>()) {
      ++valid;
      ShardingMetadata parsed = sharding_from_serialized_string(serialized);
      CHECK(to_serialized_string(parsed) == serialized);
      const auto kind = vec["kind"].get<std::string>();
      CHECK(sharding_kind(parsed) == (kind == "named"           ? ShardingKind::kNamed
                                      : kind == "single_device" ? ShardingKind::kSingleDevice
                                                                : ShardingKind::kPositional));
    } else {
      ++invalid;
      CHECK_THROWS_AS(sharding_from_serialized_string(serialized), ShardingError);
    }
  }
  CHECK(valid >= 20);
  CHECK(invalid >= 5);
  MESSAGE(valid << " valid and " << invalid << " invalid vectors checked");
}

SHARED_TEST_CASE("every _sharding value in the corpus round-trips byte for byte") {
  const auto corpus = testing::shared_data_dir() / "corpus";
  int files = 0, values = 0;
  for (const auto& entry : fs::recursive_directory_iterator(corpus)) {
    if (!entry.is_regular_file() || entry.path().filename() != "_sharding") continue;
    ++files;
    auto doc = nlohmann::json::parse(testing::read_file(entry.path()));
    REQUIRE(doc.is_object());
    for (auto it = doc.begin(); it != doc.end(); ++it) {
      const std::string key = it.key();
      const auto& value = it.value();
      INFO(entry.path().string(), " key ", key);
      REQUIRE(value.is_string());
      const auto& s = value.get_ref<const std::string&>();
      CHECK(to_serialized_string(sharding_from_serialized_string(s)) == s);
      ++values;
    }
  }
  CHECK(files > 0);
  MESSAGE(files << " _sharding files, " << values << " values round-tripped");
}
