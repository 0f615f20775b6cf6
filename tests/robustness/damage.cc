#include "damage.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <set>

namespace ckptcat::testing {

void write_file(const std::filesystem::path& file, std::string_view bytes) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + file.string());
}

std::vector<std::string> lines_of_text(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

uint64_t SeededRandom::next() {
  uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

std::vector<DamagedBytes> damaged_variants(std::string_view original, uint64_t seed,
                                           int truncations, int flips) {
  SeededRandom random(seed);
  std::vector<DamagedBytes> out;
  const size_t size = original.size();
  if (size == 0) return out;
  out.push_back({"empty", ""});

  std::set<size_t> cuts = {1, size / 2, size - 1};
  for (int i = 0; i < truncations; ++i) cuts.insert(random.below(size));
  for (size_t cut : cuts) {
    if (cut == 0 || cut >= size) continue;
    out.push_back({"truncated at " + std::to_string(cut), std::string(original.substr(0, cut))});
  }

  for (int i = 0; i < flips; ++i) {
    std::string bytes(original);
    std::string what = "bits ";
    const int count = 1 + static_cast<int>(random.below(8));
    for (int k = 0; k < count; ++k) {
      const uint64_t bit = random.below(uint64_t{size} * 8);
      bytes[bit / 8] = static_cast<char>(bytes[bit / 8] ^ (1u << (bit % 8)));
      what += (k ? "," : "") + std::to_string(bit);
    }
    out.push_back({what + " flipped", std::move(bytes)});
  }

  std::string garbage(size, '\0');
  for (char& c : garbage) c = static_cast<char>(random.next());
  out.push_back({"garbage", std::move(garbage)});
  return out;
}

}  // namespace ckptcat::testing
