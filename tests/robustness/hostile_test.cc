// Hostile trees and headers: symbolic link loops and links out of the tree,
// absurd lengths in binary headers (decoded under a memory limit), deeply
// nested JSON, and names with "/", ".", non-ASCII characters and NUL bytes
// (NUL cannot be in a file name; it is tested inside JSON keys).
#include <doctest/doctest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <SQLiteCpp/SQLiteCpp.h>

#include "ckptcat/catalog.h"
#include "ckptcat/error.h"
#include "ckptcat/reader.h"
#include "damage.h"
#include "format/btree.h"
#include "json_file.h"
#include "legacy_checkpoint.h"
#include "orbax_writer.h"
#include "shared_data.h"
#include "tree_metadata.h"

namespace fs = std::filesystem;
using namespace ckptcat::testing;

#if defined(__SANITIZE_ADDRESS__)
#define CKPTCAT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CKPTCAT_ASAN 1
#endif
#endif

namespace {

CheckpointSpec small_checkpoint(std::vector<LeafSpec> leaves) {
  CheckpointSpec spec;
  ItemSpec& item = spec.items.emplace_back(ItemSpec::pytree("state"));
  item.leaves = std::move(leaves);
  return spec;
}

// Runs `body` in a child process whose address space is capped at `limit`
// bytes (not under AddressSanitizer, which reserves terabytes of shadow
// memory: there the fuzzers' -malloc_limit_mb covers allocations). Returns the
// child's exit status (128 + signal when killed).
template <typename Body>
int run_with_memory_limit(uint64_t limit, Body body) {
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
#ifndef CKPTCAT_ASAN
    const rlimit rl{limit, limit};
    ::setrlimit(RLIMIT_AS, &rl);
#else
    (void)limit;
#endif
    ::_exit(body());
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>(0x80 | (v & 0x7f));
    v >>= 7;
  }
  out += static_cast<char>(v);
}

}  // namespace

TEST_CASE("symbolic link loops and links out of the tree") {
  TempDir tmp;
  const fs::path tree = tmp.path() / "tree";
  const fs::path outside = tmp.path() / "outside";
  write_checkpoint(tree / "run" / "100", small_checkpoint({LeafSpec::array({"w"}, "float32", {4})}));
  write_checkpoint(outside / "7", small_checkpoint({LeafSpec::array({"v"}, "int32", {2})}));
  fs::create_directory_symlink(tree, tree / "run" / "loop");     // back to an ancestor
  fs::create_directory_symlink("self", tree / "self");           // a link to itself
  fs::create_directory_symlink(outside, tree / "elsewhere");     // out of the tree
  fs::create_symlink(tree / "run" / "100" / "state" / "_METADATA", tree / "run" / "100" / "alias");

  const auto found = ckptcat::orbax::discover(tree);
  REQUIRE(found.checkpoints.size() == 1);
  CHECK(found.checkpoints[0].directory == fs::weakly_canonical(tree / "run" / "100"));
  std::string problems;
  for (const auto& p : found.problems) problems += p.file + ": " + p.message + "\n";
  CHECK_MESSAGE(problems.find("elsewhere") != std::string::npos, problems);
  // tree/self -> self cannot be resolved (ELOOP): skipped like any unreadable entry.

  ckptcat::orbax::DiscoveryOptions follow;
  follow.follow_symlinks_outside = true;
  const auto followed = ckptcat::orbax::discover(tree, follow);
  CHECK(followed.checkpoints.size() == 2);  // the loop is still cut, the outside one found once
}

TEST_CASE("a B+tree node claiming gigabytes of prefix-shared keys is refused without allocating them") {
  // One 65,535-byte key, then 70,000 keys each sharing 65,532 bytes with the
  // previous one and adding 3: 9 bytes of input per 65,535 bytes of key,
  // 4.5 GB in all from a 700 kB body.
  const uint32_t n = 70000;
  std::string body;
  body += '\0';   // height 0: a leaf
  varint(body, 0);  // no data files
  varint(body, n);
  for (uint32_t i = 1; i < n; ++i) varint(body, 65532);
  varint(body, 65535);
  for (uint32_t i = 1; i < n; ++i) varint(body, 3);
  body += std::string(65535, '\0');
  for (uint32_t i = 1; i < n; ++i) {
    body += static_cast<char>(i >> 16);
    body += static_cast<char>(i >> 8);
    body += static_cast<char>(i);
  }
  for (uint32_t i = 0; i < n; ++i) varint(body, 0);  // value lengths
  body += std::string(n, '\0');                     // all inline

  const int status = run_with_memory_limit(1ull << 30, [&] {
    ckptcat::ocdbt::format::BtreeNode node;
    try {
      ckptcat::ocdbt::format::decode_btree_node(body, "", node);
    } catch (const ckptcat::Error& e) {
      std::fprintf(stderr, "B+tree node refused: %s\n", e.what());
      return e.code() == ckptcat::Error::Code::kCorruption &&
                     e.message().find("node keys exceed") != std::string::npos
                 ? 0
                 : 2;
    }
    return 1;  // accepted
  });
  CHECK(status == 0);
}

TEST_CASE("absurd lengths in a legacy msgpack file") {
  TempDir tmp;
  const fs::path file = tmp.path() / "checkpoint";
  // {"a": str32 of 4 GiB}, {"b": array32 of 2^32-1 elements}, bin32, map32.
  const std::vector<std::string> headers = {
      std::string("\x81\xa1" "a\xdb\xff\xff\xff\xff", 8),
      std::string("\x81\xa1" "b\xdd\xff\xff\xff\xff", 8),
      std::string("\x81\xa1" "c\xc6\xff\xff\xff\xf0" "xx", 10),
      std::string("\x81\xa1" "d\xdf\x7f\xff\xff\xff", 8),
      std::string("\x81\xa1" "e\xc9\xff\xff\xff\xff\x01", 9),  // ext32 type 1
  };
  for (const auto& bytes : headers) {
    write_file(file, bytes);
    const int status = run_with_memory_limit(1ull << 30, [&] {
      try {
        ckptcat::orbax::read_legacy_checkpoint(file);
      } catch (const ckptcat::Error& e) {
        return e.file().empty() ? 2 : 0;
      }
      return 0;  // accepted as a (short) tree: fine, nothing was allocated
    });
    CHECK(status == 0);
  }
}

TEST_CASE("deeply nested JSON is refused, not recursed into") {
  for (const std::string open : {"[", "{\"k\":"}) {
    std::string text = "{\"tree_metadata\": ";
    for (int i = 0; i < 200000; ++i) text += open;
    CHECK_THROWS_AS(ckptcat::orbax::parse_tree_metadata(text, "_METADATA"), ckptcat::Error);
  }
  std::string ok = "{\"custom\": ";
  for (int i = 0; i < 100; ++i) ok += "[";
  for (int i = 0; i < 100; ++i) ok += "]";
  ok += "}";
  CHECK_NOTHROW(ckptcat::orbax::parse_json(ok, "x"));
}

TEST_CASE("names with '/', '.', non-ASCII characters and NUL bytes round-trip through the catalog") {
  TempDir tmp;
  const std::vector<std::vector<std::string>> keys = {
      {"a/b", "c"},                    // "/" inside a key: nested on disk, one key in the tree
      {"x.y", "z"},                    // "." inside a key: the param name is ambiguous
      {"ünïcødé", "日本語", "🙂"},     // non-ASCII
      {std::string("nul\0inside", 10), "k"},  // NUL inside a JSON key
      {"..", "."},                     // dot names
  };
  std::vector<LeafSpec> leaves;
  for (const auto& k : keys) leaves.push_back(LeafSpec::scalar(k, "int32"));
  const fs::path step = tmp.path() / "run" / "1";
  write_checkpoint(step, small_checkpoint(leaves));

  const auto found = ckptcat::orbax::discover(tmp.path() / "run");
  REQUIRE(found.checkpoints.size() == 1);
  const auto read = ckptcat::orbax::read_checkpoint(found.checkpoints[0]);
  REQUIRE(read.items.size() == 1);
  REQUIRE(read.items[0].leaves.size() == keys.size());

  ckptcat::Catalog catalog((tmp.path() / "catalog.db").string());
  catalog.ingest(read, "fingerprint");
  const auto back = catalog.load_checkpoint(read.directory);
  REQUIRE(back);
  REQUIRE(back->items.size() == 1);
  REQUIRE(back->items[0].leaves.size() == keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    const auto& leaf = back->items[0].leaves[i];
    const auto& original = read.items[0].leaves[i];
    REQUIRE(leaf.key_path.size() == keys[i].size());
    for (size_t k = 0; k < keys[i].size(); ++k) CHECK(leaf.key_path[k].key == keys[i][k]);
    CHECK(leaf.name == original.name);
    CHECK(leaf.name == ckptcat::param_name(leaf.key_path));
    CHECK(leaf.error == original.error);
  }
  SQLite::Database& db = catalog.database();
  CHECK(db.execAndGet("PRAGMA integrity_check").getString() == "ok");
}

TEST_CASE("a FIFO in place of any file ckptcat reads is refused, never waited on") {
  // Each place a file is read, in an OCDBT item (values out of line, so d/
  // files are read), a zarr-folder item and a JSON item; each replaced by a
  // named pipe in a fresh copy of the checkpoint. A hang ends the test through
  // the alarm instead of stalling the suite.
  struct Place {
    const char* item;
    std::string file;  // relative to the item folder ("" item: the step folder)
  };
  std::vector<Place> places = {
      {"", "_CHECKPOINT_METADATA"},       {"state", "_METADATA"},
      {"state", "_sharding"},             {"state", "_strings.json"},
      {"state", "array_metadatas/process_0"}, {"state", "manifest.ocdbt"},
      {"state", "checkpoint"},            {"plain", "w/.zarray"},
      {"config", "metadata"},
  };
  for (size_t i = 0; i < places.size(); ++i) {
    const Place& place = places[i];
    CAPTURE(place.file);
    TempDir tmp;
    CheckpointSpec spec;
    ItemSpec& state = spec.items.emplace_back(ItemSpec::pytree("state"));
    state.leaves.push_back(LeafSpec::array({"big"}, "float32", {64}));
    state.leaves.back().chunk_value_bytes = 4000;  // stored in a d/ file
    state.leaves.push_back(LeafSpec::string({"name"}, "x"));
    ItemSpec& plain = spec.items.emplace_back(ItemSpec::pytree("plain"));
    plain.storage = ItemSpec::Storage::kFiles;
    plain.leaves.push_back(LeafSpec::array({"w"}, "int32", {2}));
    spec.items.push_back(ItemSpec::json("config", R"({"lr": 0.1})"));
    const fs::path step = tmp.path() / "7";
    write_checkpoint(step, spec);
    fs::path fifo = step / place.item / place.file;
    if (place.file == "checkpoint") {
      REQUIRE_FALSE(fs::exists(fifo));
    } else {
      REQUIRE(fs::is_regular_file(fifo));
      fs::remove(fifo);
    }
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    ::alarm(30);
    const auto found = ckptcat::orbax::discover(tmp.path());
    REQUIRE(found.checkpoints.size() == 1);
    const auto cp = ckptcat::orbax::read_checkpoint(found.checkpoints[0]);
    ::alarm(0);
    std::string said;
    for (const auto& p : cp.problems) said += p.file + ": " + p.message + "\n";
    for (const auto& item : cp.items) {
      if (item.error) said += *item.error + "\n";
      for (const auto& p : item.problems) said += p.file + ": " + p.message + "\n";
      for (const auto& leaf : item.leaves)
        if (leaf.error) said += *leaf.error + "\n";
    }
    CHECK_MESSAGE(said.find(fifo.string()) != std::string::npos, said);
    CHECK_MESSAGE(said.find("not a regular file") != std::string::npos, said);
  }
  // And the data file the root node lives in.
  TempDir tmp;
  CheckpointSpec spec;
  spec.items.emplace_back(ItemSpec::pytree("state")).leaves.push_back(LeafSpec::array({"w"}, "int32", {2}));
  write_checkpoint(tmp.path() / "7", spec);
  const fs::path d = tmp.path() / "7" / "state" / "d";
  REQUIRE(fs::is_directory(d));
  for (const auto& file : fs::directory_iterator(d)) {
    fs::remove(file.path());
    REQUIRE(::mkfifo(file.path().c_str(), 0600) == 0);
  }
  ::alarm(30);
  const auto item = ckptcat::orbax::read_item(tmp.path() / "7" / "state", "state", std::nullopt);
  ::alarm(0);
  std::string said;
  for (const auto& p : item.problems) said += p.file + ": " + p.message + "\n";
  CHECK_MESSAGE(said.find("not a regular file") != std::string::npos, said);
}
