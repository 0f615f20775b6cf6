// Fuzz target: _CHECKPOINT_METADATA (parse_step_metadata) and root metadata,
// current and legacy (parse_root_metadata), lib/orbax/step_metadata.h.
#include "ckptcat/error.h"
#include "fuzz_target.h"
#include "step_metadata.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input = ckptcat::fuzz::as_view(data, size);
  try {
    const auto step = ckptcat::orbax::parse_step_metadata(input, "_CHECKPOINT_METADATA");
    ckptcat::fuzz::require(!step.metrics.empty() && !step.custom_metadata.empty(), "JSON texts");
  } catch (const ckptcat::Error&) {
  }
  for (bool legacy : {false, true}) {
    try {
      (void)ckptcat::orbax::parse_root_metadata(input, "_ROOT_METADATA", legacy);
    } catch (const ckptcat::Error&) {
    }
  }
  return 0;
}

std::vector<std::string> ckptcat::fuzz::seeds_from_corpus(const std::filesystem::path& corpus) {
  std::vector<std::string> seeds;
  for (const char* name : {"_CHECKPOINT_METADATA", "_ROOT_METADATA"}) {
    for (const auto& file : find_files_named(corpus, name)) seeds.push_back(read_whole_file(file));
  }
  for (const auto& file : find_files(corpus, [](const std::filesystem::path& p) {
         return p.filename() == "metadata" && p.parent_path().filename() == "metadata";
       })) {
    seeds.push_back(read_whole_file(file));
  }
  return seeds;
}
