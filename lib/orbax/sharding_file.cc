// `_sharding` reading (see sharding_file.h).
//
// On-disk form: one compact JSON object written by TensorStore's json driver,
// keys sorted; key = base64.urlsafe_b64encode(utf8(param name)) with padding,
// value = a JSON string holding the serialized sharding (§4.3), e.g.
//   {"YQ==":"{\"sharding_type\": \"SingleDeviceSharding\", \"device_str\": \"cpu:0\"}"}
// Between 2023-09 and 2023-10 the keys were raw param names used as JSON
// pointers, so a name holding "/" became nested objects.
#include "sharding_file.h"

#include "json_file.h"
#include "json_string.h"

namespace ckptcat::orbax {
namespace {

using json = nlohmann::ordered_json;

int base64url_digit(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

// Flattens a legacy JSON-pointer object into name -> string value.
void flatten_legacy(const std::string& prefix, const json& value,
                    std::map<std::string, const json*>& out, int depth) {
  if (value.is_object() && depth < 64) {
    for (const auto& [k, v] : value.items()) flatten_legacy(prefix + "/" + k, v, out, depth + 1);
  } else {
    out[prefix] = &value;
  }
}

}  // namespace

std::optional<std::string> decode_base64url(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    int d[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = text[i + k];
      if (c == '=' && last && k >= 2) { d[k] = 0; ++pad; continue; }
      if (pad > 0) return std::nullopt;  // data after padding
      d[k] = base64url_digit(c);
      if (d[k] < 0) return std::nullopt;
    }
    const uint32_t bits = (d[0] << 18) | (d[1] << 12) | (d[2] << 6) | d[3];
    if ((pad == 1 && (bits & 0xFF)) || (pad == 2 && (bits & 0xFFFF))) return std::nullopt;
    out += static_cast<char>(bits >> 16);
    if (pad < 2) out += static_cast<char>((bits >> 8) & 0xFF);
    if (pad < 1) out += static_cast<char>(bits & 0xFF);
  }
  return out;
}

namespace {

// The common form scanned: one object whose keys are base64 of the item's
// param names and whose values are strings or null. A pod's file repeats one
// 90 KB mesh string for every array: string ends are found with memchr, each
// value's raw bytes are compared with those seen before, and only a value not
// seen is decoded (json_string.h) and kept, once, shared. No JSON tree of the
// (64 MB) text is built and nothing is copied per entry. Anything else (legacy
// keys, other value types, syntax errors) returns false; the DOM path below
// then reads the file and reports it.
class ShardingScanner {
 public:
  ShardingScanner(std::string_view text, const ParamIndex& names, ShardingFile& out)
      : text_(text), names_(names), out_(out) {}

  bool scan() {
    skip_space();
    if (!take('{')) return false;
    skip_space();
    if (take('}')) return at_end();
    while (true) {
      std::string_view key_body;
      if (!string_body(key_body)) return false;
      const auto key = decode_json_string(key_body);
      std::optional<std::string> name = key ? decode_base64url(*key) : std::nullopt;
      if (!name || !names_.contains(*name)) return false;
      skip_space();
      if (!take(':')) return false;
      skip_space();
      if (text_.substr(pos_, 4) == "null") {  // no sharding (a later duplicate key wins)
        pos_ += 4;
        out_.by_name.erase(*name);
      } else {
        std::string_view value_body;
        if (!string_body(value_body)) return false;
        auto value = intern(value_body);
        if (!value) return false;
        out_.by_name[std::move(*name)] = std::move(value);
      }
      skip_space();
      if (take('}')) return at_end();
      if (!take(',')) return false;
      skip_space();
    }
  }

 private:
  void skip_space() {
    while (pos_ < text_.size() &&
           (text_[pos_] == ' ' || text_[pos_] == '\n' || text_[pos_] == '\r' || text_[pos_] == '\t'))
      ++pos_;
  }
  bool take(char c) {
    if (pos_ >= text_.size() || text_[pos_] != c) return false;
    ++pos_;
    return true;
  }
  bool at_end() {
    skip_space();
    return pos_ == text_.size();
  }
  // A string at pos_: its body, raw (escapes not decoded).
  bool string_body(std::string_view& body) {
    if (!take('"')) return false;
    const size_t end = json_string_end(text_, pos_);
    if (end == std::string_view::npos) return false;
    body = text_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return true;
  }
  // The decoded value of a raw body, shared by every entry with the same
  // bytes; null when the body is not a valid JSON string. Entries of one mesh
  // come in runs, so the previous body is compared first.
  std::shared_ptr<const std::string> intern(std::string_view body) {
    if (last_ && last_body_ == body) return last_;
    auto& value = distinct_[body];
    if (!value) {
      auto decoded = decode_json_string(body);
      if (!decoded) return nullptr;
      value = std::make_shared<const std::string>(std::move(*decoded));
    }
    last_body_ = body;
    last_ = value;
    return value;
  }

  std::string_view text_;
  size_t pos_ = 0;
  const ParamIndex& names_;
  ShardingFile& out_;
  std::unordered_map<std::string_view, std::shared_ptr<const std::string>> distinct_;  // raw body ->
  std::string_view last_body_;
  std::shared_ptr<const std::string> last_;
};

ShardingFile parse_sharding_file(const std::string& text, const std::string& file,
                                 const ParamIndex& names) {
  {
    ShardingFile scanned;
    scanned.present = true;
    if (ShardingScanner(text, names, scanned).scan()) return scanned;
  }
  ShardingFile out;
  json doc;
  try {
    doc = parse_json(text, file);
  } catch (const Error& e) {
    out.problems.push_back({Problem::Severity::kError, file, e.message()});
    return out;
  }
  if (!doc.is_object()) {
    out.problems.push_back({Problem::Severity::kError, file, "_sharding must hold a JSON object"});
    return out;
  }
  out.present = true;
  for (const auto& [key, value] : doc.items()) {
    const auto name = decode_base64url(key);
    if (name && names.contains(*name)) {
      if (value.is_string())
        out.by_name[*name] = std::make_shared<const std::string>(value.get<std::string>());
      else if (!value.is_null())
        out.problems.push_back({Problem::Severity::kError, file,
                                "entry for \"" + *name + "\" is not a string"});
      continue;
    }
    std::map<std::string, const json*> flat;
    flatten_legacy(key, value, flat, 0);
    bool used = false;
    for (const auto& [raw_name, raw_value] : flat) {
      // The top-level key itself has no leading "/".
      const std::string candidate = raw_name;
      if (names.contains(candidate) && raw_value->is_string() && !out.by_name.count(candidate)) {
        out.by_name[candidate] = std::make_shared<const std::string>(raw_value->get<std::string>());
        used = true;
      }
    }
    out.problems.push_back(
        {Problem::Severity::kWarning, file,
         "key \"" + key + "\" is not base64 of a param name of this item" +
             (used ? " (legacy raw-name key from 2023 Orbax; its sharding was used)"
                   : " (legacy raw-name key or stale entry; ignored)")});
  }
  return out;
}

}  // namespace

std::shared_ptr<const ShardingFile> read_sharding_file(const std::filesystem::path& item_dir,
                                                       const ParamIndex& names,
                                                       TextMemo<ShardingFile>* memo,
                                                       std::string* buffer) {
  const auto path = item_dir / "_sharding";
  const std::string file = path.string();
  if (!entry_exists(path)) return std::make_shared<const ShardingFile>();
  const auto parse = [&](const std::string& text) { return parse_sharding_file(text, file, names); };
  try {
    return parse_file(memo, path, buffer, parse,
                      [](const ShardingFile& f) { return f.problems.empty(); });
  } catch (const Error& e) {  // reading failed (parse_sharding_file records its own)
    ShardingFile out;
    out.problems.push_back({Problem::Severity::kError, file, e.message()});
    return std::make_shared<const ShardingFile>(std::move(out));
  }
}

}  // namespace ckptcat::orbax
