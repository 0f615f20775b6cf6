// ParseCache: what an orbax::Reader remembers between the checkpoints it reads
// (one memo per kind of metadata text; see text_memo.h for why and how).
#pragma once

#include <set>
#include <string>

#include "array_metadatas.h"
#include "ckptcat/sharding.h"
#include "sharding_file.h"
#include "text_memo.h"
#include "tree_metadata.h"
#include "zarr.h"

namespace ckptcat::orbax {

// A _METADATA parse with what the item reader derives from it alone.
struct ParsedTree {
  TreeMetadataFile file;
  std::set<std::string> names;  // param names of the entries
  bool needs_store = false;     // some entry is an array or a scalar
  // _sharding parses resolve keys against `names`, so they are kept per tree.
  mutable TextMemo<ShardingFile> shardings;
};

ParsedTree parse_tree(const std::string& text, const std::string& file);

struct ParseCache {
  TextMemo<ParsedTree> trees;                // _METADATA texts
  TextMemo<ArrayWriteMap> array_metadatas;   // array_metadatas/process_N texts
  TextMemo<ZarrArray> zarr2, zarr3;          // .zarray / zarr.json values
  TextMemo<ShardingMetadata> shardings;      // serialized sharding strings
};

}  // namespace ckptcat::orbax
