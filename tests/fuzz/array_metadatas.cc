// Fuzz target: array_metadatas/process_<N> files (read_array_metadatas,
// lib/orbax/array_metadatas.h). The input is written as process_0 of a
// scratch item folder.
#include "ckptcat/error.h"
#include "array_metadatas.h"
#include "fuzz_target.h"

namespace fs = std::filesystem;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const fs::path item = ckptcat::fuzz::scratch_dir() / "array_metadatas_item";
  fs::create_directories(item / "array_metadatas");
  ckptcat::fuzz::write_whole_file(item / "array_metadatas" / "process_0",
                                  ckptcat::fuzz::as_view(data, size));
  const auto result = ckptcat::orbax::read_array_metadatas(item);
  for (const auto& problem : result.problems)
    ckptcat::fuzz::require(!problem.file.empty() && !problem.message.empty(),
                           "problems name the file and the reason");
  return 0;
}

std::vector<std::string> ckptcat::fuzz::seeds_from_corpus(const fs::path& corpus) {
  std::vector<std::string> seeds;
  for (const auto& file : find_files(corpus, [](const fs::path& p) {
         return p.parent_path().filename() == "array_metadatas";
       })) {
    seeds.push_back(read_whole_file(file));
  }
  return seeds;
}
