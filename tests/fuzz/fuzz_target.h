// What every fuzz target in tests/fuzz/ provides, and helpers they share.
//
// A target is one source file defining libFuzzer's entry point
// LLVMFuzzerTestOneInput (feed it any bytes: it must never crash, hang, leak or
// allocate without bound; documented exceptions are caught, anything else
// escapes and aborts) and seeds_from_corpus(), which builds seed inputs from
// the real checkpoints in ../shared/corpus at run time (the repository never
// holds copies of them).
//
// Each target is linked twice: with -fsanitize=fuzzer (tests/fuzz/meson.build,
// clang only) and with replay_main.cc into a plain program run by the normal
// test suite (tests/robustness/meson.build), which feeds it every file under
// tests/fuzz/regressions/<target>/ plus the corpus seeds and deterministic
// damaged variants of them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace ckptcat::fuzz {

// Seed inputs for this target, built from the files of `corpus`.
std::vector<std::string> seeds_from_corpus(const std::filesystem::path& corpus);

inline std::string_view as_view(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Regular files below `root` whose path satisfies `match`, sorted.
std::vector<std::filesystem::path> find_files(
    const std::filesystem::path& root,
    const std::function<bool(const std::filesystem::path&)>& match);
// find_files() matching the file name exactly.
std::vector<std::filesystem::path> find_files_named(const std::filesystem::path& root,
                                                    std::string_view name);

std::string read_whole_file(const std::filesystem::path& file);
void write_whole_file(const std::filesystem::path& file, std::string_view bytes);

// Aborts (a finding for the fuzzer, a failure for the replay test) with
// `what` when an invariant the callers rely on does not hold.
void require(bool condition, const char* what);

// A private folder for targets that must go through files (the msgpack reader,
// item folders, OCDBT databases), created on first use and removed at exit.
const std::filesystem::path& scratch_dir();

// Every encoded item (whole envelope) of the OCDBT database in `dir`: the
// manifest, then version-tree nodes and B+tree nodes of every generation,
// walked through the format decoders. Unreadable parts are skipped.
struct OcdbtItem {
  uint32_t magic = 0;
  std::string item;  // the whole envelope
  std::string body;  // decoded body
};
std::vector<OcdbtItem> ocdbt_items(const std::filesystem::path& dir);

// The folders below `corpus` (and `corpus` itself) holding a manifest.ocdbt.
std::vector<std::filesystem::path> ocdbt_databases(const std::filesystem::path& corpus);

// Makes an envelope acceptable to open_envelope's checksum: rewrites the
// trailing CRC-32C (when there is room for one), so mutations reach the
// length, version, compression and body checks behind it.
std::string with_valid_crc(std::string_view item);

// Cap on decompressed bodies inside the targets: far below the reader's
// default, so one input cannot slow the fuzzer down for seconds.
inline constexpr uint64_t kFuzzMaxDecodedBytes = 16u << 20;

// The input of the three node targets: a mode byte, then either a body
// (mode bit 0 clear: decoded directly) or a whole envelope whose CRC is fixed
// up before open_envelope() (bit set). Returns the body; throws what
// open_envelope() throws. `item` and `scratch` hold the bytes it points into.
std::string_view envelope_body(const uint8_t* data, size_t size, uint32_t magic,
                               std::string& item, std::string& scratch);
// Seeds in that form (both modes) for every item with `magic` in the corpus
// databases and in a generated database with version-tree and interior nodes.
std::vector<std::string> envelope_seeds(const std::filesystem::path& corpus, uint32_t magic);

}  // namespace ckptcat::fuzz
