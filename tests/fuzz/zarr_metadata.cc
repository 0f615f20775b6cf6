// Fuzz target: zarr v2 (.zarray) and v3 (zarr.json) array metadata and the
// dtype name mapping (lib/orbax/zarr.h).
#include "ckptcat/error.h"
#include "ckptcat/ocdbt.h"
#include "fuzz_target.h"
#include "zarr.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input = ckptcat::fuzz::as_view(data, size);
  for (auto parse : {&ckptcat::orbax::parse_zarr2, &ckptcat::orbax::parse_zarr3}) {
    try {
      const auto array = parse(input, "zarr");
      ckptcat::fuzz::require(array.zarr_format == 2 || array.zarr_format == 3, "zarr_format");
      ckptcat::fuzz::require(!array.dtype.empty(), "a dtype name");
    } catch (const ckptcat::Error&) {
    }
  }
  (void)ckptcat::orbax::numpy_dtype_from_zarr2(input);
  (void)ckptcat::orbax::numpy_dtype_from_zarr3(input);
  return 0;
}

std::vector<std::string> ckptcat::fuzz::seeds_from_corpus(const std::filesystem::path& corpus) {
  std::vector<std::string> seeds;
  for (const auto& file : find_files_named(corpus, ".zarray")) seeds.push_back(read_whole_file(file));
  for (const auto& file : find_files_named(corpus, "zarr.json")) seeds.push_back(read_whole_file(file));
  // Most zarr metadata lives inside OCDBT databases.
  for (const auto& dir : ocdbt_databases(corpus)) {
    try {
      const auto db = ckptcat::ocdbt::Database::open(dir);
      db.list([&](const ckptcat::ocdbt::KeyEntry& entry) {
        const std::string_view key = entry.key;
        const bool is_metadata = key.ends_with("/.zarray") || key.ends_with("/zarr.json");
        if (is_metadata && entry.location.is_inline) seeds.emplace_back(entry.inline_value);
        return seeds.size() < 200;
      });
    } catch (const ckptcat::Error&) {
    }
  }
  return seeds;
}
