// Damaged, truncated and hostile input: always a ckptcat::Error naming the
// file, never a crash, hang or huge allocation.
#include <doctest/doctest.h>

#include <fstream>
#include <map>
#include <random>

#include "ckptcat/ocdbt.h"
#include "format/envelope.h"
#include "ocdbt_writer.h"
#include "shared_data.h"

namespace fs = std::filesystem;
using ckptcat::Error;
using ckptcat::ocdbt::Database;
using ckptcat::ocdbt::KeyEntry;
using ckptcat::ocdbt::OpenOptions;
using namespace ckptcat::testing;
namespace format = ckptcat::ocdbt::format;

namespace {

void write_bytes(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Opens and lists everything; returns the error code, or nullopt on success.
std::optional<Error::Code> open_and_list(const fs::path& dir, const OpenOptions& options = {}) {
  try {
    Database db = Database::open(dir, options);
    db.list([&](const KeyEntry& e) {
      if (!e.location.is_inline) db.read(e);
      return true;
    });
    db.generations();
    return std::nullopt;
  } catch (const Error& e) {
    CHECK_MESSAGE(!e.file().empty(), e.what());
    return e.code();
  }
}

OpenOptions no_fallback() {
  OpenOptions o;
  o.per_process_fallback = false;
  return o;
}

// A small database with nodes, out-of-line values and version-tree nodes.
void write_sample(const fs::path& dir, OcdbtCompression compression, int generations = 6) {
  OcdbtWriterOptions options;
  options.compression = compression;
  options.max_node_entries = 3;
  options.version_tree_arity_log2 = 1;
  OcdbtWriter w(dir, options);
  for (int g = 0; g < generations; ++g) {
    for (int i = 0; i < 4; ++i)
      w.put("key/" + std::to_string(g) + "/" + std::to_string(i), std::string(i == 0 ? 1500 : 10, 'v'));
    w.commit();
  }
}

}  // namespace

TEST_CASE("every single-byte flip of a written manifest is a checksum error") {
  for (auto compression : {OcdbtCompression::kZstd, OcdbtCompression::kRaw}) {
    TempDir tmp;
    write_sample(tmp.path(), compression);
    const fs::path manifest = tmp.path() / "manifest.ocdbt";
    const std::string original = read_file(manifest);
    REQUIRE(open_and_list(tmp.path()) == std::nullopt);
    for (size_t i = 0; i < original.size(); ++i) {
      std::string bytes = original;
      bytes[i] = static_cast<char>(bytes[i] ^ 0xff);
      write_bytes(manifest, bytes);
      CHECK_MESSAGE(open_and_list(tmp.path(), no_fallback()) == Error::Code::kCorruption, i);
    }
    // Truncated at every length.
    for (size_t n = 0; n < original.size(); ++n) {
      write_bytes(manifest, original.substr(0, n));
      CHECK_MESSAGE(open_and_list(tmp.path(), no_fallback()) == Error::Code::kCorruption, n);
    }
    write_bytes(manifest, original);
    CHECK(open_and_list(tmp.path()) == std::nullopt);
  }
}

TEST_CASE("damaged data files: flips, truncations, garbage, missing files") {
  // One generation: every byte of the data files is either a raw value or part
  // of a node the latest tree needs.
  TempDir tmp;
  write_sample(tmp.path(), OcdbtCompression::kMixed, 1);
  std::vector<fs::path> data_files;
  for (const auto& item : fs::directory_iterator(tmp.path() / "d")) data_files.push_back(item.path());
  REQUIRE(!data_files.empty());
  std::map<std::string, std::vector<std::pair<uint64_t, uint64_t>>> value_extents;
  Database::open(tmp.path()).list([&](const KeyEntry& e) {
    if (!e.location.is_inline)
      value_extents[e.location.file].emplace_back(e.location.offset, e.location.offset + e.value_size);
    return true;
  });
  std::mt19937 rng(5);
  int in_values = 0, in_nodes = 0;
  for (const auto& file : data_files) {
    const std::string original = read_file(file);
    // A flip inside a node is an error; inside a raw value (no checksum in
    // OCDBT) it goes unnoticed by the reader.
    for (int k = 0; k < 300; ++k) {
      std::string bytes = original;
      const size_t at = rng() % bytes.size();
      bytes[at] = static_cast<char>(bytes[at] ^ 0x5a);
      write_bytes(file, bytes);
      bool in_value = false;
      for (const auto& [begin, end] : value_extents[file.string()]) in_value = in_value || (at >= begin && at < end);
      (in_value ? in_values : in_nodes) += 1;
      CHECK_MESSAGE(open_and_list(tmp.path(), no_fallback()).has_value() == !in_value, at);
    }
    // Every truncation cuts a node or a value the walk needs.
    for (size_t n = 0; n < original.size(); n += 1 + original.size() / 60) {
      write_bytes(file, original.substr(0, n));
      CHECK_MESSAGE(open_and_list(tmp.path(), no_fallback()) != std::nullopt, n);
    }
    write_bytes(file, original);
  }
  CHECK(in_values > 10);
  CHECK(in_nodes > 10);
  CHECK(open_and_list(tmp.path()) == std::nullopt);
  // A missing data file: kNotFound naming it.
  fs::rename(data_files[0], tmp.path() / "moved");
  try {
    Database db = Database::open(tmp.path(), no_fallback());
    db.list([&](const KeyEntry& e) {
      if (!e.location.is_inline) db.read(e);
      return true;
    });
    db.generations();
    FAIL("expected kNotFound");
  } catch (const Error& e) {
    CHECK(e.code() == Error::Code::kNotFound);
    CHECK(e.file() == data_files[0].string());
  }
}

TEST_CASE("garbage, empty and hostile manifests") {
  TempDir tmp;
  const fs::path manifest = tmp.path() / "manifest.ocdbt";
  std::mt19937_64 rng(2);
  for (size_t size : {0, 1, 15, 16, 17, 100, 5000}) {
    std::string bytes(size, '\0');
    for (auto& c : bytes) c = static_cast<char>(rng());
    write_bytes(manifest, bytes);
    CHECK(open_and_list(tmp.path()) == Error::Code::kCorruption);
  }
  // Valid CRCs around hostile bodies: huge counts and lengths must be refused
  // before allocating.
  std::string config = std::string(16, 'u') + std::string("\x00\x80\x08\x80\x01\x04\x00", 7);
  std::vector<std::string> bodies = {
      config + "\xff\xff\xff\xff\xff\xff\xff\xff\x7f",                 // num_files ~ 2^63
      config + std::string("\x01\xff\xff\x03\x00", 5),               // path length 65535, no bytes
      config + std::string("\x00\xff\xff\xff\xff\x0f", 6),           // num_versions 2^32-1
      config + std::string("\x01\x01\x00", 3) + "x" + std::string("\x01\x05\x00\x07", 4),  // bad file id
      std::string(16, 'u') + "\x05",                                   // manifest_kind 5
      std::string(16, 'u') + std::string("\x00\x80\x08\x80\x01\x11\x00", 7),  // arity 17
  };
  for (const auto& body : bodies) {
    write_bytes(manifest, encode_ocdbt_envelope(format::kManifestMagic, body, false));
    CHECK(open_and_list(tmp.path()) == Error::Code::kCorruption);
  }
  // Unknown compression method in the config: unsupported.
  write_bytes(manifest, encode_ocdbt_envelope(format::kManifestMagic,
                                              std::string(16, 'u') + std::string("\x00\x80\x08\x80\x01\x04\x09", 7), false));
  CHECK(open_and_list(tmp.path()) == Error::Code::kUnsupported);
  // Huge declared envelope length.
  std::string huge = encode_ocdbt_envelope(format::kManifestMagic, config, false);
  huge[11] = '\x7f';  // the length's top byte
  write_bytes(manifest, huge);
  CHECK(open_and_list(tmp.path()) == Error::Code::kCorruption);
  // A zstd bomb: a tiny item that decodes to more than the cap.
  OpenOptions small_cap;
  small_cap.max_decoded_bytes = 1 << 20;
  write_bytes(manifest, encode_ocdbt_envelope(format::kManifestMagic, std::string(3 << 20, '\0'), true));
  CHECK(fs::file_size(manifest) < 2000);
  CHECK(open_and_list(tmp.path(), small_cap) == Error::Code::kCorruption);
  // A manifest that is a folder, and a node reference beyond the end of its file.
  fs::remove(manifest);
  fs::create_directory(manifest);
  CHECK(open_and_list(tmp.path(), no_fallback()) != std::nullopt);
}

TEST_CASE("node references out of range and wrong heights are corruption") {
  TempDir tmp;
  {
    OcdbtWriter w(tmp.path());
    w.put("a", "1");
    w.commit();
  }
  // Truncating the only data file leaves the root reference past its end.
  const fs::path data = fs::directory_iterator(tmp.path() / "d")->path();
  const std::string original = read_file(data);
  write_bytes(data, original.substr(0, original.size() / 2));
  try {
    Database::open(tmp.path());
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(e.code() == Error::Code::kCorruption);
    CHECK(e.file() == data.string());
    CHECK(e.offset() == 0);
  }
  // A leaf whose envelope is fine but whose height differs from the manifest's.
  std::string leaf = std::string("\x01\x00\x01\x01", 4) + "a" + std::string("\x01\x00", 2) + "1";
  write_bytes(data, encode_ocdbt_envelope(format::kBtreeNodeMagic, leaf, false));
  CHECK(open_and_list(tmp.path()) == Error::Code::kCorruption);
}
