// Access to ../shared (corpus, golden files, vectors) for tests. Tests that need
// it call shared_dir_or_skip(), which makes the whole test program exit with
// meson's SKIP code (77) and a visible message when the folder is absent.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace ckptcat::testing {

// $CKPTCAT_SHARED_DIR, set by meson to <source>/../shared (or -Dshared_dir).
std::filesystem::path shared_dir();
bool shared_available();

// Returns shared_dir(); when it is missing, prints why to stderr and exits 77.
std::filesystem::path shared_dir_or_skip();

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
