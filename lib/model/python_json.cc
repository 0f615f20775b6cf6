// Python json.dumps compatible output (see python_json.h).
#include "ckptcat/python_json.h"

#include "ckptcat/error.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace ckptcat::pyjson {
namespace {

constexpr char kHex[] = "0123456789abcdef";

void append_u_escape(std::string& out, uint32_t unit) {
  out += "\\u";
  out += kHex[(unit >> 12) & 0xF];
  out += kHex[(unit >> 8) & 0xF];
  out += kHex[(unit >> 4) & 0xF];
  out += kHex[unit & 0xF];
}

// Decodes one UTF-8 code point starting at s[i]; advances i. Rejects overlong
// forms, surrogates and values above U+10FFFF, as Python's decoder does.
uint32_t decode_utf8(std::string_view s, size_t& i) {
  auto fail = [&]() -> uint32_t {
    throw Error(Error::Code::kInvalid, "invalid UTF-8 at byte " + std::to_string(i));
  };
  const auto b0 = static_cast<unsigned char>(s[i]);
  int len;
  uint32_t cp;
  if (b0 < 0x80) { ++i; return b0; }
  if ((b0 & 0xE0) == 0xC0) { len = 2; cp = b0 & 0x1F; }
  else if ((b0 & 0xF0) == 0xE0) { len = 3; cp = b0 & 0x0F; }
  else if ((b0 & 0xF8) == 0xF0) { len = 4; cp = b0 & 0x07; }
  else return fail();
  if (i + len > s.size()) return fail();
  for (int k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return fail();
    cp = (cp << 6) | (b & 0x3F);
  }
  static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return fail();
  i += len;
  return cp;
}

}  // namespace

void append_string(std::string& out, std::string_view utf8) {
  out += '"';
  size_t i = 0;
  while (i < utf8.size()) {
    const uint32_t cp = decode_utf8(utf8, i);
    switch (cp) {
      case '"': out += "\\\""; continue;
      case '\\': out += "\\\\"; continue;
      case '\n': out += "\\n"; continue;
      case '\r': out += "\\r"; continue;
      case '\t': out += "\\t"; continue;
      case '\b': out += "\\b"; continue;
      case '\f': out += "\\f"; continue;
      default: break;
    }
    if (cp >= 0x20 && cp <= 0x7E) {
      out += static_cast<char>(cp);
    } else if (cp < 0x10000) {
      append_u_escape(out, cp);
    } else {
      const uint32_t v = cp - 0x10000;
      append_u_escape(out, 0xD800 | (v >> 10));
      append_u_escape(out, 0xDC00 | (v & 0x3FF));
    }
  }
  out += '"';
}

void append_double(std::string& out, double value) {
  if (std::isnan(value)) { out += "NaN"; return; }
  if (std::isinf(value)) { out += value < 0 ? "-Infinity" : "Infinity"; return; }
  // Shortest round-trip digits, then Python's repr layout: positional when the
  // decimal exponent is in [-4, 16), scientific ("1e-05", "1.5e+16") otherwise.
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::scientific);
  std::string_view sci(buf, res.ptr - buf);
  const size_t e_pos = sci.find('e');
  std::string_view mantissa = sci.substr(0, e_pos);
  const int exponent = std::stoi(std::string(sci.substr(e_pos + 1)));
  std::string sign;
  if (!mantissa.empty() && mantissa.front() == '-') {
    sign = "-";
    mantissa.remove_prefix(1);
  }
  std::string digits;
  for (char c : mantissa)
    if (c != '.') digits += c;
  out += sign;
  if (exponent >= -4 && exponent < 16) {
    if (exponent < 0) {
      out += "0.";
      out.append(static_cast<size_t>(-exponent - 1), '0');
      out += digits;
    } else {
      const size_t int_len = static_cast<size_t>(exponent) + 1;
      if (digits.size() <= int_len) {
        out += digits;
        out.append(int_len - digits.size(), '0');
        out += ".0";
      } else {
        out += digits.substr(0, int_len);
        out += '.';
        out += digits.substr(int_len);
      }
    }
  } else {
    out += digits.substr(0, 1);
    if (digits.size() > 1) {
      out += '.';
      out += digits.substr(1);
    }
    char exp_buf[16];
    std::snprintf(exp_buf, sizeof exp_buf, "e%c%02d", exponent < 0 ? '-' : '+',
                  exponent < 0 ? -exponent : exponent);
    out += exp_buf;
  }
}

void Writer::before_value() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (!first_.empty()) {
    if (!first_.back()) out_ += ", ";
    first_.back() = false;
  }
}

Writer& Writer::begin_object() {
  before_value();
  out_ += '{';
  first_.push_back(true);
  return *this;
}

Writer& Writer::end_object() { return close('}'); }

Writer& Writer::begin_array() {
  before_value();
  out_ += '[';
  first_.push_back(true);
  return *this;
}

Writer& Writer::end_array() { return close(']'); }

Writer& Writer::close(char bracket) {
  out_ += bracket;
  first_.pop_back();
  return *this;
}

Writer& Writer::key(std::string_view name) {
  before_value();
  append_string(out_, name);
  out_ += ": ";
  after_key_ = true;
  return *this;
}

Writer& Writer::value(std::string_view s) {
  before_value();
  append_string(out_, s);
  return *this;
}

Writer& Writer::value(int64_t v) {
  before_value();
  out_ += std::to_string(v);
  return *this;
}

Writer& Writer::value(double v) {
  before_value();
  append_double(out_, v);
  return *this;
}

Writer& Writer::value(bool v) {
  before_value();
  out_ += v ? "true" : "false";
  return *this;
}

Writer& Writer::null() {
  before_value();
  out_ += "null";
  return *this;
}

Writer& Writer::raw(std::string_view json) {
  before_value();
  out_ += json;
  return *this;
}

namespace {

void dump_into(Writer& w, const nlohmann::ordered_json& v) {
  using T = nlohmann::ordered_json::value_t;
  switch (v.type()) {
    case T::null: w.null(); break;
    case T::boolean: w.value(v.get<bool>()); break;
    case T::number_integer: w.value(v.get<int64_t>()); break;
    case T::number_unsigned: w.raw(std::to_string(v.get<uint64_t>())); break;
    case T::number_float: w.value(v.get<double>()); break;
    case T::string: w.value(v.get_ref<const std::string&>()); break;
    case T::array:
      w.begin_array();
      for (const auto& e : v) dump_into(w, e);
      w.end_array();
      break;
    case T::object:
      w.begin_object();
      for (const auto& [k, e] : v.items()) {
        w.key(k);
        dump_into(w, e);
      }
      w.end_object();
      break;
    case T::binary:
    case T::discarded:
      throw Error(Error::Code::kInvalid, "pyjson::dumps: value has no JSON form");
  }
}

}  // namespace

std::string dumps(const nlohmann::ordered_json& value) {
  Writer w;
  dump_into(w, value);
  return w.take();
}

}  // namespace ckptcat::pyjson
