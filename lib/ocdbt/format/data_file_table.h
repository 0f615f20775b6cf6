// The data file table that starts the reference data of manifests, version-tree
// nodes and B+tree nodes (spec §5). Every data_file_id inside the structure is an
// index into it.
//
//   num_files                  varint
//   path_prefix_length[1..n)   varint16  bytes shared with the previous path
//   path_suffix_length[0..n)   varint16
//   base_path_length[0..n)     varint16
//   path_suffix[0..n)          bytes, concatenated
//
// path[i] = path[i-1][0:prefix[i]] + suffix[i]; its first base_path_length[i]
// bytes are the base path, the rest the relative path. Entries are sorted by
// (base, relative) and a shared prefix may reach into the relative part only
// when both base paths have the same length.
//
// Transitive paths: each decoded base path is prefixed with the transitive path
// of the structure holding the table: "" for a manifest; for a node, the
// (already prefixed) base path of the reference that led to it. A data file is
// then database_dir / (base_path + relative_path), and a child node reached
// through entry i has transitive path base_path[i].
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "byte_reader.h"

namespace ckptcat::ocdbt::format {

struct DataFile {
  std::string base_path;      // includes the transitive path
  std::string relative_path;  // e.g. "d/<32 hex>"
  std::string path() const { return base_path + relative_path; }
};

using DataFileTable = std::vector<DataFile>;

// Decodes a table at the reader's position; throws kCorruption on a violation.
DataFileTable decode_data_file_table(ByteReader& in, std::string_view transitive_path);

}  // namespace ckptcat::ocdbt::format
