// Bounded JSON file reading (see json_file.h).
#include "json_file.h"

#include "item_path.h"
#include "local_store.h"
#include "mounts.h"
#include "posix_file.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ckptcat/python_json.h"

namespace ckptcat::orbax {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

// Sentinels standing for the non-standard tokens while nlohmann parses. They
// start with a NUL character, which a JSON text can only hold escaped, so a
// substituted token cannot be confused with a string from the file unless the
// file spells exactly "\u0000ckptcat:..." (documented limitation).
constexpr std::string_view kNaN = "\"\\u0000ckptcat:NaN\"";
constexpr std::string_view kInf = "\"\\u0000ckptcat:Infinity\"";
constexpr std::string_view kNegInf = "\"\\u0000ckptcat:-Infinity\"";

// Where a substitution shifted the text: from `substituted_end` on, offsets in
// the substituted text are `shift` bytes past the same byte of the original.
struct Shift {
  size_t substituted_end = 0;
  size_t shift = 0;
};

// Replaces NaN / Infinity / -Infinity outside strings with sentinel strings,
// recording each shift. Returns false (and leaves `out` untouched) when the
// text has none.
bool substitute_tokens(std::string_view text, std::string& out, std::vector<Shift>& shifts) {
  bool in_string = false, any = false;
  size_t copied = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') { in_string = true; continue; }
    std::string_view sentinel;
    size_t len = 0;
    if (text.substr(i, 3) == "NaN") { sentinel = kNaN; len = 3; }
    else if (text.substr(i, 8) == "Infinity") { sentinel = kInf; len = 8; }
    else if (text.substr(i, 9) == "-Infinity") { sentinel = kNegInf; len = 9; }
    if (len == 0) continue;
    if (!any) out.reserve(text.size() + 64);
    any = true;
    out.append(text.substr(copied, i - copied));
    out.append(sentinel);
    shifts.push_back({out.size(), out.size() - (i + len)});
    i += len - 1;
    copied = i + 1;
  }
  if (any) out.append(text.substr(copied));
  return any;
}

// The offset in the original text of byte `offset` of the substituted text.
size_t original_offset(size_t offset, const std::vector<Shift>& shifts) {
  size_t shift = 0;
  for (const auto& s : shifts) {
    if (s.substituted_end > offset) break;
    shift = s.shift;
  }
  return offset - shift;
}

// A parse error told the way a user reads a file: the byte that broke the
// parse and where it is as line and column (both from 1) of `text`.
// nlohmann's own message is not used: it carries exception ids and parser
// internals.
std::string describe_parse_error(std::string_view text, size_t offset) {
  size_t line = 1, line_start = 0;
  for (size_t i = 0; i < offset && i < text.size(); ++i)
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  std::string what;
  if (offset >= text.size()) {
    what = "unexpected end of text";
  } else if (const auto c = static_cast<unsigned char>(text[offset]); c >= 0x20 && c < 0x7f) {
    what = std::string("unexpected '") + static_cast<char>(c) + "'";
  } else {
    static constexpr char kHex[] = "0123456789abcdef";
    what = std::string("unexpected byte 0x") + kHex[c >> 4] + kHex[c & 15];
  }
  return what + " at line " + std::to_string(line) + ", column " +
         std::to_string(offset - line_start + 1);
}

std::optional<double> sentinel_value(const std::string& s) {
  if (s.size() < 9 || s[0] != '\0' || s.compare(1, 8, "ckptcat:") != 0) return std::nullopt;
  const std::string_view token = std::string_view(s).substr(9);
  if (token == "NaN") return std::numeric_limits<double>::quiet_NaN();
  if (token == "Infinity") return std::numeric_limits<double>::infinity();
  if (token == "-Infinity") return -std::numeric_limits<double>::infinity();
  return std::nullopt;
}

struct DepthExceeded {};

// Builds the document from nlohmann's SAX events, like its own DOM builder
// but with the nesting depth capped, the sentinel strings turned back into
// doubles, and linear time for big objects. ordered_json finds each new key
// by scanning the keys before it, and its vector of pair<const string, json>
// deep-copies every member when it grows; a 1,000-leaf _METADATA cost ~180k
// instructions a leaf. Here an open object gathers its members in a vector
// that moves them, with a hash index once it has more than a few keys, and
// becomes an ordered_json object of the right size when it closes. Duplicate
// keys behave as in Python's json module and in nlohmann: first position,
// last value.
class DomBuilder {
 public:
  using number_integer_t = json::number_integer_t;
  using number_unsigned_t = json::number_unsigned_t;
  using number_float_t = json::number_float_t;
  using string_t = json::string_t;
  using binary_t = json::binary_t;

  explicit DomBuilder(bool has_sentinels) : has_sentinels_(has_sentinels) {}

  bool null() { return put(nullptr); }
  bool boolean(bool b) { return put(b); }
  bool number_integer(number_integer_t n) { return put(n); }
  bool number_unsigned(number_unsigned_t n) { return put(n); }
  bool number_float(number_float_t x, const string_t&) { return put(x); }
  bool binary(binary_t& b) { return put(json::binary(std::move(b))); }
  bool string(string_t& s) {
    if (has_sentinels_)
      if (auto v = sentinel_value(s)) return put(*v);
    return put(std::move(s));
  }
  bool start_object(std::size_t) { return open(false); }
  bool start_array(std::size_t) { return open(true); }
  bool end_array() {
    open_.pop_back();
    return true;
  }
  bool end_object() {
    Frame& f = open_.back();
    json::object_t object;
    object.reserve(f.members.size());
    for (auto& [k, v] : f.members) object.emplace_back(std::move(k), std::move(v));
    *f.slot = json(std::move(object));
    open_.pop_back();
    return true;
  }

  bool key(string_t& k) {
    Frame& f = open_.back();
    constexpr size_t kIndexFrom = 16;  // below it a scan is cheaper than hashing
    if (!f.index && f.members.size() >= kIndexFrom) {
      f.index = std::make_unique<std::unordered_map<std::string, size_t>>();
      for (size_t i = 0; i < f.members.size(); ++i) f.index->emplace(f.members[i].first, i);
    }
    if (f.index) {
      const auto [it, added] = f.index->emplace(k, f.members.size());
      if (!added) return expect(&f.members[it->second].second);
    } else {
      for (auto& member : f.members)
        if (member.first == k) return expect(&member.second);
    }
    f.members.emplace_back(std::move(k), nullptr);
    return expect(&f.members.back().second);
  }

  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& e) {
    error_position_ = position;
    number_out_of_range_ = e.id == 406;
    return false;
  }

  json result() { return std::move(root_); }
  size_t error_position() const { return error_position_; }
  bool number_out_of_range() const { return number_out_of_range_; }

 private:
  struct Frame {
    json* slot;     // where the container goes (an array is built in place)
    bool is_array;
    std::vector<std::pair<std::string, json>> members;                // an object's, in order
    std::unique_ptr<std::unordered_map<std::string, size_t>> index;  // key -> member, once big
  };

  // Where the next value goes: the root, an array's end, or the member the
  // last key chose. Pointers stay valid: a container only grows after the
  // value before it is complete, and moving a Frame keeps its members' buffer.
  json* slot() {
    if (open_.empty()) return &root_;
    if (!open_.back().is_array) return expected_;
    auto& items = *open_.back().slot->get_ptr<json::array_t*>();
    items.emplace_back();
    return &items.back();
  }
  template <typename V>
  bool put(V&& v) {
    *slot() = std::forward<V>(v);
    return true;
  }
  bool open(bool is_array) {
    if (open_.size() >= static_cast<size_t>(kMaxJsonDepth)) throw DepthExceeded{};
    json* at = slot();
    if (is_array) *at = json::array();
    open_.push_back({at, is_array, {}, nullptr});
    return true;
  }
  bool expect(json* member) {
    expected_ = member;
    return true;
  }

  bool has_sentinels_;
  json root_;
  std::vector<Frame> open_;
  json* expected_ = nullptr;
  size_t error_position_ = 0;
  bool number_out_of_range_ = false;
};

}  // namespace

namespace {

// Whether the folder listing of an object URL's parent names it (as a file,
// or as a folder too when `folders`). The listing is kept by the store, so
// asking about each file of one folder costs one request.
bool listed(const fs::path& url, bool folders) {
  try {
    const storage::Listing listing = storage::store_for(url.native()).list(url.parent_path().native());
    const std::string name = url.filename().string();
    if (std::binary_search(listing.folders.begin(), listing.folders.end(), name)) return folders;
    return std::any_of(listing.files.begin(), listing.files.end(),
                       [&](const storage::Entry& e) { return e.name == name; });
  } catch (const Error&) {
    return false;  // reading it then reports why
  }
}

void check_size(uint64_t size, uint64_t max_bytes, const fs::path& file) {
  if (size > max_bytes)
    throw Error(Error::Code::kInvalid,
                "file is " + std::to_string(size) + " bytes, over the " + std::to_string(max_bytes) +
                    "-byte limit for metadata files",
                file.string());
}

}  // namespace

bool entry_or_object_exists(const fs::path& path) {
  if (storage::is_url(path.native())) return listed(path, true);
  std::error_code ec;
  return fs::exists(path, ec);
}

bool regular_file_exists(const fs::path& path) {
  if (storage::is_url(path.native())) return listed(path, false);
  std::error_code ec;
  return fs::is_regular_file(path, ec);
}

bool entry_exists(const fs::path& path) {
  if (storage::is_url(path.native())) return listed(path, true);
  std::error_code ec;
  return fs::exists(fs::symlink_status(path, ec));
}

bool file_entry_exists(const fs::path& path) {
  if (storage::is_url(path.native())) return listed(path, false);
  std::error_code ec;
  const auto type = fs::symlink_status(path, ec).type();
  return !ec && type != fs::file_type::not_found && type != fs::file_type::directory;
}

namespace {

}  // namespace

storage::PosixFile open_metadata_file(const fs::path& file, uint64_t max_bytes) {
  auto opened = storage::PosixFile::open_unless_link(file);
  if (!opened) {
    std::string why;
    const auto target = storage::LocalItemRoot(file.parent_path()).resolve(file.filename().string(), why);
    if (!target)
      throw Error(Error::Code::kInvalid,
                  storage::escape_message("symbolic link", file.filename().string(), why), file.string());
    if (!entry_exists(*target)) {
      std::error_code ec;
      throw Error(Error::Code::kNotFound,
                  "dangling symbolic link (its target " + fs::read_symlink(file, ec).string() +
                      " does not exist)",
                  file.string());
    }
    opened.emplace(*target, file.string());
  }
  storage::PosixFile& open_file = *opened;
  check_size(open_file.size(), max_bytes, file);
  return std::move(open_file);
}

std::unique_ptr<storage::RandomAccessFile> open_checkpoint_file(const fs::path& file, uint64_t max_bytes) {
  if (!storage::is_url(file.native()))
    return std::make_unique<storage::LocalFile>(open_metadata_file(file, max_bytes));
  auto opened = storage::store_for(file.native()).open(file.native());
  check_size(opened->size(), max_bytes, file);
  return opened;
}

void read_file_bounded(const fs::path& file, std::string& out, uint64_t max_bytes) {
  if (storage::is_url(file.native())) {
    storage::store_for(file.native()).read_bounded(file.native(), out, max_bytes);
    return;
  }
  storage::PosixFile open_file = open_metadata_file(file, max_bytes);
  out.resize(open_file.size());
  open_file.read_next(out.data(), open_file.size());
}

bool read_file_unless_equal(const fs::path& file, std::string_view expected, std::string& out,
                            uint64_t max_bytes) {
  if (storage::is_url(file.native())) {  // an object is fetched whole anyway
    std::string text;
    read_file_bounded(file, text, max_bytes);
    if (text == expected) return true;
    out = std::move(text);
    return false;
  }
  storage::PosixFile open_file = open_metadata_file(file, max_bytes);
  const uint64_t size = open_file.size();
  uint64_t same = 0;  // leading bytes known equal to `expected`
  if (size == expected.size()) {
    char chunk[64 << 10];  // stays in cache while compared
    while (same < size) {
      const uint64_t n = std::min<uint64_t>(sizeof chunk, size - same);
      open_file.read_next(chunk, n);
      if (std::memcmp(chunk, expected.data() + same, n) != 0) {  // read it whole after all
        out.resize(size);
        std::memcpy(out.data(), expected.data(), same);
        std::memcpy(out.data() + same, chunk, n);
        open_file.read_next(out.data() + same + n, size - same - n);
        return false;
      }
      same += n;
    }
    return true;
  }
  out.resize(size);
  open_file.read_next(out.data(), size);
  return false;
}

std::string read_file_bounded(const fs::path& file, uint64_t max_bytes) {
  std::string data;
  read_file_bounded(file, data, max_bytes);
  return data;
}

json parse_json(std::string_view text, const std::string& file) {
  std::string substituted;
  std::vector<Shift> shifts;
  const bool has_tokens = substitute_tokens(text, substituted, shifts);
  const std::string_view input = has_tokens ? std::string_view(substituted) : text;
  // Every nlohmann exception ends here, turned into a plain message: callers
  // show Error::message() to users as it is.
  DomBuilder builder(has_tokens);
  bool parsed = false;
  try {
    parsed = json::sax_parse(input.begin(), input.end(), &builder);
  } catch (const DepthExceeded&) {
    throw Error(Error::Code::kInvalid,
                "JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels", file);
  }
  if (parsed) return builder.result();
  if (builder.number_out_of_range())
    throw Error(Error::Code::kInvalid, "not valid JSON: a number is too large for a double", file);
  // The position counts from 1 and points at the byte that broke the parse
  // (one past the end for a truncated text).
  const size_t at = builder.error_position();
  const size_t offset = original_offset(at > 0 ? at - 1 : 0, shifts);
  throw Error(Error::Code::kInvalid, "not valid JSON: " + describe_parse_error(text, offset), file,
              offset);
}

json read_json_file(const fs::path& file, uint64_t max_bytes) {
  return parse_json(read_file_bounded(file, max_bytes), file.string());
}

std::optional<int64_t> get_int64(const json& object, const char* key, const std::string& file) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::nullopt;
  if (it->is_number_integer()) {
    if (it->is_number_unsigned() &&
        it->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      throw Error(Error::Code::kInvalid, std::string("\"") + key + "\" exceeds int64", file);
    return it->get<int64_t>();
  }
  throw Error(Error::Code::kInvalid,
              std::string("\"") + key + "\" must be an integer, not " + it->type_name(), file);
}

std::vector<int64_t> to_shape(const json& value, const std::string& file, const std::string& what) {
  if (!value.is_array())
    throw Error(Error::Code::kInvalid, what + " must be a list of integers", file);
  std::vector<int64_t> shape;
  shape.reserve(value.size());
  for (const auto& d : value) {
    if (!d.is_number_integer() ||
        (d.is_number_unsigned() &&
         d.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())))
      throw Error(Error::Code::kInvalid, what + " must be a list of integers", file);
    shape.push_back(d.get<int64_t>());
  }
  return shape;
}

std::string to_python_json(const json& value) { return pyjson::dumps(value); }

}  // namespace ckptcat::orbax
