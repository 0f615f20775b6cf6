// Runs a fuzz target without libFuzzer, so its findings stay tested in every
// build (suite 'robustness'):
//
//   replay_<target> [--seeds CORPUS] PATH...
//       feeds the empty input, every file at or below each PATH (the target's
//       tests/fuzz/regressions/<target>/ folder), and with --seeds the seeds
//       built from CORPUS plus deterministic damaged variants of each.
//   replay_<target> --write-seeds CORPUS OUTDIR
//       writes the seeds as files (tools/fuzz-smoke's seed corpus) and exits.
//
// A crash, sanitizer report or invariant violation fails the program.
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "damage.h"
#include "fuzz_target.h"

namespace fs = std::filesystem;

namespace {

int run(std::string_view input) {
  return LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()), input.size());
}

int usage(const char* program) {
  std::fprintf(stderr, "usage: %s [--seeds CORPUS] PATH...\n       %s --write-seeds CORPUS OUTDIR\n",
               program, program);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string program = fs::path(argv[0]).filename().string();
  std::vector<std::string> args(argv + 1, argv + argc);

  if (!args.empty() && args[0] == "--write-seeds") {
    if (args.size() != 3) return usage(argv[0]);
    fs::create_directories(args[2]);
    const auto seeds = ckptcat::fuzz::seeds_from_corpus(args[1]);
    for (size_t i = 0; i < seeds.size(); ++i)
      ckptcat::fuzz::write_whole_file(fs::path(args[2]) / ("seed-" + std::to_string(i)), seeds[i]);
    std::printf("%s: %zu seeds written to %s\n", program.c_str(), seeds.size(), args[2].c_str());
    return 0;
  }

  size_t regressions = 0, seeds = 0, variants = 0;
  run("");
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--seeds") {
      if (++i == args.size()) return usage(argv[0]);
      if (!fs::is_directory(args[i])) {
        std::printf("%s: no corpus at %s: seeds skipped\n", program.c_str(), args[i].c_str());
        continue;
      }
      const auto inputs = ckptcat::fuzz::seeds_from_corpus(args[i]);
      for (size_t s = 0; s < inputs.size(); ++s) {
        run(inputs[s]);
        ++seeds;
        for (const auto& damaged : ckptcat::testing::damaged_variants(inputs[s], s)) {
          run(damaged.bytes);
          ++variants;
        }
      }
      continue;
    }
    const fs::path path = args[i];
    if (!fs::exists(path)) {
      std::printf("%s: no regression inputs at %s\n", program.c_str(), path.c_str());
      continue;
    }
    const auto files = fs::is_directory(path)
                           ? ckptcat::fuzz::find_files(path, [](const fs::path&) { return true; })
                           : std::vector<fs::path>{path};
    for (const auto& file : files) {
      if (!fs::is_regular_file(file)) {
        std::fprintf(stderr, "%s: %s: not a file\n", program.c_str(), file.c_str());
        return 1;
      }
      run(ckptcat::fuzz::read_whole_file(file));
      ++regressions;
    }
  }
  std::printf("%s: %zu inputs passed (%zu regression files, %zu corpus seeds, %zu damaged variants)\n",
              program.c_str(), 1 + regressions + seeds + variants, regressions, seeds, variants);
  return 0;
}
