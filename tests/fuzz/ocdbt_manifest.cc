// Fuzz target: the OCDBT manifest (lib/ocdbt/format/manifest.h, config.h,
// data_file_table.h, version_tree.h), alone or behind its envelope.
#include "ckptcat/error.h"
#include "format/envelope.h"
#include "format/manifest.h"
#include "fuzz_target.h"

namespace format = ckptcat::ocdbt::format;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string item, scratch;
  try {
    const auto body = ckptcat::fuzz::envelope_body(data, size, format::kManifestMagic, item, scratch);
    const auto manifest = format::decode_manifest(body);
    if (manifest.config.manifest_kind == format::ManifestKind::kSingle) (void)manifest.latest();
  } catch (const ckptcat::Error&) {
  }
  return 0;
}

std::vector<std::string> ckptcat::fuzz::seeds_from_corpus(const std::filesystem::path& corpus) {
  return envelope_seeds(corpus, format::kManifestMagic);
}
