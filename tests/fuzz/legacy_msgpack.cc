// Fuzz target: the legacy msgpack `checkpoint` file (read_legacy_checkpoint,
// lib/orbax/legacy_checkpoint.h over the streaming decoder of msgpack.h).
// The reader takes a file, so the input is written to one first.
#include "ckptcat/error.h"
#include "fuzz_target.h"
#include "legacy_checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto file = ckptcat::fuzz::scratch_dir() / "checkpoint";
  ckptcat::fuzz::write_whole_file(file, ckptcat::fuzz::as_view(data, size));
  try {
    for (const auto& leaf : ckptcat::orbax::read_legacy_checkpoint(file))
      ckptcat::fuzz::require(leaf.name == ckptcat::param_name(leaf.key_path), "leaf name");
  } catch (const ckptcat::Error&) {
  }
  return 0;
}

std::vector<std::string> ckptcat::fuzz::seeds_from_corpus(const std::filesystem::path& corpus) {
  std::vector<std::string> seeds;
  for (const auto& file : find_files_named(corpus, "checkpoint")) seeds.push_back(read_whole_file(file));
  return seeds;
}
