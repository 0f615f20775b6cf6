// Fuzz target: serialized sharding strings (sharding_from_serialized_string,
// ckptcat/sharding.h) and the base64url keys of _sharding (decode_base64url,
// lib/orbax/sharding_file.h). Checks the round trips the catalog relies on:
// a parsed sharding serializes to a string that parses back to an equal
// sharding and serializes to the same bytes; decoded base64 re-encodes to
// the input.
#include <nlohmann/json.hpp>

#include "ckptcat/sharding.h"
#include "fuzz_target.h"
#include "orbax_writer.h"
#include "shared_data.h"
#include "sharding_file.h"

using ckptcat::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input = ckptcat::fuzz::as_view(data, size);
  if (const auto decoded = ckptcat::orbax::decode_base64url(input)) {
    require(ckptcat::testing::base64url_encode(*decoded) == input, "base64url round trip");
  }
  try {
    const auto sharding = ckptcat::sharding_from_serialized_string(input);
    const std::string serialized = ckptcat::to_serialized_string(sharding);
    const auto again = ckptcat::sharding_from_serialized_string(serialized);
    require(again == sharding, "parse(serialize(s)) == s");
    require(ckptcat::to_serialized_string(again) == serialized, "serialization is stable");
    (void)ckptcat::sharding_summary(sharding);
  } catch (const ckptcat::ShardingError&) {
  }
  return 0;
}

std::vector<std::string> ckptcat::fuzz::seeds_from_corpus(const std::filesystem::path& corpus) {
  std::vector<std::string> seeds;
  for (const auto& line : ckptcat::testing::read_lines(corpus.parent_path() / "vectors" / "sharding_strings.jsonl")) {
    const auto vector = nlohmann::json::parse(line, nullptr, false);
    if (vector.is_object() && vector.contains("serialized") && vector["serialized"].is_string())
      seeds.push_back(vector["serialized"].get<std::string>());
  }
  for (const auto& file : find_files_named(corpus, "_sharding")) {
    const auto doc = nlohmann::json::parse(read_whole_file(file), nullptr, false);
    if (!doc.is_object()) continue;
    for (const auto& [key, value] : doc.items()) {
      seeds.push_back(key);
      if (value.is_string()) seeds.push_back(value.get<std::string>());
    }
  }
  return seeds;
}
