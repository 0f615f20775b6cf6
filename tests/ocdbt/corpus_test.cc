// The reader against the real Orbax checkpoints in ../shared/corpus (spec §11):
// every intact database, the six deliberately damaged items through the
// per-process fallback, and the acsolverx steps whose largest chunk file was
// left out of the corpus.
#include <doctest/doctest.h>
#include <zstd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "ckptcat/ocdbt.h"
#include "shared_case.h"

namespace fs = std::filesystem;
using ckptcat::Error;
using ckptcat::ocdbt::Database;
using ckptcat::ocdbt::KeyEntry;
using ckptcat::ocdbt::OpenOptions;
using nlohmann::json;
using namespace ckptcat::testing;

namespace {

fs::path corpus() { return shared_data_dir() / "corpus"; }

bool in_process_folder(const fs::path& dir) {
  return dir.filename().string().rfind("ocdbt.process_", 0) == 0;
}

// (key, value) pairs of a database, in order.
std::vector<std::pair<std::string, std::string>> contents(const Database& db) {
  std::vector<std::pair<std::string, std::string>> out;
  db.list([&](const KeyEntry& e) {
    out.emplace_back(e.key, e.location.is_inline ? std::string(e.inline_value) : db.read(e));
    CHECK(out.back().second.size() == e.value_size);
    return true;
  });
  return out;
}

std::vector<int32_t> decode_int32_chunk(const std::string& zstd_bytes) {
  std::string raw(4096, '\0');
  const size_t n = ZSTD_decompress(raw.data(), raw.size(), zstd_bytes.data(), zstd_bytes.size());
  REQUIRE_FALSE(ZSTD_isError(n));
  std::vector<int32_t> out(n / 4);
  for (size_t i = 0; i < out.size(); ++i) {
    uint32_t v = 0;
    for (int b = 3; b >= 0; --b) v = (v << 8) | static_cast<uint8_t>(raw[4 * i + b]);
    out[i] = static_cast<int32_t>(v);
  }
  return out;
}

// The four keys every compatibility database holds (spec §11), values checked.
void check_compat_contents(const fs::path& dir, const Database& db) {
  const bool v1 = dir.string().find("v1_checkpoints") != std::string::npos;
  const auto kv = contents(db);
  std::vector<std::string> keys;
  for (const auto& [k, v] : kv) keys.push_back(k);
  std::map<std::string, std::string> values(kv.begin(), kv.end());
  if (!v1) {
    REQUIRE(keys == std::vector<std::string>{"a/.zarray", "a/0", "b.c/.zarray", "b.c/0"});
    CHECK(values["a/.zarray"].size() == 164);
    CHECK(values["b.c/.zarray"].size() == 164);
    CHECK(values["a/0"].size() == 41);
    CHECK(values["b.c/0"].size() == 21);
    const json a = json::parse(values["a/.zarray"]);
    CHECK(a["shape"] == json::array({8}));
    CHECK(a["chunks"] == json::array({8}));
    CHECK(a["dtype"] == "<i4");
    CHECK(a["compressor"]["id"] == "zstd");
    CHECK(a["compressor"]["level"] == 1);
    CHECK(a["dimension_separator"] == ".");
    CHECK(a["zarr_format"] == 2);
    const json bc = json::parse(values["b.c/.zarray"]);
    CHECK(bc["shape"] == json::array({3}));
    CHECK(bc["chunks"] == json::array({3}));
    CHECK(bc["dtype"] == "<i4");
    CHECK(decode_int32_chunk(values["a/0"]) == std::vector<int32_t>{0, 1, 2, 3, 4, 5, 6, 7});
    CHECK(decode_int32_chunk(values["b.c/0"]) == std::vector<int32_t>{1, 2, 3});
  } else {
    REQUIRE(keys == std::vector<std::string>{"a/c/0", "a/zarr.json", "b.c/c/0", "b.c/zarr.json"});
    CHECK(values["a/c/0"].size() == 61);
    CHECK(values["b.c/c/0"].size() == 41);
    const json a = json::parse(values["a/zarr.json"]);
    CHECK(a["node_type"] == "array");
    CHECK(a["shape"] == json::array({8}));
    CHECK(a["data_type"] == "int32");
    CHECK(a["chunk_grid"]["configuration"]["chunk_shape"] == json::array({8}));
    CHECK(a["codecs"][0]["name"] == "sharding_indexed");
    const json bc = json::parse(values["b.c/zarr.json"]);
    CHECK(bc["shape"] == json::array({3}));
    CHECK(bc["data_type"] == "int32");
  }
}

OpenOptions strict() {
  OpenOptions o;
  o.per_process_fallback = false;
  return o;
}

}  // namespace

SHARED_TEST_CASE("orbax-compat: every database decodes; damaged items read through the fallback") {
  const fs::path root = corpus() / "orbax-compat";
  std::set<fs::path> dirs;
  for (const auto& item : fs::recursive_directory_iterator(root)) {
    if (item.path().filename() == "manifest.ocdbt") dirs.insert(item.path().parent_path());
    if (item.is_directory() && in_process_folder(item.path())) dirs.insert(item.path().parent_path());
  }
  size_t intact = 0, top_level = 0, per_process = 0, missing_d = 0, missing_manifest = 0;
  for (const auto& dir : dirs) {
    CAPTURE(dir);
    const bool has_manifest = fs::exists(dir / "manifest.ocdbt");
    const bool damaged_d = !in_process_folder(dir) && !fs::exists(dir / "d");
    if (!has_manifest || damaged_d) {
      (has_manifest ? missing_d : missing_manifest) += 1;
      try {
        Database::open(dir, strict());
        FAIL("a damaged top-level database opened without the fallback");
      } catch (const Error& e) {
        CHECK(e.code() == Error::Code::kNotFound);
        CHECK(e.file().find(has_manifest ? "/d/" : "manifest.ocdbt") != std::string::npos);
      }
      Database db = Database::open(dir);
      CHECK(db.fallback());
      CHECK(db.fallback_reason().find(has_manifest ? "/d/" : "manifest.ocdbt") != std::string::npos);
      CHECK(db.fallback_databases() == std::vector<fs::path>{dir / "ocdbt.process_0"});
      check_compat_contents(dir, db);
      continue;
    }
    Database db = Database::open(dir, strict());
    CHECK_FALSE(db.fallback());
    check_compat_contents(dir, db);
    const auto gens = db.generations();
    CHECK(gens.back().generation_number == db.latest().generation_number);
    CHECK(db.latest().num_keys == 4);
    if (in_process_folder(dir)) {
      ++per_process;
      CHECK(gens.size() >= 3);
      CHECK(gens.size() <= 4);
    } else {
      ++top_level;
      CHECK(gens.size() == 1);
      // Top-level equals the union of its per-process databases byte for byte.
      if (fs::exists(dir / "ocdbt.process_0" / "manifest.ocdbt"))
        CHECK(contents(db) == contents(Database::open(dir / "ocdbt.process_0")));
    }
    ++intact;
  }
  CHECK(intact == 80);
  CHECK(top_level == 37);
  CHECK(per_process == 43);
  CHECK(missing_d == 3);
  CHECK(missing_manifest == 3);
}

SHARED_TEST_CASE("a real manifest: every single-byte flip and truncation is corruption") {
  const fs::path source = corpus() /
                          "orbax-compat/v0_checkpoints/direct_checkpoint/checkpoint_metadata_present/"
                          "pytree_checkpointable_has_metadata";
  TempDir tmp;
  fs::copy_file(source / "manifest.ocdbt", tmp.path() / "manifest.ocdbt");
  fs::copy(source / "d", tmp.path() / "d");
  const std::string original = read_file(tmp.path() / "manifest.ocdbt");
  REQUIRE(original.size() == 113);
  CHECK(Database::open(tmp.path()).list_all().size() == 4);
  auto code_for = [&](const std::string& bytes) -> std::optional<Error::Code> {
    {
      std::ofstream out(tmp.path() / "manifest.ocdbt", std::ios::binary | std::ios::trunc);
      out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    }
    try {
      Database::open(tmp.path()).list_all();
      return std::nullopt;
    } catch (const Error& e) {
      CHECK(e.file() == (tmp.path() / "manifest.ocdbt").string());
      return e.code();
    }
  };
  for (size_t i = 0; i < original.size(); ++i) {
    for (uint8_t mask : {0x01, 0x80, 0xff}) {
      std::string bytes = original;
      bytes[i] = static_cast<char>(bytes[i] ^ mask);
      CHECK_MESSAGE(code_for(bytes) == Error::Code::kCorruption, i);
    }
  }
  for (size_t n = 0; n < original.size(); ++n) CHECK(code_for(original.substr(0, n)) == Error::Code::kCorruption);
  CHECK(code_for(original + "x") == Error::Code::kCorruption);
}

SHARED_TEST_CASE("acsolverx: top-level databases reference per-process data files; a removed chunk file") {
  const fs::path root = corpus() / "acsolverx-610model";
  for (const char* step : {"900", "950", "1000"}) {
    for (const char* item : {"params", "solve_data"}) {
      const fs::path dir = root / step / item;
      CAPTURE(dir);
      Database db = Database::open(dir, strict());
      CHECK_FALSE(db.fallback());
      CHECK(db.generations().size() == 1);
      size_t arrays = 0, out_of_line = 0, missing = 0;
      std::string missing_file;
      std::vector<std::string> keys;
      db.list([&](const KeyEntry& e) {
        keys.push_back(e.key);
        if (e.key.size() > 7 && e.key.compare(e.key.size() - 7, 7, ".zarray") == 0) {
          REQUIRE(e.location.is_inline);
          const json meta = json::parse(e.inline_value);
          CHECK(meta["shape"].is_array());
          CHECK(meta["dtype"].is_string());
          CHECK(meta["zarr_format"] == 2);
          ++arrays;
          return true;
        }
        if (e.location.is_inline) return true;
        ++out_of_line;
        // Out-of-line chunks live in ocdbt.process_0/d/, reached through a base path.
        CHECK(e.location.file.find("/" + std::string(item) + "/ocdbt.process_0/d/") != std::string::npos);
        if (fs::exists(e.location.file)) {
          CHECK(db.read(e).size() == e.value_size);
        } else {
          ++missing;
          missing_file = e.location.file;
          try {
            db.read(e);
            FAIL("read of a removed file succeeded");
          } catch (const Error& err) {
            CHECK(err.code() == Error::Code::kNotFound);
            CHECK(err.file() == e.location.file);
          }
          CHECK(e.key == "best_paths/0.0");
          if (std::string(step) == "900") CHECK(e.location.file.find("8a056b87") != std::string::npos);
        }
        return true;
      });
      CHECK(arrays > 0);
      CHECK(out_of_line > 0);
      CHECK(missing == (std::string(item) == "solve_data" ? 1u : 0u));
      CHECK(db.latest().num_keys == keys.size());
      // The per-process database holds the same keys. For solve_data its
      // latest root node lived in the removed file too, so it cannot be opened.
      if (missing_file.empty()) {
        std::vector<std::string> sub_keys;
        Database::open(dir / "ocdbt.process_0").list([&](const KeyEntry& e) {
          sub_keys.push_back(e.key);
          return true;
        });
        CHECK(sub_keys == keys);
      } else {
        try {
          Database::open(dir / "ocdbt.process_0");
          FAIL("the per-process database opened without its root node");
        } catch (const Error& err) {
          CHECK(err.code() == Error::Code::kNotFound);
          CHECK(err.file() == missing_file);
        }
      }
    }
  }
}
