// Fuzz target: the OCDBT reader path (ckptcat::ocdbt::Database) over a
// database folder built from the input:
//
//   manifest_length   u16le
//   manifest          manifest_length bytes, written as manifest.ocdbt with
//                     its CRC fixed up (so mutations get past the checksum)
//   data              the rest, written as every data file the manifest names
//                     (when it decodes and the path stays inside the folder)
//
// then opened, listed, and every listed value read.
#include <system_error>

#include "ckptcat/error.h"
#include "ckptcat/ocdbt.h"
#include "format/envelope.h"
#include "format/manifest.h"
#include "fuzz_target.h"

namespace fs = std::filesystem;
namespace format = ckptcat::ocdbt::format;
using ckptcat::fuzz::as_view;

namespace {

// Relative, no "." or ".." components, only characters Orbax uses.
bool is_safe_relative_path(const std::string& path) {
  if (path.empty() || path.size() > 200 || path.front() == '/' || path.back() == '/') return false;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    const std::string_view part = std::string_view(path).substr(start, end - start);
    if (part.empty() || part == "." || part == "..") return false;
    for (char c : part) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '_' || c == '-';
      if (!ok) return false;
    }
    start = end + 1;
  }
  return true;
}

std::string pack(std::string_view manifest, std::string_view data) {
  std::string out;
  out += static_cast<char>(manifest.size() & 0xff);
  out += static_cast<char>(manifest.size() >> 8);
  out.append(manifest);
  out.append(data);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const size_t manifest_length = std::min<size_t>(data[0] | (data[1] << 8), size - 2);
  const std::string manifest = ckptcat::fuzz::with_valid_crc(as_view(data + 2, manifest_length));
  const std::string_view rest = as_view(data + 2 + manifest_length, size - 2 - manifest_length);

  const fs::path dir = ckptcat::fuzz::scratch_dir() / "db";
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir);
  ckptcat::fuzz::write_whole_file(dir / "manifest.ocdbt", manifest);
  try {
    std::string scratch;
    const auto body = format::open_envelope(manifest, format::kManifestMagic,
                                            ckptcat::fuzz::kFuzzMaxDecodedBytes, scratch);
    for (const auto& file : format::decode_manifest(body).table) {
      const std::string path = file.path();
      if (!is_safe_relative_path(path)) continue;
      fs::create_directories((dir / path).parent_path(), ec);
      if (!ec) ckptcat::fuzz::write_whole_file(dir / path, rest);
    }
  } catch (const ckptcat::Error&) {
  }

  try {
    ckptcat::ocdbt::OpenOptions options;
    options.max_decoded_bytes = ckptcat::fuzz::kFuzzMaxDecodedBytes;
    const auto db = ckptcat::ocdbt::Database::open(dir, options);
    (void)db.generations();
    size_t reads = 0;
    db.list([&](const ckptcat::ocdbt::KeyEntry& entry) {
      if (entry.location.is_inline) {
        ckptcat::fuzz::require(entry.inline_value.size() == entry.value_size, "inline value size");
      } else if (reads++ < 16) {
        try {
          ckptcat::fuzz::require(db.read(entry).size() == entry.value_size, "read value size");
        } catch (const ckptcat::Error&) {
        }
      }
      return true;
    });
    if (auto first = db.list_all(); !first.empty()) (void)db.get(first.front().key);
  } catch (const ckptcat::Error&) {
  }
  return 0;
}

std::vector<std::string> ckptcat::fuzz::seeds_from_corpus(const fs::path& corpus) {
  std::vector<std::string> seeds;
  for (const auto& dir : ocdbt_databases(corpus)) {
    const std::string manifest = read_whole_file(dir / "manifest.ocdbt");
    if (manifest.size() > 0xffff) continue;
    std::string data_file;
    try {
      std::string scratch;
      const auto body = format::open_envelope(manifest, format::kManifestMagic, 1u << 20, scratch);
      const auto table = format::decode_manifest(body).table;
      std::error_code ec;
      if (!table.empty() && fs::file_size(dir / table.front().path(), ec) < (1u << 20) && !ec)
        data_file = read_whole_file(dir / table.front().path());
    } catch (const ckptcat::Error&) {
    }
    seeds.push_back(pack(manifest, data_file));
  }
  return seeds;
}
