// Writer -> reader round trips over every feature of spec §12: the reader must
// return exactly what the test-only writer wrote.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>

#include "ckptcat/ocdbt.h"
#include "ocdbt_writer.h"
#include "shared_data.h"

namespace fs = std::filesystem;
using ckptcat::Error;
using ckptcat::ocdbt::Database;
using ckptcat::ocdbt::KeyEntry;
using ckptcat::ocdbt::OpenOptions;
using namespace ckptcat::testing;

namespace {

using Contents = std::map<std::string, std::string>;

// Orbax-like keys ("params.layer_7.kernel/0.3") with a mix of small inline and
// larger out-of-line values; deterministic for a seed.
Contents make_contents(size_t n, uint64_t seed, size_t big_every = 5) {
  std::mt19937_64 rng(seed);
  Contents out;
  for (size_t i = 0; out.size() < n; ++i) {
    std::string key = "params.layer_" + std::to_string(i / 40) + (i % 2 ? ".kernel/" : ".bias/") +
                      (i % 40 < 2 ? std::string(".zarray") : std::to_string(i % 40) + "." + std::to_string(rng() % 3));
    const size_t size = (i % big_every == 0) ? 1025 + rng() % 3000 : rng() % 200;
    std::string value(size, '\0');
    for (auto& c : value) c = static_cast<char>(rng());
    out[key] = value;
  }
  return out;
}

// Every key, size, location and value of `db` equals `expected`.
void check_contents(const Database& db, const Contents& expected) {
  auto it = expected.begin();
  size_t count = 0;
  db.list([&](const KeyEntry& e) {
    REQUIRE(it != expected.end());
    CHECK(e.key == it->first);
    CHECK(e.value_size == it->second.size());
    if (e.location.is_inline) {
      CHECK(e.inline_value == it->second);
    } else {
      CHECK(fs::path(e.location.file).is_absolute());
      CHECK(fs::exists(e.location.file));
      CHECK(db.read(e) == it->second);
    }
    ++it;
    ++count;
    return true;
  });
  CHECK(it == expected.end());
  CHECK(count == expected.size());
}

Contents slice(const Contents& c, std::string_view lower, std::string_view upper) {
  Contents out;
  for (const auto& [k, v] : c)
    if (k >= lower && (upper.empty() || k < upper)) out.emplace(k, v);
  return out;
}

std::vector<std::string> keys_of(auto lister) {
  std::vector<std::string> keys;
  lister([&](const KeyEntry& e) {
    keys.push_back(e.key);
    return true;
  });
  return keys;
}

std::vector<std::string> keys_of(const Contents& c) {
  std::vector<std::string> keys;
  for (const auto& [k, v] : c) keys.push_back(k);
  return keys;
}

void check_queries(const Database& db, const Contents& c) {
  // Prefixes at several depths, present and absent.
  for (std::string prefix : {"", "params.", "params.layer_1", "params.layer_1.", "params.layer_12.kernel/",
                             "params.layer_3.bias/.zarray", "params.layer_9", "zzz", "a", "params.layer_"}) {
    Contents expected;
    for (const auto& [k, v] : c)
      if (k.compare(0, prefix.size(), prefix) == 0) expected.emplace(k, v);
    CHECK_MESSAGE(keys_of([&](auto v) { db.list_prefix(prefix, v); }) == keys_of(expected), prefix);
  }
  // Ranges between existing keys, between non-keys, empty and unbounded.
  std::vector<std::string> keys = keys_of(c);
  std::vector<std::pair<std::string, std::string>> ranges = {
      {"", ""}, {"params.layer_2", "params.layer_4"}, {keys[keys.size() / 3], keys[keys.size() / 2]},
      {keys[5], keys[5]}, {keys[7], ""}, {"", keys[9]}, {"params.layer_1.kernel/3", "params.layer_1.kernel/9"},
      {"zzz", ""}, {keys.back(), ""}};
  for (const auto& range : ranges) {
    const std::string& lo = range.first;
    const std::string& hi = range.second;
    CHECK_MESSAGE(keys_of([&](auto v) { db.list_range(lo, hi, v); }) == keys_of(slice(c, lo, hi)),
                  (lo + " .. " + hi));
  }
  // get: present keys (first, middle, last) and absent ones around them.
  for (size_t i : {size_t{0}, keys.size() / 2, keys.size() - 1}) {
    CHECK(db.get(keys[i]) == c.at(keys[i]));
    CHECK_FALSE(db.get(keys[i] + '\0').has_value());
    CHECK_FALSE(db.get(keys[i].substr(0, keys[i].size() - 1)).has_value());
  }
  CHECK_FALSE(db.get("").has_value());
  CHECK_FALSE(db.get("\xff\xff").has_value());
  // Stopping early.
  size_t seen = 0;
  db.list([&](const KeyEntry&) { return ++seen < 3; });
  CHECK(seen == 3);
}

}  // namespace

TEST_CASE("small database with every node feature: multi-level, mixed envelopes, multi-frame zstd") {
  for (auto compression : {OcdbtCompression::kZstd, OcdbtCompression::kRaw, OcdbtCompression::kMixed}) {
    TempDir tmp;
    OcdbtWriterOptions options;
    options.compression = compression;
    options.max_node_entries = 4;  // 600 keys: height >= 4
    options.zstd_frames = 3;
    options.zstd_content_size = false;
    options.target_data_file_size = 8192;  // several values and nodes per file, many files
    const Contents c = make_contents(600, 7);
    OcdbtWriter w(tmp.path(), options);
    for (const auto& [k, v] : c) w.put(k, v);
    w.commit();
    Database db = Database::open(tmp.path());
    CHECK_FALSE(db.fallback());
    CHECK(db.latest().generation_number == 1);
    CHECK(db.latest().num_keys == 600);
    check_contents(db, c);
    check_queries(db, c);
    // Values and nodes share data files, at non-zero offsets.
    std::set<std::string> files;
    bool nonzero = false;
    db.list([&](const KeyEntry& e) {
      if (!e.location.is_inline) {
        files.insert(e.location.file);
        nonzero = nonzero || e.location.offset > 0;
      }
      return true;
    });
    CHECK(files.size() > 3);
    CHECK(nonzero);
    const auto stats = db.stats();
    CHECK(stats.nodes_decoded > 150);  // every node of a 600-key fanout-4 tree was read
  }
}

TEST_CASE("prefix listing prunes subtrees") {
  TempDir tmp;
  OcdbtWriterOptions options;
  options.max_node_entries = 8;
  const Contents c = make_contents(5000, 3, 1000);
  OcdbtWriter w(tmp.path(), options);
  for (const auto& [k, v] : c) w.put(k, v);
  w.commit();
  Database all = Database::open(tmp.path());
  all.list([](const KeyEntry&) { return true; });
  Database one = Database::open(tmp.path());
  size_t n = 0;
  one.list_prefix("params.layer_42.", [&](const KeyEntry&) { return ++n, true; });
  CHECK(n == 40);
  CHECK(one.stats().nodes_decoded * 20 < all.stats().nodes_decoded);
  CHECK(one.stats().bytes_read * 20 < all.stats().bytes_read);
}

TEST_CASE("dozens of generations: version-tree nodes, empty first generation, every arity") {
  for (uint8_t arity_log2 : {1, 2, 4}) {
    TempDir tmp;
    OcdbtWriterOptions options;
    options.version_tree_arity_log2 = arity_log2;
    options.max_node_entries = 16;
    options.compression = OcdbtCompression::kMixed;
    const Contents c = make_contents(400, 11);
    OcdbtWriter w(tmp.path(), options);
    CHECK(w.commit() == 1);  // empty generation
    auto it = c.begin();
    Contents so_far;
    for (int g = 2; g <= 40; ++g) {
      for (int k = 0; k < 10 && it != c.end(); ++k, ++it) {
        w.put(it->first, it->second);
        so_far.insert(*it);
      }
      w.commit();
      if (g == 2 || g == 17 || g == 33) check_contents(Database::open(tmp.path()), so_far);
    }
    Database db = Database::open(tmp.path());
    CHECK(db.latest().generation_number == 40);
    CHECK(db.latest().num_keys == 390);
    const auto gens = db.generations();
    REQUIRE(gens.size() == 40);
    for (size_t i = 0; i < gens.size(); ++i) CHECK(gens[i].generation_number == i + 1);
    CHECK(gens[0].empty);
    CHECK(gens[0].num_keys == 0);
    CHECK(gens[1].num_keys == 10);
    CHECK(gens[1].commit_time_nsecs < gens[2].commit_time_nsecs);
    CHECK(db.stats().nodes_decoded > 1);  // version-tree nodes were read
    check_contents(db, so_far);
  }
}

TEST_CASE("an empty database lists nothing") {
  TempDir tmp;
  OcdbtWriter w(tmp.path());
  w.commit();
  Database db = Database::open(tmp.path());
  CHECK(db.latest().empty);
  CHECK(db.list_all().empty());
  CHECK_FALSE(db.get("a").has_value());
}

TEST_CASE("numbered manifests: the newest manifest.<16 hex> is read") {
  TempDir tmp;
  OcdbtWriterOptions options;
  options.numbered_manifest = true;
  options.max_node_entries = 5;
  const Contents c = make_contents(100, 5);
  OcdbtWriter w(tmp.path(), options);
  Contents so_far;
  for (const auto& [k, v] : c) {
    w.put(k, v);
    so_far.emplace(k, v);
    if (so_far.size() % 25 == 0) w.commit();
  }
  CHECK(fs::exists(tmp.path() / "manifest.0000000000000004"));
  CHECK(fs::exists(tmp.path() / "manifest.0000000000000001"));
  Database db = Database::open(tmp.path());
  CHECK(db.latest().generation_number == 4);
  CHECK(db.generations().size() == 4);
  check_contents(db, so_far);
  // A numbered manifest whose name disagrees with its content is corrupt.
  fs::rename(tmp.path() / "manifest.0000000000000004", tmp.path() / "manifest.0000000000000009");
  try {
    Database::open(tmp.path());
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(e.code() == Error::Code::kCorruption);
    CHECK(e.file().find("manifest.0000000000000009") != std::string::npos);
  }
  // Without any numbered manifest the database is empty.
  for (const auto& item : fs::directory_iterator(tmp.path()))
    if (item.path().filename().string().size() == 25) fs::remove(item.path());
  CHECK(Database::open(tmp.path()).list_all().empty());
}

TEST_CASE("Orbax item: merged top-level references per-process values through base paths") {
  const Contents c = make_contents(300, 9, 3);
  std::vector<std::pair<std::string, std::string>> kv(c.begin(), c.end());
  for (bool leaves_in_process : {false, true}) {
    TempDir tmp;
    OrbaxItemOptions options;
    options.num_processes = leaves_in_process ? 1 : 3;
    options.commits_per_process = 20;
    options.leaves_in_process_folder = leaves_in_process;
    options.writer.max_node_entries = 6;
    options.writer.target_data_file_size = 20000;
    write_orbax_item_database(tmp.path(), kv, options);
    Database db = Database::open(tmp.path());
    CHECK_FALSE(db.fallback());
    CHECK(db.generations().size() == 1);
    check_contents(db, c);
    check_queries(db, c);
    size_t in_process = 0;
    db.list([&](const KeyEntry& e) {
      if (!e.location.is_inline) {
        CHECK(e.location.file.find("/ocdbt.process_") != std::string::npos);
        ++in_process;
      }
      return true;
    });
    CHECK(in_process == 100);
    // The per-process database has 20 generations (> 16: version-tree nodes).
    const auto sub = Database::open(tmp.path() / "ocdbt.process_0");
    CHECK(sub.generations().size() == 20);
  }
}

TEST_CASE("per-process fallback: missing manifest or missing d/, union in key order") {
  const Contents c = make_contents(200, 13, 4);
  std::vector<std::pair<std::string, std::string>> kv(c.begin(), c.end());
  OrbaxItemOptions options;
  options.num_processes = 3;
  options.commits_per_process = 18;
  options.writer.max_node_entries = 5;
  for (int damage = 0; damage < 2; ++damage) {
    TempDir tmp;
    write_orbax_item_database(tmp.path(), kv, options);
    if (damage == 0)
      fs::remove(tmp.path() / "manifest.ocdbt");
    else
      fs::remove_all(tmp.path() / "d");
    OpenOptions strict;
    strict.per_process_fallback = false;
    try {
      Database::open(tmp.path(), strict);
      FAIL("expected kNotFound");
    } catch (const Error& e) {
      CHECK(e.code() == Error::Code::kNotFound);
    }
    Database db = Database::open(tmp.path());
    CHECK(db.fallback());
    CHECK(db.fallback_reason().find(damage == 0 ? "manifest.ocdbt" : "/d/") != std::string::npos);
    CHECK(db.fallback_databases().size() == 3);
    CHECK(db.latest().generation_number == 18);
    check_contents(db, c);
    check_queries(db, c);
  }
  // The same key in two sub-databases: the first folder in sorted order wins.
  TempDir tmp;
  {
    OcdbtWriter a(tmp.path() / "ocdbt.process_0");
    a.put("k/1", "from-0");
    a.put("k/3", "only-0");
    a.commit();
    OcdbtWriter b(tmp.path() / "ocdbt.process_1");
    b.put("k/1", "from-1");
    b.put("k/2", "only-1");
    b.commit();
    OcdbtWriter r(tmp.path() / "ocdbt.process_replica_a");
    r.put("k/0", "replica");
    r.commit();
    fs::create_directories(tmp.path() / "ocdbt.process_bad-name");
  }
  Database db = Database::open(tmp.path());
  CHECK(db.fallback());
  CHECK(db.fallback_databases().size() == 3);
  check_contents(db, {{"k/0", "replica"}, {"k/1", "from-0"}, {"k/2", "only-1"}, {"k/3", "only-0"}});
  CHECK(db.get("k/1") == "from-0");
  // Nothing at all: kNotFound naming the manifest.
  TempDir empty;
  try {
    Database::open(empty.path());
    FAIL("expected kNotFound");
  } catch (const Error& e) {
    CHECK(e.code() == Error::Code::kNotFound);
    CHECK(e.file().find("manifest.ocdbt") != std::string::npos);
  }
}

TEST_CASE("large: 300,000 keys, several B+tree levels, 30 generations") {
  Contents c;
  std::mt19937_64 rng(1);
  for (size_t i = 0; i < 300000; ++i) {
    char key[64];
    std::snprintf(key, sizeof key, "model.block_%04zu.w%zu/%zu.%zu", i / 97, i % 7, (i / 7) % 13, i % 97);
    c.emplace(key, std::string(i % 1000 == 0 ? 2000 : i % 40, static_cast<char>('a' + i % 26)));
  }
  TempDir tmp;
  OcdbtWriterOptions options;
  options.max_node_entries = 64;  // 300k keys: height 3
  options.compression = OcdbtCompression::kMixed;
  OcdbtWriter w(tmp.path(), options);
  size_t n = 0;
  for (const auto& [k, v] : c) {
    w.put(k, v);
    if (++n % 10000 == 0) w.commit();
  }
  Database db = Database::open(tmp.path());
  CHECK(db.latest().generation_number == 30);
  CHECK(db.latest().num_keys == c.size());
  CHECK(db.generations().size() == 30);
  check_contents(db, c);
  check_queries(db, c);
}

TEST_CASE("multi-byte varints everywhere: 300 files in one table, keys near 64 KiB, non-ASCII keys") {
  TempDir tmp;
  OcdbtWriterOptions options;
  options.target_data_file_size = 1;  // every value and node in its own data file
  options.max_node_entries = 300;
  options.max_inline_value_bytes = 10;
  Contents c;
  for (int i = 0; i < 300; ++i) {
    std::string key = "k\xc3\xa9y/\xff" + std::to_string(1000 + i);
    if (i % 100 == 7) key += std::string(60000, static_cast<char>('a' + i % 26));
    c[key] = std::string(11 + i, static_cast<char>(i));
  }
  OcdbtWriter w(tmp.path(), options);
  for (const auto& [k, v] : c) w.put(k, v);
  w.commit();
  size_t files = 0;
  for ([[maybe_unused]] const auto& item : fs::directory_iterator(tmp.path() / "d")) ++files;
  CHECK(files == 301);
  Database db = Database::open(tmp.path());
  check_contents(db, c);
  size_t n = 0;
  db.list_prefix("k\xc3\xa9y/\xff" "11", [&](const KeyEntry& e) {
    CHECK(e.key.rfind("k\xc3\xa9y/\xff" "11", 0) == 0);
    return ++n, true;
  });
  CHECK(n == 100);
  const std::string long_key = "k\xc3\xa9y/\xff" "1107" + std::string(60000, 'a' + 107 % 26);
  CHECK(db.get(long_key) == c.at(long_key));
}
