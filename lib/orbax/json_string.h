// The body of a JSON string (RFC 8259 §7), found and decoded without a JSON
// parser: the `_sharding` reader scans a pod's 64 MB file for string
// boundaries at memchr speed and decodes only the values it has not seen.
// Pure functions over bytes.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace ckptcat::orbax {

// The index of the quote closing the string whose body starts at `begin`
// (just after its opening quote), or npos when the text ends first.
size_t json_string_end(std::string_view text, size_t begin);

// Decodes a string body (the bytes between the quotes) as a JSON parser does:
// escapes, \uXXXX with surrogate pairs, UTF-8 checked. nullopt when the body is
// not valid JSON (unknown escape, raw control character, lone surrogate,
// invalid UTF-8).
std::optional<std::string> decode_json_string(std::string_view body);

}  // namespace ckptcat::orbax
