// Deterministic damage to file contents, shared by the damaged-input tests and
// the fuzz targets' replay program: every variant is reproducible from the
// seed, so a failure names a case that can be replayed.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace ckptcat::testing {

struct DamagedBytes {
  std::string what;   // "truncated at 17", "bits 3,90 flipped", "empty", "garbage"
  std::string bytes;
};

// Variants of `original`: empty; truncated after 1 byte, at the middle, before
// the last byte and at `truncations` seeded offsets; `flips` copies with one
// to eight seeded bits flipped; seeded garbage of the same length. Variants
// equal to the original (nothing to truncate) are left out.
std::vector<DamagedBytes> damaged_variants(std::string_view original, uint64_t seed,
                                           int truncations = 2, int flips = 3);

// Replaces the contents of `file` (created if missing). Throws std::runtime_error.
void write_file(const std::filesystem::path& file, std::string_view bytes);

// The lines of `text` without their newlines.
std::vector<std::string> lines_of_text(const std::string& text);

// splitmix64: a small deterministic generator, identical on every platform.
class SeededRandom {
 public:
  explicit SeededRandom(uint64_t seed) : state_(seed) {}
  uint64_t next();
  uint64_t below(uint64_t bound) { return bound == 0 ? 0 : next() % bound; }

 private:
  uint64_t state_;
};

}  // namespace ckptcat::testing
