// array_metadatas reading (see array_metadatas.h).
//
// On-disk form, one file per process written by json.dumps:
//   {"array_metadatas": [{"array_metadata": {"param_name": "a", "write_shape": [8],
//     "chunk_shape": [8], "ext_metadata": null | {"random_key_impl": "rbg"}}}, ...]}
// Orbax validates at save time that every process lists the same params with
// the same shapes and key impl, so the lowest index is representative; we still
// compare and report differences.
#include "array_metadatas.h"

#include <algorithm>
#include <charconv>

#include "folder_layout.h"
#include "json_file.h"
#include "mounts.h"

namespace ckptcat::orbax {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

ArrayWriteMap parse_process_file(const std::string& text, const std::string& file) {
  const json doc = parse_json(text, file);
  const auto list = doc.is_object() ? doc.find("array_metadatas") : doc.end();
  if (list == doc.end() || !list->is_array())
    throw Error(Error::Code::kInvalid, "no \"array_metadatas\" list", file);
  ArrayWriteMap out;
  for (const auto& wrapper : *list) {
    const auto it = wrapper.is_object() ? wrapper.find("array_metadata") : wrapper.end();
    if (it == wrapper.end() || !it->is_object() || !it->contains("param_name") ||
        !(*it)["param_name"].is_string())
      throw Error(Error::Code::kInvalid, "malformed array_metadata entry", file);
    const auto& m = *it;
    ArrayWriteMetadata entry;
    const std::string name = m["param_name"].get<std::string>();
    if (m.contains("write_shape") && !m["write_shape"].is_null())
      entry.write_shape = to_shape(m["write_shape"], file, name + ".write_shape");
    if (m.contains("chunk_shape") && !m["chunk_shape"].is_null())
      entry.chunk_shape = to_shape(m["chunk_shape"], file, name + ".chunk_shape");
    if (m.contains("ext_metadata") && m["ext_metadata"].is_object()) {
      const auto& ext = m["ext_metadata"];
      if (ext.contains("random_key_impl") && ext["random_key_impl"].is_string())
        entry.random_key_impl = ext["random_key_impl"].get<std::string>();
    }
    out[name] = std::move(entry);  // a later batch of the same save overrides
  }
  return out;
}

}  // namespace

ArrayMetadatas read_array_metadatas(const fs::path& item_dir, TextMemo<ArrayWriteMap>* memo,
                                    std::string* buffer) {
  ArrayMetadatas out;
  const auto dir = item_dir / "array_metadatas";
  std::error_code ec;
  std::vector<fs::path> entries;
  if (storage::is_url(dir.native())) {
    // Object stores have no links; the folder's files come from its listing
    // (asked for only when the item's listing shows the folder).
    if (!entry_exists(dir)) return out;
    for (const auto& name : list_folder(dir, ec).files) entries.push_back(dir / name);
    ec.clear();
  } else if (fs::is_symlink(fs::symlink_status(dir, ec))) {
    // Its files would be listed wherever it leads (item_path.h); Orbax never links it.
    out.problems.push_back({Problem::Severity::kWarning, dir.string(),
                            "a symbolic link: not followed, array metadata not read"});
    return out;
  } else if (!fs::is_directory(dir, ec)) {
    return out;
  } else {
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
      entries.push_back(it->path());
  }
  std::vector<std::pair<int64_t, fs::path>> files;
  for (const fs::path& entry : entries) {
    const std::string name = entry.filename().string();
    int64_t index = -1;
    const bool numeric = name.rfind("process_", 0) == 0 && name.size() > 8 &&
                         std::all_of(name.begin() + 8, name.end(), ::isdigit);
    if (numeric) {
      const auto r = std::from_chars(name.data() + 8, name.data() + name.size(), index);
      if (r.ec != std::errc()) index = -1;
    }
    if (index < 0) {
      out.problems.push_back({Problem::Severity::kWarning, entry.string(),
                              "not a process_<N> file; ignored"});
      continue;
    }
    files.emplace_back(index, entry);
  }
  if (ec) out.problems.push_back({Problem::Severity::kError, dir.string(), ec.message()});
  std::sort(files.begin(), files.end());
  bool first = true;
  for (const auto& [index, path] : files) {
    std::shared_ptr<const ArrayWriteMap> entries;
    try {
      const std::string file = path.string();  // clang 14 cannot capture a structured binding
      entries = parse_file(memo, path, buffer,
                           [&](const std::string& text) { return parse_process_file(text, file); });
    } catch (const Error& e) {
      out.problems.push_back(Problem::from_error(e, Problem::Severity::kError, path.string()));
      continue;
    }
    out.processes.push_back(index);
    if (first) {
      out.by_name = std::move(entries);
      first = false;
      continue;
    }
    // The processes of one save usually write the same bytes: then the memo
    // hands back the same parse and there is nothing to compare.
    if (entries != out.by_name && *entries != *out.by_name) {
      std::string detail;
      for (const auto& [name, m] : *entries) {
        const auto it = out.by_name->find(name);
        if (it == out.by_name->end()) { detail = "extra param \"" + name + "\""; break; }
        if (!(it->second == m)) { detail = "param \"" + name + "\" differs"; break; }
      }
      if (detail.empty()) detail = "params missing";
      out.problems.push_back({Problem::Severity::kWarning, path.string(),
                              "disagrees with process_" + std::to_string(out.processes.front()) +
                                  ": " + detail});
    }
  }
  return out;
}

}  // namespace ckptcat::orbax
