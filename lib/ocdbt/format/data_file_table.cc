#include "data_file_table.h"

#include <algorithm>

namespace ckptcat::ocdbt::format {

DataFileTable decode_data_file_table(ByteReader& in, std::string_view transitive_path) {
  const uint64_t num_files = in.varint64("num_files");
  // Each file needs at least a suffix-length and a base-length byte.
  in.check_count(num_files, 2, "num_files");
  std::vector<uint16_t> prefix_length(num_files, 0), suffix_length(num_files), base_length(num_files);
  for (uint64_t i = 1; i < num_files; ++i) prefix_length[i] = in.varint16("path_prefix_length");
  for (uint64_t i = 0; i < num_files; ++i) suffix_length[i] = in.varint16("path_suffix_length");
  for (uint64_t i = 0; i < num_files; ++i) base_length[i] = in.varint16("base_path_length");

  DataFileTable table(num_files);
  std::string previous, path;
  for (uint64_t i = 0; i < num_files; ++i) {
    if (prefix_length[i] > previous.size())
      in.fail("data file " + std::to_string(i) + ": path_prefix_length " +
              std::to_string(prefix_length[i]) + " exceeds the previous path's length " +
              std::to_string(previous.size()));
    if (i > 0 && prefix_length[i] > std::min(base_length[i], base_length[i - 1]) &&
        base_length[i] != base_length[i - 1])
      in.fail("data file " + std::to_string(i) +
              ": shared path prefix reaches into the relative path of a different base path");
    path.assign(previous, 0, prefix_length[i]);
    path.append(in.bytes(suffix_length[i], "path_suffix"));
    if (base_length[i] > path.size())
      in.fail("data file " + std::to_string(i) + ": base_path_length " +
              std::to_string(base_length[i]) + " exceeds the path length " +
              std::to_string(path.size()));
    if (transitive_path.size() + path.size() > 65535)
      in.fail("data file " + std::to_string(i) + ": path longer than 65535 bytes");
    table[i].base_path.reserve(transitive_path.size() + base_length[i]);
    table[i].base_path.append(transitive_path).append(path, 0, base_length[i]);
    table[i].relative_path.assign(path, base_length[i]);
    previous.swap(path);
  }
  return table;
}

}  // namespace ckptcat::ocdbt::format
