#include "strings_file.h"

#include "json_file.h"

namespace ckptcat::orbax {
namespace {

// JSON pointer unescaping (RFC 6901): "~1" stands for "/", "~0" for "~".
std::string unescape_pointer_token(std::string_view escaped) {
  std::string out;
  out.reserve(escaped.size());
  for (size_t i = 0; i < escaped.size(); ++i) {
    const bool escape = escaped[i] == '~' && i + 1 < escaped.size() &&
                        (escaped[i + 1] == '0' || escaped[i + 1] == '1');
    if (!escape) {
      out += escaped[i];
      continue;
    }
    out += escaped[i + 1] == '1' ? '/' : '~';
    ++i;
  }
  return out;
}

}  // namespace

StringsFile::StringsFile(const std::filesystem::path& item_dir, std::vector<Problem>& problems) {
  const auto path = item_dir / "_strings.json";
  if (!entry_exists(path)) return;
  try {
    doc_ = read_json_file(path);
    if (!doc_.is_object()) {
      problems.push_back({Problem::Severity::kError, path.string(), "not a JSON object"});
      return;
    }
    present_ = true;
  } catch (const Error& e) {
    problems.push_back(Problem::from_error(e, Problem::Severity::kError, path.string()));
  }
}

std::optional<std::string> StringsFile::value(const std::string& param) const {
  if (!present_) return std::nullopt;
  const nlohmann::ordered_json* node = &doc_;
  size_t start = 0;
  while (true) {
    const size_t slash = param.find('/', start);
    const std::string token = unescape_pointer_token(std::string_view(param).substr(
        start, slash == std::string::npos ? std::string::npos : slash - start));
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
