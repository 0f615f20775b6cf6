// Fuzz target: the _sharding file of an item (read_sharding_file,
// lib/orbax/sharding_file.h). Input: the item's param names, one per line,
// then an empty line, then the file's bytes.
#include <set>

#include <nlohmann/json.hpp>

#include "ckptcat/error.h"
#include "fuzz_target.h"
#include "orbax_writer.h"
#include "sharding_file.h"

namespace fs = std::filesystem;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input = ckptcat::fuzz::as_view(data, size);
  const size_t split = input.find("\n\n");
  const std::string_view names_text = split == std::string_view::npos ? "" : input.substr(0, split);
  const std::string_view file = split == std::string_view::npos ? input : input.substr(split + 2);
  std::set<std::string> names;
  for (size_t start = 0; start < names_text.size();) {
    size_t end = names_text.find('\n', start);
    if (end == std::string_view::npos) end = names_text.size();
    names.emplace(names_text.substr(start, end - start));
    start = end + 1;
  }
  const fs::path item = ckptcat::fuzz::scratch_dir() / "sharding_item";
  fs::create_directories(item);
  ckptcat::fuzz::write_whole_file(item / "_sharding", file);
  const ckptcat::orbax::ParamIndex index(std::vector<std::string>(names.begin(), names.end()));
  const auto result = ckptcat::orbax::read_sharding_file(item, index);
  for (const auto& [name, value] : result->by_name) {
    ckptcat::fuzz::require(names.count(name) == 1, "only known names are returned");
    ckptcat::fuzz::require(value != nullptr, "every entry has its string");
  }
  for (const auto& problem : result->problems)
    ckptcat::fuzz::require(!problem.file.empty() && !problem.message.empty(),
                           "problems name the file and the reason");
  return 0;
}

std::vector<std::string> ckptcat::fuzz::seeds_from_corpus(const fs::path& corpus) {
  std::vector<std::string> seeds;
  for (const auto& file : find_files_named(corpus, "_sharding")) {
    std::string names;
    // The item's names are in its _METADATA; the file's own keys are enough
    // to make every entry match.
    const auto doc = nlohmann::json::parse(read_whole_file(file), nullptr, false);
    if (doc.is_object()) {
      for (const auto& [key, value] : doc.items()) {
        if (auto name = ckptcat::orbax::decode_base64url(key)) names += *name + "\n";
      }
    }
    seeds.push_back(names + "\n" + read_whole_file(file));
  }
  return seeds;
}
