// array_metadatas/process_<N> files (orbax-format.md §5).
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ckptcat/checkpoint.h"
#include "text_memo.h"

namespace ckptcat::orbax {

struct ArrayWriteMetadata {
  std::optional<Shape> write_shape;
  std::optional<Shape> chunk_shape;
  std::optional<std::string> random_key_impl;  // ext_metadata.random_key_impl
  bool operator==(const ArrayWriteMetadata&) const = default;
};

using ArrayWriteMap = std::map<std::string, ArrayWriteMetadata>;  // by param name

struct ArrayMetadatas {
  std::vector<int64_t> processes;  // process indices found, ascending
  // From the lowest process index (all must agree; disagreements are problems).
  // Shared with `memo` when one is given; never null.
  std::shared_ptr<const ArrayWriteMap> by_name = std::make_shared<const ArrayWriteMap>();
  std::vector<Problem> problems;
};

// Reads every <item>/array_metadatas/process_<decimal> file. Missing folder:
// empty result, no problem (Orbax does not need it).
// With a memo, a process file whose text was parsed before is not parsed again.
// `buffer`, when given, receives each file's text (json_file.h read_file_bounded).
ArrayMetadatas read_array_metadatas(const std::filesystem::path& item_dir,
                                    TextMemo<ArrayWriteMap>* memo = nullptr,
                                    std::string* buffer = nullptr);

}  // namespace ckptcat::orbax
