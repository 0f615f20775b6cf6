#include "strings_file.h"

#include "json_file.h"

namespace ckptcat::orbax {

StringsFile::StringsFile(const std::filesystem::path& item_dir, std::vector<Problem>& problems) {
  const auto path = item_dir / "_strings.json";
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return;
  try {
    doc_ = read_json_file(path);
    if (!doc_.is_object()) {
      problems.push_back({Problem::Severity::kError, path.string(), "not a JSON object"});
      return;
    }
    present_ = true;
  } catch (const Error& e) {
    problems.push_back({Problem::Severity::kError, path.string(), e.message()});
  }
}

std::optional<std::string> StringsFile::value(const std::string& param) const {
  if (!present_) return std::nullopt;
  const nlohmann::ordered_json* node = &doc_;
  size_t start = 0;
  while (true) {
    const size_t slash = param.find('/', start);
    std::string token = param.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    // JSON pointer unescaping: ~1 -> "/", then ~0 -> "~".
    for (size_t p = 0; (p = token.find("~1", p)) != std::string::npos; ++p) token.replace(p, 2, "/");
    for (size_t p = 0; (p = token.find("~0", p)) != std::string::npos; ++p) token.replace(p, 2, "~");
    if (!node->is_object()) return std::nullopt;
    const auto it = node->find(token);
    if (it == node->end()) return std::nullopt;
    node = &*it;
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  if (!node->is_string()) return std::nullopt;
  return node->get<std::string>();
}

}  // namespace ckptcat::orbax
