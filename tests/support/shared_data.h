// Access to ../shared (corpus, golden files, vectors) for tests. A test case
// that needs it is declared with SHARED_TEST_CASE (shared_case.h): when the
// folder is absent that case alone is skipped, with a visible "SKIP:" line from
// the test program's main, and every other case still runs and can fail.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace ckptcat::testing {

// $CKPTCAT_SHARED_DIR, set by meson to <source>/../shared (or -Dshared_dir).
std::filesystem::path shared_dir();
bool shared_available();

// Returns shared_dir(); throws std::runtime_error when it is missing (a case
// that reaches here without being declared with SHARED_TEST_CASE fails).
std::filesystem::path shared_data_dir();

// Lines of a JSON Lines file (empty lines dropped).
std::vector<std::string> read_lines(const std::filesystem::path& file);
std::string read_file(const std::filesystem::path& file);

// A fresh temporary folder removed when the object goes away.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace ckptcat::testing
