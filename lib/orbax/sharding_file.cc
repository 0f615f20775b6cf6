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

// The common form streamed: one object whose keys are base64 of the item's
// param names and whose values are strings or null. A pod's file repeats one
// 50 KB mesh string for every array: each distinct value is kept once and
// shared, and no JSON tree of the (64 MB) text is built. Anything else (legacy
// keys, other value types, syntax errors) stops the stream; the DOM path below
// then reads the file and reports it.
class StreamedShardingFile : public nlohmann::json_sax<nlohmann::json> {
 public:
  StreamedShardingFile(const ParamIndex& names, ShardingFile& out) : names_(names), out_(out) {}

  bool start_object(std::size_t) override { return depth_++ == 0; }
  bool end_object() override {
    --depth_;
    return true;
  }
  bool key(string_t& key) override {
    name_ = decode_base64url(key);
    return name_ && names_.contains(*name_);
  }
  bool string(string_t& value) override {
    if (depth_ != 1) return false;
    out_.by_name[std::move(*name_)] = intern(std::move(value));
    return true;
  }
  bool null() override {  // a null entry: no sharding (a later duplicate key wins)
    if (depth_ != 1) return false;
    out_.by_name.erase(*name_);
    return true;
  }
  bool boolean(bool) override { return false; }
  bool number_integer(number_integer_t) override { return false; }
  bool number_unsigned(number_unsigned_t) override { return false; }
  bool number_float(number_float_t, const string_t&) override { return false; }
  bool binary(binary_t&) override { return false; }
  bool start_array(std::size_t) override { return false; }
  bool end_array() override { return false; }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }

 private:
  // The previous value is compared first: entries of one mesh come in runs.
  std::shared_ptr<const std::string> intern(std::string value) {
    if (last_ && *last_ == value) return last_;
    auto [it, added] = distinct_.try_emplace(std::move(value));
    if (added) it->second = std::make_shared<const std::string>(it->first);
    last_ = it->second;
    return last_;
  }

  const ParamIndex& names_;
  ShardingFile& out_;
  int depth_ = 0;
  std::optional<std::string> name_;
  std::unordered_map<std::string, std::shared_ptr<const std::string>> distinct_;
  std::shared_ptr<const std::string> last_;
};

ShardingFile parse_sharding_file(const std::string& text, const std::string& file,
                                 const ParamIndex& names) {
  {
    ShardingFile streamed;
    streamed.present = true;
    StreamedShardingFile sax(names, streamed);
    if (nlohmann::json::sax_parse(text, &sax)) return streamed;
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
