// ckptcat::ocdbt::Database: opens a database folder, reads the manifest's latest
// generation (spec §4, §10) and walks its B+tree lazily (§7), resolving data
// file paths through base and transitive paths (§5).
#include <algorithm>
#include <memory>
#include <cstring>
#include <filesystem>

#include "ckptcat/ocdbt.h"
#include "data_files.h"
#include "format/btree.h"
#include "format/envelope.h"
#include "format/manifest.h"
#include "item_path.h"
#include "mounts.h"

namespace ckptcat::ocdbt {
namespace fs = std::filesystem;
using format::BtreeNode;

namespace {

constexpr unsigned kMaxTreeHeight = 255;

// Rethrows a decoding error from inside an item as one naming the file and the
// item's offset, keeping the position inside the item in the message.
[[noreturn]] void rethrow_in(const Error& e, const std::string& file, uint64_t item_offset,
                             const char* what) {
  std::string message = e.message();
  if (e.offset()) message += " (byte " + std::to_string(*e.offset()) + " of the " + what + ")";
  throw Error(e.code(), message, file, item_offset);
}

// Stored paths are relative to the database folder: the same rule as every
// name taken from a checkpoint (item_path.h).
void check_relative_path(const std::string& path, const std::string& in_file) {
  if (const auto why = storage::relative_name_problem(path))
    throw Error(Error::Code::kCorruption, storage::escape_message("data file path", path, *why), in_file);
}

// Where a node is: the table entry's base path becomes the node's transitive path.
struct NodeRef {
  std::string base;
  std::string relative;
  uint64_t offset = 0;
  uint64_t length = 0;
  unsigned height = 0;
};

Generation to_generation(const format::VersionLeafEntry& v) {
  Generation g;
  g.generation_number = v.generation;
  g.commit_time_nsecs = v.commit_time;
  g.num_keys = v.num_keys;
  g.num_tree_bytes = v.num_tree_bytes;
  g.num_indirect_value_bytes = v.num_indirect_value_bytes;
  g.empty = v.empty_tree();
  return g;
}

// The smallest string greater than every string starting with `prefix`, or ""
// when there is none (all 0xff).
std::string prefix_successor(std::string_view prefix) {
  std::string s(prefix);
  while (!s.empty() && static_cast<uint8_t>(s.back()) == 0xff) s.pop_back();
  if (!s.empty()) s.back() = static_cast<char>(static_cast<uint8_t>(s.back()) + 1);
  return s;
}

bool is_process_folder(const std::string& name) {
  static const std::string kPrefix = "ocdbt.process_";
  if (name.compare(0, kPrefix.size(), kPrefix) != 0) return false;
  std::string_view id(name);
  id.remove_prefix(kPrefix.size());
  if (id.substr(0, 8) == "replica_") id.remove_prefix(8);
  return !id.empty() && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  });
}

// The names of the entries of `dir`, or the objects listed directly under an
// object URL.
std::vector<std::string> entry_names(const fs::path& dir, std::error_code& ec) {
  std::vector<std::string> names;
  if (storage::is_url(dir.native())) {
    try {
      for (auto& file : storage::store_for(dir.native()).list(dir.native()).files)
        names.push_back(std::move(file.name));
    } catch (const Error&) {
      ec = std::make_error_code(std::errc::io_error);
    }
    return names;
  }
  for (const auto& item : fs::directory_iterator(dir, ec)) names.push_back(item.path().filename().string());
  return names;
}

// The per-process database folders of `dir`, sorted. Locally real folders
// only: a link would be followed before anything could check that it stays
// inside the item (Orbax never writes one there). Object stores have no links.
std::vector<std::string> process_folders(const fs::path& dir) {
  std::vector<std::string> names;
  if (storage::is_url(dir.native())) {
    try {
      for (auto& name : storage::store_for(dir.native()).list(dir.native()).folders)
        if (is_process_folder(name)) names.push_back(std::move(name));
    } catch (const Error&) {
    }
    return names;
  }
  std::error_code ec;
  for (const auto& item : fs::directory_iterator(dir, ec))
    if (!item.is_symlink() && item.is_directory() && is_process_folder(item.path().filename().string()))
      names.push_back(item.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

// One OCDBT tree: a manifest's latest generation.
// A node with the buffers its views point into; decoded in place, never moved
// (a short string's bytes would move with it).
struct DecodedNode {
  std::string raw, scratch;
  BtreeNode node;
};

struct Source {
  fs::path dir;
  std::string dir_prefix;  // dir + "/"
  std::string manifest_path;
  format::Manifest manifest;
  Generation latest;
  bool empty = true;
  NodeRef root;
  // The root as check_root decoded it at open: walks start from it instead of
  // reading and decoding it again (Orbax writes one big root node per item).
  std::shared_ptr<const DecodedNode> root_node;
};

// File access and node decoding shared by the walks.
struct TreeReader {
  TreeReader(const OpenOptions& options, const fs::path& root) : options(options), files(stats, root) {}
  OpenOptions options;
  mutable ReadStats stats;
  mutable DataFiles files;  // reads only inside the folder the database was opened at

  void read_node(const Source& src, const NodeRef& ref, std::string& raw, std::string& scratch,
                 BtreeNode& node) const;
};

struct Database::Impl : TreeReader {
  Impl(const OpenOptions& options, const fs::path& dir) : TreeReader(options, dir), dir(dir) {}
  fs::path dir;
  std::vector<Source> sources;  // one, or the per-process databases in fallback mode
  std::string fallback_reason;

  Source open_source(const fs::path& dir);
  void load_manifest(Source& src);
  void check_root(Source& src) const;
  void walk(const Source& src, std::string_view lower, std::string_view upper, bool has_upper,
            const Visitor& visit) const;
  void collect_versions(const Source& src, std::vector<Generation>& out) const;
};

void Database::Impl::load_manifest(Source& src) {
  src.manifest_path = src.dir_prefix + "manifest.ocdbt";
  std::string scratch;
  auto decode = [&](const std::string& path) {
    const std::string blob = files.read_whole(path, options.max_decoded_bytes);
    try {
      return format::decode_manifest(
          format::open_envelope(blob, format::kManifestMagic, options.max_decoded_bytes, scratch));
    } catch (const Error& e) {
      rethrow_in(e, path, e.offset().value_or(0), "manifest");
    }
  };
  src.manifest = decode(src.manifest_path);
  if (src.manifest.config.manifest_kind == format::ManifestKind::kNumbered) {
    // §4.4: the newest manifest.<16 lowercase hex> holds the version tree.
    uint64_t newest = 0;
    std::error_code ec;
    for (const auto& name : entry_names(src.dir, ec)) {
      if (name.size() != 9 + 16 || name.compare(0, 9, "manifest.") != 0) continue;
      if (!std::all_of(name.begin() + 9, name.end(),
                       [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }))
        continue;
      newest = std::max<uint64_t>(newest, std::stoull(name.substr(9), nullptr, 16));
    }
    if (ec) throw Error(Error::Code::kIO, "cannot list folder: " + ec.message(), src.dir.string());
    if (newest == 0) {
      src.manifest.versions.clear();  // no numbered manifest: an empty database
      return;
    }
    char name[32];
    std::snprintf(name, sizeof name, "manifest.%016llx", static_cast<unsigned long long>(newest));
    src.manifest_path = src.dir_prefix + name;
    src.manifest = decode(src.manifest_path);
    if (src.manifest.config.manifest_kind != format::ManifestKind::kSingle)
      throw Error(Error::Code::kCorruption, "numbered manifest is itself of the numbered kind",
                  src.manifest_path);
    if (src.manifest.latest().generation != newest)
      throw Error(Error::Code::kCorruption,
                  "latest generation " + std::to_string(src.manifest.latest().generation) +
                      " differs from the file name",
                  src.manifest_path);
  }
}

Source Database::Impl::open_source(const fs::path& dir) {
  Source src;
  src.dir = dir;
  src.dir_prefix = storage::normal_location(dir.string());
  if (src.dir_prefix.empty() || src.dir_prefix.back() != '/') src.dir_prefix += '/';
  load_manifest(src);
  const auto& table = src.manifest.table;
  for (const auto& file : table) check_relative_path(file.path(), src.manifest_path);
  if (src.manifest.versions.empty()) {
    src.latest.empty = true;
    return src;
  }
  const auto& v = src.manifest.latest();
  src.latest = to_generation(v);
  src.empty = v.empty_tree();
  if (!src.empty) {
    const auto& file = table[v.root.file_id];
    src.root = NodeRef{file.base_path, file.relative_path, v.root.offset, v.root.length,
                       v.root_height};
  }
  return src;
}

void TreeReader::read_node(const Source& src, const NodeRef& ref, std::string& raw,
                               std::string& scratch, BtreeNode& node) const {
  const std::string path = src.dir_prefix + ref.base + ref.relative;
  if (ref.length > options.max_decoded_bytes)
    throw Error(Error::Code::kCorruption,
                "B+tree node length " + std::to_string(ref.length) + " exceeds the cap of " +
                    std::to_string(options.max_decoded_bytes),
                path, ref.offset);
  files.read(path, ref.offset, ref.length, raw);
  try {
    std::string_view body =
        format::open_envelope(raw, format::kBtreeNodeMagic, options.max_decoded_bytes, scratch);
    format::decode_btree_node(body, ref.base, node);
  } catch (const Error& e) {
    rethrow_in(e, path, ref.offset, "B+tree node");
  }
  ++stats.nodes_decoded;
  if (node.height != ref.height)
    throw Error(Error::Code::kCorruption,
                "B+tree node has height " + std::to_string(node.height) + ", its parent says " +
                    std::to_string(ref.height),
                path, ref.offset);
  for (const auto& file : node.table) check_relative_path(file.path(), path);
}

// Reads the root and makes sure the files of its children exist, so a damaged
// top-level database is detected at open (and the fallback can take over).
void Database::Impl::check_root(Source& src) const {
  if (src.empty) return;
  auto decoded = std::make_shared<DecodedNode>();
  read_node(src, src.root, decoded->raw, decoded->scratch, decoded->node);
  const BtreeNode& node = decoded->node;
  src.root_node = std::move(decoded);
  if (node.height > 0)
    for (const auto& child : node.children) {
      const auto& file = node.table[child.ref.file_id];
      files.require(src.dir_prefix + file.base_path + file.relative_path);
    }
}

namespace {

// One recursive walk over a B+tree, restricted to [lower, upper).
class Walker {
 public:
  Walker(const TreeReader& db, const Source& src, std::string_view lower,
         std::string_view upper, bool has_upper, const Database::Visitor& visit)
      : db_(db), src_(src), lower_(lower), upper_(upper), has_upper_(has_upper), visit_(visit) {}

  void run() {
    if (src_.empty) return;
    levels_.resize(src_.root.height + 1);
    visit_node(src_.root, 0);
  }

 private:
  struct Level {
    std::string raw, scratch;
    BtreeNode node;
    std::string prefix, lower_bound, upper_bound;  // set by the parent (empty for the root)
    bool has_upper_bound = false;
    std::vector<std::string> file_paths;  // absolute paths of the table, for values
    std::string full;
  };

  bool below_upper(std::string_view key) const { return !has_upper_ || key < upper_; }

  void visit_node(const NodeRef& ref, size_t depth) {
    if (depth > kMaxTreeHeight) throw Error(Error::Code::kCorruption, "B+tree deeper than 255");
    Level& L = levels_[depth];
    const bool root_decoded = depth == 0 && src_.root_node;
    if (!root_decoded) db_.read_node(src_, ref, L.raw, L.scratch, L.node);
    const BtreeNode& node = root_decoded ? src_.root_node->node : L.node;
    const size_t n = node.size();
    const std::string path = src_.dir_prefix + ref.base + ref.relative;
    // The node's keys must lie within the bounds its parent gave.
    L.full.assign(L.prefix).append(node.key(0));
    if (L.full < L.lower_bound)
      throw Error(Error::Code::kCorruption, "node's first key is below its parent's bound", path,
                  ref.offset);
    if (L.has_upper_bound) {
      L.full.assign(L.prefix).append(node.key(n - 1));
      if (!(L.full < L.upper_bound))
        throw Error(Error::Code::kCorruption, "node's last key reaches its parent's next bound",
                    path, ref.offset);
    }
    if (node.height == 0) {
      visit_leaf(L, node);
      return;
    }
    Level& C = levels_[depth + 1];
    for (size_t i = 0; i < n && !done_; ++i) {
      C.lower_bound.assign(L.prefix).append(node.key(i));
      if (has_upper_ && !(C.lower_bound < upper_)) {
        done_ = true;
        return;
      }
      C.has_upper_bound = i + 1 < n || L.has_upper_bound;
      if (i + 1 < n) {
        C.upper_bound.assign(L.prefix).append(node.key(i + 1));
        if (C.upper_bound <= lower_) continue;  // child lies entirely below the range
      } else if (L.has_upper_bound) {
        C.upper_bound = L.upper_bound;
      }
      C.prefix.assign(L.prefix).append(node.key(i).substr(0, node.subtree_common_prefix[i]));
      const auto& child = node.children[i];
      const auto& file = node.table[child.ref.file_id];
      child_ref_.base = file.base_path;
      child_ref_.relative = file.relative_path;
      child_ref_.offset = child.ref.offset;
      child_ref_.length = child.ref.length;
      child_ref_.height = node.height - 1u;
      visit_node(child_ref_, depth + 1);
    }
  }

  void visit_leaf(Level& L, const BtreeNode& node) {
    L.file_paths.resize(node.table.size());
    for (size_t f = 0; f < node.table.size(); ++f)
      L.file_paths[f].assign(src_.dir_prefix).append(node.table[f].base_path).append(node.table[f].relative_path);
    const bool check_lower = !lower_.empty();
    for (size_t i = 0; i < node.size(); ++i) {
      entry_.key.assign(L.prefix).append(node.key(i));
      if (check_lower && entry_.key < lower_) continue;
      if (has_upper_ && !(entry_.key < upper_)) {
        done_ = true;
        return;
      }
      const auto& v = node.values[i];
      entry_.value_size = v.length;
      entry_.location.is_inline = v.is_inline;
      if (v.is_inline) {
        entry_.location.file.clear();
        entry_.location.offset = 0;
        entry_.inline_value = node.inline_value(i);
      } else {
        entry_.location.file = L.file_paths[v.file_id];
        entry_.location.offset = v.offset;
        entry_.inline_value = {};
      }
      if (!visit_(entry_)) {
        done_ = true;
        return;
      }
    }
  }

  const TreeReader& db_;
  const Source& src_;
  std::string_view lower_, upper_;
  bool has_upper_;
  const Database::Visitor& visit_;
  std::vector<Level> levels_;
  NodeRef child_ref_;
  KeyEntry entry_;
  bool done_ = false;
};

}  // namespace

void Database::Impl::walk(const Source& src, std::string_view lower, std::string_view upper,
                          bool has_upper, const Visitor& visit) const {
  Walker(*this, src, lower, upper, has_upper, visit).run();
}

// Appends every generation of `src`, oldest first: those in version-tree nodes
// (read from disk and checked), then the inline ones.
void Database::Impl::collect_versions(const Source& src, std::vector<Generation>& out) const {
  const auto& m = src.manifest;
  const uint8_t arity_log2 = m.config.version_tree_arity_log2;
  std::string raw, scratch;
  // Recursion over at most 62 levels (heights are bounded by 63/arity_log2 - 1).
  auto visit = [&](auto&& self, const format::DataFile& file, const format::VersionInteriorEntry& e)
      -> void {
    const std::string path = src.dir_prefix + file.base_path + file.relative_path;
    check_relative_path(file.base_path + file.relative_path, src.manifest_path);
    if (e.ref.length > options.max_decoded_bytes)
      throw Error(Error::Code::kCorruption, "version node length exceeds the cap", path, e.ref.offset);
    files.read(path, e.ref.offset, e.ref.length, raw);
    format::VersionNode node;
    try {
      node = format::decode_version_node(
          format::open_envelope(raw, format::kVersionNodeMagic, options.max_decoded_bytes, scratch),
          file.base_path);
    } catch (const Error& err) {
      rethrow_in(err, path, e.ref.offset, "version-tree node");
    }
    ++stats.nodes_decoded;
    auto fail = [&](const std::string& what) {
      throw Error(Error::Code::kCorruption, "version-tree node " + what, path, e.ref.offset);
    };
    if (node.arity_log2 != arity_log2) fail("has a different arity from the manifest");
    if (node.height != e.height) fail("has height " + std::to_string(node.height) + ", expected " + std::to_string(e.height));
    const uint64_t last = node.height == 0 ? node.versions.back().generation : node.children.back().generation;
    if (last != e.generation) fail("ends at generation " + std::to_string(last) + ", expected " + std::to_string(e.generation));
    if (node.height == 0) {
      if (node.versions.size() != e.num_generations) fail("generation count differs from its parent's");
      for (const auto& v : node.versions) out.push_back(to_generation(v));
    } else {
      uint64_t total = 0;
      for (const auto& child : node.children) {
        total += child.num_generations;
        self(self, node.table[child.ref.file_id], child);
      }
      if (total != e.num_generations) fail("generation count differs from its parent's");
    }
  };
  for (const auto& e : m.version_nodes) visit(visit, m.table[e.ref.file_id], e);
  for (const auto& v : m.versions) out.push_back(to_generation(v));
  for (size_t i = 1; i < out.size(); ++i)
    if (out[i].generation_number <= out[i - 1].generation_number)
      throw Error(Error::Code::kCorruption, "version tree generations out of order", src.manifest_path);
}

Database::Database(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Database::Database(Database&&) noexcept = default;
Database& Database::operator=(Database&&) noexcept = default;
Database::~Database() = default;

Database Database::open(const fs::path& dir, const OpenOptions& options) {
  auto impl = std::make_unique<Impl>(options, dir);
  try {
    impl->sources.push_back(impl->open_source(dir));
    impl->check_root(impl->sources.back());
    return Database(std::move(impl));
  } catch (const Error& e) {
    if (e.code() != Error::Code::kNotFound || !options.per_process_fallback) throw;
    std::vector<fs::path> subs;
    for (const auto& name : process_folders(dir))
      subs.push_back(dir / name);
    if (subs.empty()) throw;
    std::sort(subs.begin(), subs.end());
    impl->sources.clear();
    impl->fallback_reason = std::string("top-level database unusable (") + e.what() +
                            "); read " + std::to_string(subs.size()) +
                            " per-process database(s) instead";
    for (const auto& sub : subs) {
      impl->sources.push_back(impl->open_source(sub));
      impl->check_root(impl->sources.back());
    }
    return Database(std::move(impl));
  }
}

const fs::path& Database::directory() const { return impl_->dir; }
const Generation& Database::latest() const { return impl_->sources.front().latest; }

std::vector<Generation> Database::generations() const {
  std::vector<Generation> out;
  impl_->collect_versions(impl_->sources.front(), out);
  return out;
}

bool Database::fallback() const { return !impl_->fallback_reason.empty(); }
const std::string& Database::fallback_reason() const { return impl_->fallback_reason; }
std::vector<fs::path> Database::fallback_databases() const {
  std::vector<fs::path> out;
  if (fallback())
    for (const auto& s : impl_->sources) out.push_back(s.dir);
  return out;
}

void Database::list_range(std::string_view lower, std::string_view upper, const Visitor& visit) const {
  const bool has_upper = !upper.empty();
  if (impl_->sources.size() == 1) {
    impl_->walk(impl_->sources.front(), lower, upper, has_upper, visit);
    return;
  }
  // Fallback over several per-process databases: gather each one's range and
  // merge; on equal keys the first database (sorted folder order) wins.
  struct Item {
    KeyEntry entry;
    std::string inline_bytes;
  };
  std::vector<std::vector<Item>> parts(impl_->sources.size());
  for (size_t s = 0; s < parts.size(); ++s)
    impl_->walk(impl_->sources[s], lower, upper, has_upper, [&](const KeyEntry& e) {
      parts[s].push_back(Item{e, std::string(e.inline_value)});
      return true;
    });
  std::vector<size_t> pos(parts.size(), 0);
  for (;;) {
    size_t best = parts.size();
    for (size_t s = 0; s < parts.size(); ++s)
      if (pos[s] < parts[s].size() &&
          (best == parts.size() || parts[s][pos[s]].entry.key < parts[best][pos[best]].entry.key))
        best = s;
    if (best == parts.size()) return;
    Item& item = parts[best][pos[best]];
    for (size_t s = 0; s < parts.size(); ++s)
      while (s != best && pos[s] < parts[s].size() && parts[s][pos[s]].entry.key == item.entry.key)
        ++pos[s];
    ++pos[best];
    item.entry.inline_value = item.inline_bytes;
    if (!visit(item.entry)) return;
  }
}

void Database::list(const Visitor& visit) const { list_range({}, {}, visit); }

void Database::list_prefix(std::string_view prefix, const Visitor& visit) const {
  const std::string upper = prefix_successor(prefix);
  if (upper.empty()) {
    // No successor: every key >= prefix starts with it, or prefix is empty.
    list_range(prefix, {}, [&](const KeyEntry& e) {
      return e.key.compare(0, prefix.size(), prefix) == 0 ? visit(e) : false;
    });
    return;
  }
  list_range(prefix, upper, visit);
}

std::vector<KeyEntry> Database::list_all() const {
  std::vector<KeyEntry> out;
  list([&](const KeyEntry& e) {
    out.push_back(e);
    out.back().inline_value = {};
    return true;
  });
  return out;
}

std::optional<std::string> Database::get(std::string_view key) const {
  std::string upper(key);
  upper.push_back('\0');  // the smallest key after `key`
  std::optional<std::string> value;
  list_range(key, upper, [&](const KeyEntry& e) {
    value = e.location.is_inline ? std::string(e.inline_value) : read(e);
    return false;
  });
  return value;
}

std::string Database::read(const KeyEntry& entry) const {
  if (entry.location.is_inline) {
    auto value = get(entry.key);
    if (!value) throw Error(Error::Code::kNotFound, "key '" + entry.key + "' not in the database", impl_->dir.string());
    return *value;
  }
  std::string out;
  impl_->files.read(entry.location.file, entry.location.offset, entry.value_size, out);
  return out;
}

ReadStats Database::stats() const { return impl_->stats; }

}  // namespace ckptcat::ocdbt
