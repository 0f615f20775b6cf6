// The `_sharding` file of an item (orbax-format.md §4.2).
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <unordered_map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ckptcat/checkpoint.h"
#include "param_index.h"
#include "text_memo.h"

namespace ckptcat::orbax {

// Decodes URL-safe base64 with `=` padding (Python's urlsafe_b64encode
// output). nullopt for anything else: wrong alphabet, missing or misplaced
// padding, non-zero trailing bits.
std::optional<std::string> decode_base64url(std::string_view text);

struct ShardingFile {
  bool present = false;
  // param name -> the serialized sharding string exactly as stored (null values
  // are left out; empty strings kept). Equal strings are usually one shared
  // string: a pod's file repeats one mesh for every array.
  std::unordered_map<std::string, std::shared_ptr<const std::string>> by_name;
  std::vector<Problem> problems;
};

// Reads <item>/_sharding. `names` are the item's param names; keys that are not
// base64 of one of them are legacy raw-name keys (2023) or junk and are
// reported. A legacy raw-name key naming a known param is still used (nested
// objects are JSON-pointer paths: their keys are joined with "/").
// The result depends on `names` as well as on the text, so a `memo`, when
// given, must be one used only with these same names (the item reader keeps
// one per distinct _METADATA). Only results without problems are kept.
// `buffer`, when given, receives the file's text (json_file.h read_file_bounded).
std::shared_ptr<const ShardingFile> read_sharding_file(const std::filesystem::path& item_dir,
                                                       const ParamIndex& names,
                                                       TextMemo<ShardingFile>* memo = nullptr,
                                                       std::string* buffer = nullptr);

}  // namespace ckptcat::orbax
