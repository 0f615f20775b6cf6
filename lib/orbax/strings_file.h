// <item>/_strings.json: the values of string leaves (orbax-format.md §6.5).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ckptcat/checkpoint.h"

namespace ckptcat::orbax {

class StringsFile {
 public:
  // Reads the file if present; problems (unreadable, not an object) are recorded.
  StringsFile(const std::filesystem::path& item_dir, std::vector<Problem>& problems);
  bool present() const { return present_; }
  // The value stored for `param`: TensorStore wrote it at JSON pointer
  // "/" + param, unescaped, so "/" in a name nests objects and "~0"/"~1" are
  // pointer escapes.
  std::optional<std::string> value(const std::string& param) const;

 private:
  bool present_ = false;
  nlohmann::ordered_json doc_;
};

}  // namespace ckptcat::orbax
