#include "ocdbt_writer.h"

#include <zstd.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <random>
#include <stdexcept>
#include <tuple>

#include "format/crc32c.h"

namespace ckptcat::testing {
namespace {

namespace fs = std::filesystem;

constexpr uint32_t kManifestMagic = 0x0CDB3A2A;
constexpr uint32_t kVersionNodeMagic = 0x0CDB1234;
constexpr uint32_t kBtreeNodeMagic = 0x0CDB20DE;
constexpr uint64_t kEmptyMarker = ~uint64_t{0};

// Appends the spec §2 primitive encodings to a string.
struct Bytes {
  std::string out;
  void varint(uint64_t v) {
    while (v >= 0x80) {
      out.push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    out.push_back(static_cast<char>(v));
  }
  void u8(uint8_t v) { out.push_back(static_cast<char>(v)); }
  void le(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  void be32(uint32_t v) {
    for (int i = 3; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  void raw(std::string_view s) { out.append(s); }
};

size_t common_prefix(std::string_view a, std::string_view b) {
  const size_t n = std::min(a.size(), b.size());
  size_t i = 0;
  while (i < n && a[i] == b[i]) ++i;
  return i;
}

// Table of spec §5 from files already stripped of the transitive path; ids are
// indices into the sorted, unique `files`.
void encode_table(Bytes& b, const std::vector<OcdbtFileRef>& files) {
  std::vector<std::string> paths;
  for (const auto& f : files) paths.push_back(f.path());
  // A shared prefix may reach into the relative path only between equal-length bases.
  std::vector<size_t> shared(files.size(), 0);
  for (size_t i = 1; i < files.size(); ++i) {
    shared[i] = std::min<size_t>(65535, common_prefix(paths[i - 1], paths[i]));
    const size_t bl = files[i].base_path.size(), prev_bl = files[i - 1].base_path.size();
    if (bl != prev_bl) shared[i] = std::min(shared[i], std::min(bl, prev_bl));
  }
  b.varint(files.size());
  for (size_t i = 1; i < files.size(); ++i) b.varint(shared[i]);
  for (size_t i = 0; i < files.size(); ++i) b.varint(paths[i].size() - shared[i]);
  for (const auto& f : files) b.varint(f.base_path.size());
  for (size_t i = 0; i < files.size(); ++i) b.raw(std::string_view(paths[i]).substr(shared[i]));
}

// Key columns of spec §7.1 for `keys` (relative to the node prefix).
void encode_keys(Bytes& b, const std::vector<std::string_view>& keys,
                 const std::vector<size_t>* subtree_common_prefix) {
  b.varint(keys.size());
  std::vector<size_t> shared(keys.size(), 0);
  for (size_t i = 1; i < keys.size(); ++i)
    shared[i] = std::min<size_t>(65535, common_prefix(keys[i - 1], keys[i]));
  for (size_t i = 1; i < keys.size(); ++i) b.varint(shared[i]);
  for (size_t i = 0; i < keys.size(); ++i) b.varint(keys[i].size() - shared[i]);
  if (subtree_common_prefix)
    for (size_t v : *subtree_common_prefix) b.varint(v);
  for (size_t i = 0; i < keys.size(); ++i) b.raw(keys[i].substr(shared[i]));
}

}  // namespace

// Spec §3: magic, length, version 0, compression format, body, CRC-32C.
std::string encode_ocdbt_envelope(uint32_t magic, std::string_view body, bool zstd,
                                  int zstd_frames, bool zstd_content_size) {
  Bytes b;
  b.be32(magic);
  b.le(0, 8);  // length, patched below
  b.varint(0);
  b.varint(zstd ? 1 : 0);
  if (!zstd) {
    b.raw(body);
  } else {
    thread_local std::unique_ptr<ZSTD_CCtx, size_t (*)(ZSTD_CCtx*)> cctx(ZSTD_createCCtx(), ZSTD_freeCCtx);
    ZSTD_CCtx_reset(cctx.get(), ZSTD_reset_session_and_parameters);
    ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_contentSizeFlag, zstd_content_size ? 1 : 0);
    const size_t frames = static_cast<size_t>(std::max(1, zstd_frames));
    const size_t piece = (body.size() + frames - 1) / frames;
    std::string out;
    for (size_t f = 0; f < frames; ++f) {
      const size_t start = std::min(body.size(), f * piece);
      const size_t len = std::min(piece, body.size() - start);
      out.resize(ZSTD_compressBound(len));
      const size_t n = ZSTD_compress2(cctx.get(), out.data(), out.size(), body.data() + start, len);
      if (ZSTD_isError(n)) throw std::runtime_error(ZSTD_getErrorName(n));
      b.raw(std::string_view(out.data(), n));
    }
  }
  const uint64_t length = b.out.size() + 4;
  for (int i = 0; i < 8; ++i) b.out[4 + i] = static_cast<char>((length >> (8 * i)) & 0xff);
  b.le(ckptcat::ocdbt::format::crc32c(b.out), 4);
  return std::move(b.out);
}

struct OcdbtWriter::Impl {
  using LocalIds = std::map<int32_t, uint64_t>;  // global file index -> id in one table

  fs::path dir;
  OcdbtWriterOptions options;
  std::mt19937_64 rng;
  std::array<uint8_t, 16> uuid{};
  uint64_t envelopes = 0;

  std::vector<OcdbtFileRef> files;  // every data file, by index
  std::map<OcdbtFileRef, int32_t> file_index;
  struct Sink {
    int32_t file = -1;
    std::FILE* handle = nullptr;
    uint64_t size = 0;
  };
  std::map<std::string, Sink> sinks;  // by base path

  std::vector<Stored> entries, pending;

  // A written item (node) and the key range it covers.
  struct NodeInfo {
    std::string first_key, last_key;
    int32_t file = -1;
    uint64_t offset = 0, length = 0, num_keys = 0, tree_bytes = 0, indirect_bytes = 0;
  };
  struct VersionInfo {
    uint64_t generation = 0;
    uint8_t root_height = 0;
    int32_t file = -1;
    uint64_t offset = 0, length = 0, num_keys = 0, tree_bytes = 0, indirect_bytes = 0, commit_time = 0;
  };
  std::vector<VersionInfo> versions;
  struct VersionNodeInfo {
    int32_t file = -1;
    uint64_t offset = 0, length = 0, newest = 0, count = 0, earliest_time = 0;
  };
  std::map<std::tuple<unsigned, uint64_t, uint64_t>, VersionNodeInfo> version_nodes;

  ~Impl() {
    for (auto& [base, sink] : sinks)
      if (sink.handle) std::fclose(sink.handle);
  }

  int32_t intern(const OcdbtFileRef& f) {
    auto [it, added] = file_index.emplace(f, static_cast<int32_t>(files.size()));
    if (added) files.push_back(f);
    return it->second;
  }

  std::string random_hex(size_t digits) {
    static const char* hex = "0123456789abcdef";
    std::string s;
    while (s.size() < digits) {
      uint64_t r = rng();
      for (int i = 0; i < 16 && s.size() < digits; ++i, r >>= 4) s.push_back(hex[r & 0xf]);
    }
    return s;
  }

  // Appends `bytes` to the current data file under `base`, starting a new file
  // when the current one is past the target size.
  OcdbtValueRef append(const std::string& base, std::string_view bytes) {
    Sink& sink = sinks[base];
    if (!sink.handle || sink.size >= options.target_data_file_size) {
      if (sink.handle) std::fclose(sink.handle);
      fs::create_directories(dir / base / "d");
      OcdbtFileRef ref;
      do ref = OcdbtFileRef{base, "d/" + random_hex(32)};
      while (fs::exists(dir / ref.path()));
      sink.handle = std::fopen((dir / ref.path()).c_str(), "wb");
      if (!sink.handle) throw std::runtime_error("cannot create " + (dir / ref.path()).string());
      sink.file = intern(ref);
      sink.size = 0;
    }
    if (std::fwrite(bytes.data(), 1, bytes.size(), sink.handle) != bytes.size())
      throw std::runtime_error("cannot write " + (dir / files[sink.file].path()).string());
    OcdbtValueRef out{files[sink.file], sink.size, bytes.size()};
    sink.size += bytes.size();
    return out;
  }

  void flush() {
    for (auto& [base, sink] : sinks)
      if (sink.handle) std::fflush(sink.handle);
  }

  std::string envelope(uint32_t magic, const std::string& body) {
    const bool zstd = options.compression == OcdbtCompression::kZstd ||
                      (options.compression == OcdbtCompression::kMixed && envelopes % 2 == 1);
    ++envelopes;
    return encode_ocdbt_envelope(magic, body, zstd, options.zstd_frames, options.zstd_content_size);
  }

  // Table columns for `ids` (indices into files), stripped of `transitive`;
  // returns the per-structure id of each global index.
  LocalIds write_table(Bytes& b, const std::vector<int32_t>& ids,
                                          const std::string& transitive) {
    std::vector<std::pair<OcdbtFileRef, int32_t>> refs;
    for (int32_t id : ids) {
      OcdbtFileRef f = id < 0 ? OcdbtFileRef{} : files[id];
      if (id >= 0) {
        if (f.base_path.compare(0, transitive.size(), transitive) != 0)
          throw std::logic_error("file " + f.path() + " is not under the node's base path " + transitive);
        f.base_path.erase(0, transitive.size());
      }
      refs.emplace_back(f, id);
    }
    std::sort(refs.begin(), refs.end());
    refs.erase(std::unique(refs.begin(), refs.end(),
                           [](const auto& x, const auto& y) { return x.second == y.second; }),
               refs.end());
    std::vector<OcdbtFileRef> table;
    LocalIds local;
    for (const auto& [f, id] : refs) {
      local[id] = table.size();
      table.push_back(f);
    }
    encode_table(b, table);
    return local;
  }

  NodeInfo write_leaf(size_t begin, size_t end, bool is_root) {
    NodeInfo info;
    info.first_key = entries[begin].key;
    info.last_key = entries[end - 1].key;
    const size_t prefix = is_root ? 0 : common_prefix(info.first_key, info.last_key);
    std::vector<int32_t> ids;
    for (size_t i = begin; i < end; ++i)
      if (entries[i].file >= 0) ids.push_back(entries[i].file);
    Bytes b;
    b.u8(0);
    auto local = write_table(b, ids, options.leaf_base_path);
    std::vector<std::string_view> keys;
    for (size_t i = begin; i < end; ++i) keys.push_back(std::string_view(entries[i].key).substr(prefix));
    encode_keys(b, keys, nullptr);
    for (size_t i = begin; i < end; ++i) b.varint(entries[i].length);
    for (size_t i = begin; i < end; ++i) b.u8(entries[i].file >= 0 ? 1 : 0);
    for (size_t i = begin; i < end; ++i)
      if (entries[i].file >= 0) b.varint(local[entries[i].file]);
    for (size_t i = begin; i < end; ++i)
      if (entries[i].file >= 0) b.varint(entries[i].offset);
    for (size_t i = begin; i < end; ++i)
      if (entries[i].file < 0) b.raw(entries[i].inline_value);
    for (size_t i = begin; i < end; ++i)
      if (entries[i].file >= 0) info.indirect_bytes += entries[i].length;
    info.num_keys = end - begin;
    store(info, options.leaf_base_path, envelope(kBtreeNodeMagic, b.out));
    return info;
  }

  NodeInfo write_interior(const std::vector<NodeInfo>& children, size_t begin, size_t end,
                          unsigned height, bool is_root) {
    NodeInfo info;
    info.first_key = children[begin].first_key;
    info.last_key = children[end - 1].last_key;
    const size_t prefix = is_root ? 0 : common_prefix(info.first_key, info.last_key);
    std::vector<int32_t> ids;
    for (size_t i = begin; i < end; ++i) ids.push_back(children[i].file);
    Bytes b;
    b.u8(static_cast<uint8_t>(height));
    auto local = write_table(b, ids, "");
    std::vector<std::string_view> keys;
    std::vector<size_t> scpl;
    for (size_t i = begin; i < end; ++i) {
      const NodeInfo& c = children[i];
      keys.push_back(std::string_view(c.first_key).substr(prefix));
      scpl.push_back(common_prefix(c.first_key, c.last_key) - prefix);
      info.num_keys += c.num_keys;
      info.tree_bytes += c.tree_bytes;
      info.indirect_bytes += c.indirect_bytes;
    }
    encode_keys(b, keys, &scpl);
    for (size_t i = begin; i < end; ++i) b.varint(local[children[i].file]);
    for (size_t i = begin; i < end; ++i) b.varint(children[i].offset);
    for (size_t i = begin; i < end; ++i) b.varint(children[i].length);
    for (size_t i = begin; i < end; ++i) b.varint(children[i].num_keys);
    for (size_t i = begin; i < end; ++i) b.varint(children[i].tree_bytes);
    for (size_t i = begin; i < end; ++i) b.varint(children[i].indirect_bytes);
    store(info, "", envelope(kBtreeNodeMagic, b.out));
    return info;
  }

  void store(NodeInfo& info, const std::string& base, const std::string& item) {
    OcdbtValueRef ref = append(base, item);
    info.file = intern(ref.file);
    info.offset = ref.offset;
    info.length = ref.length;
    info.tree_bytes += ref.length;
  }

  // Writes the whole B+tree of the current entries; returns the root.
  VersionInfo write_tree() {
    VersionInfo v;
    if (entries.empty()) {
      v.offset = v.length = kEmptyMarker;
      return v;
    }
    const size_t fanout = std::max<size_t>(2, options.max_node_entries);
    std::vector<NodeInfo> level;
    const size_t n = entries.size();
    for (size_t b = 0; b < n; b += fanout) level.push_back(write_leaf(b, std::min(n, b + fanout), n <= fanout));
    unsigned height = 0;
    while (level.size() > 1) {
      ++height;
      std::vector<NodeInfo> up;
      for (size_t b = 0; b < level.size(); b += fanout)
        up.push_back(write_interior(level, b, std::min(level.size(), b + fanout), height,
                                    level.size() <= fanout));
      level.swap(up);
    }
    const NodeInfo& root = level.front();
    v.root_height = static_cast<uint8_t>(height);
    v.file = root.file;
    v.offset = root.offset;
    v.length = root.length;
    v.num_keys = root.num_keys;
    v.tree_bytes = root.tree_bytes;
    v.indirect_bytes = root.indirect_bytes;
    return v;
  }

  // Spec §6.2 columns for versions[begin, end), after the table.
  void encode_version_leaf(Bytes& b, size_t begin, size_t end, LocalIds& local) {
    b.varint(end - begin);
    for (size_t i = begin; i < end; ++i) b.varint(versions[i].generation);
    for (size_t i = begin; i < end; ++i) b.u8(versions[i].root_height);
    for (size_t i = begin; i < end; ++i) b.varint(local[versions[i].file]);
    for (size_t i = begin; i < end; ++i) b.varint(versions[i].offset);
    for (size_t i = begin; i < end; ++i) b.varint(versions[i].length);
    for (size_t i = begin; i < end; ++i) b.varint(versions[i].num_keys);
    for (size_t i = begin; i < end; ++i) b.varint(versions[i].tree_bytes);
    for (size_t i = begin; i < end; ++i) b.varint(versions[i].indirect_bytes);
    for (size_t i = begin; i < end; ++i) b.le(versions[i].commit_time, 8);
  }

  // Spec §6.3 columns, after the table; `heights` only in the manifest.
  void encode_version_interior(Bytes& b, const std::vector<VersionNodeInfo>& children,
                               const std::vector<uint8_t>* heights, LocalIds& local) {
    b.varint(children.size());
    for (const auto& c : children) b.varint(c.newest);
    for (const auto& c : children) b.varint(local[c.file]);
    for (const auto& c : children) b.varint(c.offset);
    for (const auto& c : children) b.varint(c.length);
    for (const auto& c : children) b.varint(c.count);
    for (const auto& c : children) b.le(c.earliest_time, 8);
    if (heights)
      for (uint8_t h : *heights) b.u8(h);
  }

  // The version-tree node of `height` whose `count` children (versions for a
  // leaf, full subtrees of height-1 otherwise) start at leaf block `first_leaf`.
  // Written once and reused by later manifests.
  VersionNodeInfo version_node(unsigned height, uint64_t first_leaf, uint64_t count) {
    const auto key = std::make_tuple(height, first_leaf, count);
    if (auto it = version_nodes.find(key); it != version_nodes.end()) return it->second;
    const unsigned a = options.version_tree_arity_log2;
    const uint64_t arity = uint64_t{1} << a;
    Bytes b;
    b.u8(static_cast<uint8_t>(a));
    b.u8(static_cast<uint8_t>(height));
    VersionNodeInfo info;
    if (height == 0) {
      const size_t begin = first_leaf * arity, end = begin + arity;
      std::vector<int32_t> ids;
      for (size_t i = begin; i < end; ++i) ids.push_back(versions[i].file);
      auto local = write_table(b, ids, "");
      encode_version_leaf(b, begin, end, local);
      info.newest = versions[end - 1].generation;
      info.count = arity;
      info.earliest_time = versions[begin].commit_time;
    } else {
      uint64_t leaves_per_child = 1;
      for (unsigned h = 1; h < height; ++h) leaves_per_child *= arity;
      std::vector<VersionNodeInfo> children;
      for (uint64_t k = 0; k < count; ++k)
        children.push_back(version_node(height - 1, first_leaf + k * leaves_per_child,
                                        height - 1 == 0 ? 1 : arity));
      std::vector<int32_t> ids;
      for (const auto& c : children) ids.push_back(c.file);
      auto local = write_table(b, ids, "");
      encode_version_interior(b, children, nullptr, local);
      info.newest = children.back().newest;
      info.earliest_time = children.front().earliest_time;
      for (const auto& c : children) info.count += c.count;
    }
    OcdbtValueRef ref = append("", envelope(kVersionNodeMagic, b.out));
    info.file = intern(ref.file);
    info.offset = ref.offset;
    info.length = ref.length;
    version_nodes.emplace(key, info);
    return info;
  }

  void encode_config(Bytes& b, bool numbered) {
    b.raw(std::string_view(reinterpret_cast<const char*>(uuid.data()), uuid.size()));
    b.u8(numbered ? 1 : 0);
    b.varint(options.max_inline_value_bytes);
    b.varint(100000000);
    b.u8(options.version_tree_arity_log2);
    const bool zstd = options.compression != OcdbtCompression::kRaw;
    b.varint(zstd ? 1 : 0);
    if (zstd) b.le(0, 4);
  }

  void write_file(const fs::path& path, const std::string& bytes) {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (!f || std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size())
      throw std::runtime_error("cannot write " + path.string());
    std::fclose(f);
  }

  void write_manifest() {
    const unsigned a = options.version_tree_arity_log2;
    const uint64_t arity = uint64_t{1} << a;
    const uint64_t g = versions.back().generation;
    const uint64_t first_inline = ((g - 1) >> a << a) + 1;
    // Older full leaf blocks, as base-arity digits: for each digit c_h > 0 a
    // spine node of height h+1 holding c_h full subtrees of height h.
    std::vector<VersionNodeInfo> spine;
    std::vector<uint8_t> heights;
    const uint64_t full_leaves = (first_inline - 1) >> a;
    std::vector<uint64_t> digits;
    for (uint64_t rest = full_leaves; rest > 0; rest /= arity) digits.push_back(rest % arity);
    uint64_t start = 0;
    for (size_t h = digits.size(); h-- > 0;) {
      if (digits[h] == 0) continue;
      uint64_t leaves_per_child = 1;
      for (size_t i = 0; i < h; ++i) leaves_per_child *= arity;
      spine.push_back(version_node(static_cast<unsigned>(h + 1), start, digits[h]));
      heights.push_back(static_cast<uint8_t>(h + 1));
      start += digits[h] * leaves_per_child;
    }
    Bytes b;
    encode_config(b, false);
    std::vector<int32_t> ids;
    for (size_t i = first_inline - 1; i < versions.size(); ++i) ids.push_back(versions[i].file);
    for (const auto& c : spine) ids.push_back(c.file);
    auto local = write_table(b, ids, "");
    encode_version_leaf(b, first_inline - 1, versions.size(), local);
    encode_version_interior(b, spine, &heights, local);
    flush();
    if (options.numbered_manifest) {
      Bytes head;
      encode_config(head, true);
      write_file(dir / "manifest.ocdbt", envelope(kManifestMagic, head.out));
      char name[32];
      std::snprintf(name, sizeof name, "manifest.%016llx", static_cast<unsigned long long>(g));
      write_file(dir / name, envelope(kManifestMagic, b.out));
    } else {
      write_file(dir / "manifest.ocdbt", envelope(kManifestMagic, b.out));
    }
  }
};

OcdbtWriter::OcdbtWriter(fs::path dir, OcdbtWriterOptions options) : impl_(std::make_unique<Impl>()) {
  if (options.version_tree_arity_log2 < 1 || options.version_tree_arity_log2 > 16)
    throw std::invalid_argument("version_tree_arity_log2 outside 1..16");
  fs::create_directories(dir);
  impl_->dir = std::move(dir);
  impl_->options = std::move(options);
  impl_->rng.seed(impl_->options.seed ^ std::hash<std::string>{}(impl_->dir.string()));
  for (auto& byte : impl_->uuid) byte = static_cast<uint8_t>(impl_->rng());
}

OcdbtWriter::~OcdbtWriter() = default;

void OcdbtWriter::put(std::string key, std::string_view value) {
  Stored s;
  s.key = std::move(key);
  s.length = value.size();
  if (value.size() <= impl_->options.max_inline_value_bytes) {
    s.inline_value = value;
  } else {
    OcdbtValueRef ref = impl_->append(impl_->options.value_base_path, value);
    s.file = impl_->intern(ref.file);
    s.offset = ref.offset;
  }
  impl_->pending.push_back(std::move(s));
}

void OcdbtWriter::put_ref(std::string key, const OcdbtValueRef& ref) {
  Stored s;
  s.key = std::move(key);
  s.file = impl_->intern(ref.file);
  s.offset = ref.offset;
  s.length = ref.length;
  impl_->pending.push_back(std::move(s));
}

uint64_t OcdbtWriter::commit() {
  Impl& m = *impl_;
  // Merge the sorted pending puts (the last put of a key wins) into entries.
  std::stable_sort(m.pending.begin(), m.pending.end(),
                   [](const Stored& a, const Stored& b) { return a.key < b.key; });
  std::vector<Stored> merged;
  merged.reserve(m.entries.size() + m.pending.size());
  size_t i = 0, j = 0;
  while (i < m.entries.size() || j < m.pending.size()) {
    if (j < m.pending.size()) {
      size_t last = j;
      while (last + 1 < m.pending.size() && m.pending[last + 1].key == m.pending[j].key) ++last;
      while (i < m.entries.size() && m.entries[i].key < m.pending[j].key) merged.push_back(std::move(m.entries[i++]));
      if (i < m.entries.size() && m.entries[i].key == m.pending[j].key) ++i;
      merged.push_back(std::move(m.pending[last]));
      j = last + 1;
    } else {
      merged.push_back(std::move(m.entries[i++]));
    }
  }
  m.entries.swap(merged);
  m.pending.clear();

  Impl::VersionInfo v = m.write_tree();
  v.generation = m.versions.size() + 1;
  v.commit_time = m.options.first_commit_time_ns + (v.generation - 1) * 1000000ull;
  m.versions.push_back(v);
  m.write_manifest();
  return v.generation;
}

const std::vector<OcdbtWriter::Stored>& OcdbtWriter::entries() const { return impl_->entries; }
const std::vector<OcdbtFileRef>& OcdbtWriter::files() const { return impl_->files; }
const fs::path& OcdbtWriter::directory() const { return impl_->dir; }
uint64_t OcdbtWriter::generation() const { return impl_->versions.size(); }

void write_orbax_item_database(const fs::path& item_dir,
                               const std::vector<std::pair<std::string, std::string>>& values,
                               const OrbaxItemOptions& options) {
  const int processes = std::max(1, options.num_processes);
  if (options.leaves_in_process_folder && processes != 1)
    throw std::invalid_argument("leaves_in_process_folder needs a single process");
  OcdbtWriterOptions top_options = options.writer;
  top_options.value_base_path.clear();
  top_options.leaf_base_path = options.leaves_in_process_folder ? "ocdbt.process_0/" : "";
  OcdbtWriter top(item_dir, top_options);
  for (int p = 0; p < processes; ++p) {
    const std::string folder = "ocdbt.process_" + std::to_string(p);
    OcdbtWriterOptions sub_options = options.writer;
    sub_options.value_base_path.clear();
    sub_options.leaf_base_path.clear();
    OcdbtWriter sub(item_dir / folder, sub_options);
    std::vector<size_t> mine;
    for (size_t i = static_cast<size_t>(p); i < values.size(); i += processes) mine.push_back(i);
    // Exactly commits_per_process generations, the keys spread evenly over them.
    const size_t commits = static_cast<size_t>(std::max(1, options.commits_per_process));
    for (size_t c = 0; c < commits; ++c) {
      for (size_t k = c * mine.size() / commits; k < (c + 1) * mine.size() / commits; ++k)
        sub.put(values[mine[k]].first, values[mine[k]].second);
      sub.commit();
    }
    for (const auto& e : sub.entries()) {
      if (e.file < 0) {
        top.put(e.key, e.inline_value);
      } else {
        const OcdbtFileRef& f = sub.files()[e.file];
        top.put_ref(e.key, OcdbtValueRef{{folder + "/" + f.base_path, f.relative_path}, e.offset, e.length});
      }
    }
  }
  top.commit();
}

}  // namespace ckptcat::testing
