// Fuzz target: _METADATA (parse_tree_metadata, lib/orbax/tree_metadata.h) and
// the JSON reading under it (lib/orbax/json_file.h).
#include "ckptcat/error.h"
#include "fuzz_target.h"
#include "tree_metadata.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const auto tree = ckptcat::orbax::parse_tree_metadata(ckptcat::fuzz::as_view(data, size), "_METADATA");
    for (const auto& entry : tree.entries) {
      (void)ckptcat::orbax::leaf_kind(entry.value_type, entry.skip_deserialize);
      (void)ckptcat::param_name(entry.key_path);
    }
  } catch (const ckptcat::Error&) {
  }
  return 0;
}

std::vector<std::string> ckptcat::fuzz::seeds_from_corpus(const std::filesystem::path& corpus) {
  std::vector<std::string> seeds;
  for (const auto& file : find_files_named(corpus, "_METADATA")) seeds.push_back(read_whole_file(file));
  return seeds;
}
