// JSON string bodies (see json_string.h).
#include "json_string.h"

#include <cstdint>
#include <cstring>

namespace ckptcat::orbax {
namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Four hex digits at body[i]; -1 when they are not.
int32_t hex4(std::string_view body, size_t i) {
  if (i + 4 > body.size()) return -1;
  int32_t value = 0;
  for (size_t k = 0; k < 4; ++k) {
    const int d = hex_digit(body[i + k]);
    if (d < 0) return -1;
    value = value * 16 + d;
  }
  return value;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// The length of the well-formed UTF-8 sequence at body[i] (RFC 3629: no
// overlong forms, no surrogates, nothing above U+10FFFF), or 0.
size_t utf8_sequence(std::string_view body, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(body[i + k]); };
  const unsigned char b0 = byte(0);
  size_t n = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) n = 2;
  else if (b0 == 0xE0) n = 3, lo = 0xA0;
  else if (b0 == 0xED) n = 3, hi = 0x9F;
  else if (b0 >= 0xE1 && b0 <= 0xEF) n = 3;
  else if (b0 == 0xF0) n = 4, lo = 0x90;
  else if (b0 == 0xF4) n = 4, hi = 0x8F;
  else if (b0 >= 0xF1 && b0 <= 0xF3) n = 4;
  else return 0;
  if (i + n > body.size() || byte(1) < lo || byte(1) > hi) return 0;
  for (size_t k = 2; k < n; ++k)
    if (byte(k) < 0x80 || byte(k) > 0xBF) return 0;
  return n;
}

}  // namespace

size_t json_string_end(std::string_view text, size_t begin) {
  size_t at = begin;
  while (true) {
    const void* quote = at < text.size() ? std::memchr(text.data() + at, '"', text.size() - at) : nullptr;
    if (!quote) return std::string_view::npos;
    const size_t q = static_cast<const char*>(quote) - text.data();
    size_t backslashes = 0;  // an odd run of them escapes the quote
    while (q - backslashes > begin && text[q - backslashes - 1] == '\\') ++backslashes;
    if (backslashes % 2 == 0) return q;
    at = q + 1;
  }
}

std::optional<std::string> decode_json_string(std::string_view body) {
  std::string out;
  out.reserve(body.size());
  size_t i = 0;
  while (i < body.size()) {
    const auto c = static_cast<unsigned char>(body[i]);
    if (c >= 0x20 && c < 0x80 && c != '\\' && c != '"') {
      out += static_cast<char>(c);
      ++i;
    } else if (c >= 0x80) {
      const size_t n = utf8_sequence(body, i);
      if (n == 0) return std::nullopt;
      out.append(body, i, n);
      i += n;
    } else if (c != '\\' || i + 1 >= body.size()) {
      return std::nullopt;  // a control character, a bare quote, or a trailing backslash
    } else {
      const char e = body[i + 1];
      i += 2;
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          int32_t cp = hex4(body, i);
          if (cp < 0) return std::nullopt;
          i += 4;
          if (cp >= 0xDC00 && cp <= 0xDFFF) return std::nullopt;  // a low surrogate first
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (i + 6 > body.size() || body[i] != '\\' || body[i + 1] != 'u') return std::nullopt;
            const int32_t low = hex4(body, i + 2);
            if (low < 0xDC00 || low > 0xDFFF) return std::nullopt;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            i += 6;
          }
          append_utf8(out, static_cast<uint32_t>(cp));
          break;
        }
        default:
          return std::nullopt;
      }
    }
  }
  return out;
}

}  // namespace ckptcat::orbax
