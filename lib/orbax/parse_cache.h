// ParseCache: what an orbax::Reader remembers between the checkpoints it reads
// (one memo per kind of metadata text; see text_memo.h for why and how).
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "array_metadatas.h"
#include "param_index.h"
#include "ckptcat/sharding.h"
#include "sharding_file.h"
#include "text_memo.h"
#include "tree_metadata.h"
#include "zarr.h"

namespace ckptcat::orbax {

// A _METADATA parse with what the item reader derives from it alone.
struct ParsedTree {
  TreeMetadataFile file;
  std::vector<std::string> entry_names;      // param_name of each entry, in file order
  std::shared_ptr<const ParamIndex> params;  // the same names, for _sharding and the array store
  bool needs_store = false;                  // some entry is an array or a scalar
  // Entry -> why its name cannot be a location inside the item (item_path.h):
  // checked once per distinct _METADATA text, not per leaf and step. Usually empty.
  std::unordered_map<size_t, std::string> name_problems;
  const std::string* name_problem(size_t entry) const {
    if (name_problems.empty()) return nullptr;
    const auto it = name_problems.find(entry);
    return it == name_problems.end() ? nullptr : &it->second;
  }
  // _sharding parses resolve keys against `params`, so they are kept per tree.
  // Any size is kept: a pod's 64 MB text repeated by every step is then read
  // and compared, never parsed again. The parse itself holds each distinct
  // sharding string once (sharding_file.h), so memory is the text and what
  // is distinct in it.
  mutable TextMemo<ShardingFile> shardings{2, kMaxJsonFileBytes};
};

ParsedTree parse_tree(const std::string& text, const std::string& file);

// The limits hold the files of a few items of one run (big files count a few
// times their size once parsed) and every distinct small text of a big tree.
struct ParseCache {
  static constexpr size_t kMiB = size_t{1} << 20;
  TextMemo<ParsedTree> trees{4, 16 * kMiB};               // _METADATA texts
  TextMemo<ArrayWriteMap> array_metadatas{4, 16 * kMiB};  // array_metadatas/process_N texts
  TextMemo<ZarrArray> zarr2{4096, 4 * kMiB};              // .zarray values
  TextMemo<ZarrArray> zarr3{4096, 4 * kMiB};              // zarr.json values
  TextMemo<ShardingMetadata> shardings{4096, 4 * kMiB};   // serialized sharding strings
  std::string file_text;  // the buffer metadata files are read into (json_file.h)
};

}  // namespace ckptcat::orbax
