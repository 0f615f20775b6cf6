// JSON output byte-identical to Python's json.dumps with default arguments:
// separators ", " and ": ", ensure_ascii escaping (\uXXXX lowercase, surrogate
// pairs above U+FFFF, short escapes for \n \r \t \b \f, "/" not escaped),
// floats as Python repr, NaN/Infinity tokens. Orbax writes every JSON file of
// its own (and every sharding string) this way.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace ckptcat::pyjson {

// Appends `utf8` as a quoted, ensure_ascii-escaped JSON string.
// Throws ckptcat::Error (kInvalid) on invalid UTF-8.
void append_string(std::string& out, std::string_view utf8);

// Appends a double as Python's repr() does ("0.1", "1e-05", "1e+16", "100.0",
// "NaN", "Infinity", "-Infinity").
void append_double(std::string& out, double value);

// Streaming writer for objects and arrays in insertion order (one per thread;
// it owns the text it builds).
//   Writer w; w.begin_object().key("a").value(1).end_object(); w.str() == "{\"a\": 1}"
class Writer {
 public:
  Writer& begin_object();
  Writer& end_object();
  Writer& begin_array();
  Writer& end_array();
  Writer& key(std::string_view name);
  Writer& value(std::string_view s);
  Writer& value(const char* s) { return value(std::string_view(s)); }
  Writer& value(int64_t v);
  Writer& value(double v);
  Writer& value(bool v);
  Writer& null();
  // Raw, already-serialized JSON (for composing writers).
  Writer& raw(std::string_view json);

  const std::string& str() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  void before_value();
  Writer& close(char bracket);
  std::string out_;
  std::vector<bool> first_;  // one flag per open container: no element written yet
  bool after_key_ = false;
};

// json.dumps of a parsed document, keeping the document's key order
// (use nlohmann::ordered_json to keep the order a file had).
std::string dumps(const nlohmann::ordered_json& value);

}  // namespace ckptcat::pyjson
