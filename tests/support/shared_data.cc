#include "shared_data.h"

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <stdexcept>

namespace ckptcat::testing {

std::filesystem::path shared_dir() {
  const char* env = std::getenv("CKPTCAT_SHARED_DIR");
  return env && *env ? std::filesystem::path(env) : std::filesystem::path("../shared");
}

bool shared_available() {
  std::error_code ec;
  return std::filesystem::is_directory(shared_dir() / "corpus", ec);
}

std::filesystem::path shared_data_dir() {
  if (!shared_available())
    throw std::runtime_error("shared test data not found at " + shared_dir().string() +
                             " in a test case not declared with SHARED_TEST_CASE");
  return shared_dir();
}

std::string read_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + file.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> read_lines(const std::filesystem::path& file) {
  std::istringstream in(read_file(file));
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(line);
  return lines;
}

TempDir::TempDir() {
  std::random_device rd;
  auto base = std::filesystem::temp_directory_path();
  for (int attempt = 0; attempt < 100; ++attempt) {
    auto candidate = base / ("ckptcat-test-" + std::to_string(rd()));
    if (std::filesystem::create_directory(candidate)) {
      path_ = candidate;
      return;
    }
  }
  throw std::runtime_error("cannot create a temporary folder");
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace ckptcat::testing
