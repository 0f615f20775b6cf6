// The legacy msgpack `checkpoint` file of an item (orbax-format.md §7): the
// whole tree, with small values inline and big ones replaced by
// "PLACEHOLDER://<param name>" references to TensorStore.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "ckptcat/checkpoint.h"

namespace ckptcat::orbax {

struct LegacyLeaf {
  enum class Kind {
    kInlineArray,  // ext type 1 / 3 (or a chunked array): shape and dtype from the header
    kPlaceholder,  // value in TensorStore under `placeholder`
    kValue,        // a plain Python value (int, float, bool, str, complex)
    kEmpty,        // {} / [] / None
  };
  KeyPath key_path;
  std::string name;  // param_name(key_path)
  Kind kind = Kind::kValue;
  std::optional<Shape> shape;
  std::optional<std::string> dtype;
  std::string placeholder;  // kPlaceholder: the referenced param name
  std::string empty_type;   // kEmpty: "Dict", "List" or "None"
  std::optional<int64_t> int_value;  // kValue integers (used for chunked-array shapes)
};

// Walks the file at `path` (any size: array payloads are skipped, not read).
// Throws Error (kCorruption, kInvalid, ...) naming the file and offset.
std::vector<LegacyLeaf> read_legacy_checkpoint(const std::filesystem::path& path);

}  // namespace ckptcat::orbax
