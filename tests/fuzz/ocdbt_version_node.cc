// Fuzz target: OCDBT version-tree nodes (lib/ocdbt/format/version_tree.h),
// alone or behind their envelope.
#include "ckptcat/error.h"
#include "format/envelope.h"
#include "format/version_tree.h"
#include "fuzz_target.h"

namespace format = ckptcat::ocdbt::format;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string item, scratch;
  try {
    const auto body =
        ckptcat::fuzz::envelope_body(data, size, format::kVersionNodeMagic, item, scratch);
    (void)format::decode_version_node(body, "base/");
  } catch (const ckptcat::Error&) {
  }
  return 0;
}

std::vector<std::string> ckptcat::fuzz::seeds_from_corpus(const std::filesystem::path& corpus) {
  return envelope_seeds(corpus, format::kVersionNodeMagic);
}
