// Helpers shared by the fuzz targets (see fuzz_target.h).
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <system_error>
#include <unistd.h>

#include "ckptcat/error.h"
#include "format/btree.h"
#include "format/crc32c.h"
#include "format/envelope.h"
#include "format/manifest.h"
#include "fuzz_target.h"
#include "ocdbt_writer.h"

namespace ckptcat::fuzz {
namespace fs = std::filesystem;
namespace format = ckptcat::ocdbt::format;

std::vector<fs::path> find_files(const fs::path& root,
                                 const std::function<bool(const fs::path&)>& match) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file(ec) && match(it->path())) out.push_back(it->path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<fs::path> find_files_named(const fs::path& root, std::string_view name) {
  return find_files(root, [name](const fs::path& p) { return p.filename() == name; });
}

std::string read_whole_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_whole_file(const fs::path& file, std::string_view bytes) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

namespace {

fs::path make_scratch_dir() {
  const fs::path dir =
      fs::temp_directory_path() / ("ckptcat-fuzz-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::atexit([] {
    std::error_code ec;
    fs::remove_all(scratch_dir(), ec);
  });
  return dir;
}

// Bytes [offset, offset + length) of `file`, or nothing when out of range.
std::optional<std::string> read_range(const fs::path& file, uint64_t offset, uint64_t length) {
  std::error_code ec;
  const uint64_t size = fs::file_size(file, ec);
  if (ec || offset > size || length > size - offset || length > (64u << 20)) return std::nullopt;
  std::ifstream in(file, std::ios::binary);
  std::string out(length, '\0');
  in.seekg(static_cast<std::streamoff>(offset));
  in.read(out.data(), static_cast<std::streamsize>(length));
  if (!in) return std::nullopt;
  return out;
}

struct Walker {
  fs::path dir;
  std::vector<OcdbtItem> items;

  // Reads and opens the item at `ref` of `table`; nullopt when unreadable.
  std::optional<std::string_view> open(const format::DataFileTable& table,
                                       const format::IndirectRef& ref, uint32_t magic) {
    if (ref.file_id >= table.size() || items.size() >= 256) return std::nullopt;
    auto bytes = read_range(dir / table[ref.file_id].path(), ref.offset, ref.length);
    if (!bytes) return std::nullopt;
    OcdbtItem item{magic, std::move(*bytes), {}};
    std::string scratch;
    try {
      item.body = std::string(format::open_envelope(item.item, magic, 64u << 20, scratch));
    } catch (const Error&) {
      return std::nullopt;
    }
    items.push_back(std::move(item));
    return items.back().body;
  }

  void btree(const format::DataFileTable& table, const format::IndirectRef& ref, int depth) {
    auto body = open(table, ref, format::kBtreeNodeMagic);
    if (!body || depth > 16) return;
    format::BtreeNode node;
    try {
      format::decode_btree_node(*body, table[ref.file_id].base_path, node);
    } catch (const Error&) {
      return;
    }
    for (const auto& child : node.children) btree(node.table, child.ref, depth + 1);
  }

  void versions(const format::DataFileTable& table,
                const std::vector<format::VersionLeafEntry>& leaves) {
    for (const auto& v : leaves) {
      if (!v.empty_tree()) btree(table, v.root, 0);
    }
  }

  void version_node(const format::DataFileTable& table, const format::IndirectRef& ref,
                    int depth) {
    auto body = open(table, ref, format::kVersionNodeMagic);
    if (!body || depth > 16) return;
    try {
      const auto node = format::decode_version_node(*body, table[ref.file_id].base_path);
      versions(node.table, node.versions);
      for (const auto& child : node.children) version_node(node.table, child.ref, depth + 1);
    } catch (const Error&) {
    }
  }
};

}  // namespace

void require(bool condition, const char* what) {
  if (condition) return;
  std::fprintf(stderr, "fuzz: invariant violated: %s\n", what);
  std::abort();
}

const fs::path& scratch_dir() {
  static const fs::path dir = make_scratch_dir();
  return dir;
}

std::vector<OcdbtItem> ocdbt_items(const fs::path& dir) {
  Walker walker{dir, {}};
  OcdbtItem manifest{format::kManifestMagic, read_whole_file(dir / "manifest.ocdbt"), {}};
  std::string scratch;
  try {
    manifest.body = std::string(
        format::open_envelope(manifest.item, format::kManifestMagic, 64u << 20, scratch));
  } catch (const Error&) {
    return {};
  }
  walker.items.push_back(manifest);
  try {
    const auto decoded = format::decode_manifest(manifest.body);
    walker.versions(decoded.table, decoded.versions);
    for (const auto& node : decoded.version_nodes) walker.version_node(decoded.table, node.ref, 0);
  } catch (const Error&) {
  }
  return walker.items;
}

std::vector<fs::path> ocdbt_databases(const fs::path& corpus) {
  std::vector<fs::path> out;
  for (const auto& manifest : find_files_named(corpus, "manifest.ocdbt")) {
    out.push_back(manifest.parent_path());
  }
  return out;
}

std::string_view envelope_body(const uint8_t* data, size_t size, uint32_t magic,
                               std::string& item, std::string& scratch) {
  if (size == 0) return {};
  const std::string_view rest = as_view(data + 1, size - 1);
  if ((data[0] & 1) == 0) return rest;
  item = with_valid_crc(rest);
  return format::open_envelope(item, magic, kFuzzMaxDecodedBytes, scratch);
}

std::vector<std::string> envelope_seeds(const fs::path& corpus, uint32_t magic) {
  std::vector<fs::path> dirs = ocdbt_databases(corpus);
  // Format features the corpus lacks: version-tree nodes and interior B+tree
  // nodes, from the test-only writer.
  const fs::path generated = scratch_dir() / "generated-seed-db";
  std::error_code ec;
  fs::remove_all(generated, ec);
  testing::OcdbtWriterOptions options;
  options.version_tree_arity_log2 = 1;
  options.max_node_entries = 4;
  options.max_inline_value_bytes = 8;
  options.compression = testing::OcdbtCompression::kMixed;
  {
    testing::OcdbtWriter writer(generated, options);
    for (int i = 0; i < 24; ++i) {
      writer.put("param" + std::to_string(i) + "/.zarray", std::string(i % 16, 'v'));
      if (i % 3 == 2) writer.commit();
    }
  }
  dirs.push_back(generated);
  std::vector<std::string> seeds;
  for (const auto& dir : dirs) {
    for (const auto& item : ocdbt_items(dir)) {
      if (item.magic != magic) continue;
      seeds.push_back('\x01' + item.item);
      seeds.push_back('\x00' + item.body);
    }
  }
  return seeds;
}

std::string with_valid_crc(std::string_view item) {
  std::string out(item);
  if (out.size() < format::kMinEnvelopeSize) return out;
  const uint32_t crc = format::crc32c(std::string_view(out).substr(0, out.size() - 4));
  for (int i = 0; i < 4; ++i) out[out.size() - 4 + i] = static_cast<char>(crc >> (8 * i));
  return out;
}

}  // namespace ckptcat::fuzz
