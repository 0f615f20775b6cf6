// orbax::Reader remembers parses by text (lib/orbax/text_memo.h): whatever it
// has read before, it must report exactly what a fresh reader reports,
// including problems and errors that name the file they came from.
#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <random>
#include <set>

#include "../catalog/fixtures.h"
#include "ckptcat/reader.h"
#include "json_file.h"
#include "orbax_writer.h"
#include "param_index.h"
#include "sharding_file.h"
#include "shared_case.h"
#include "text_memo.h"

using namespace ckptcat;
using namespace ckptcat::testing;
namespace fs = std::filesystem;

namespace {

// Reads `locations` in order with one Reader and checks each against a fresh
// read, both as new results and written over the previous result (whose
// leaves, items and strings are reused: nothing of it may show through).
void check_shared_reader_matches_fresh(const std::vector<orbax::CheckpointLocation>& locations) {
  orbax::Reader reader, reusing_reader;
  CheckpointMetadata reused;
  for (const auto& loc : locations) {
    CAPTURE(loc.directory);
    const auto fresh = orbax::read_checkpoint(loc);
    check_same(fresh, reader.read_checkpoint(loc));
    reusing_reader.read_checkpoint(loc, reused);
    check_same(fresh, reused);
  }
}

ItemSpec state_item(const std::vector<std::string>& names) {
  ItemSpec item = ItemSpec::pytree("state");
  for (const auto& n : names)
    item.leaves.push_back(LeafSpec::array({"params", n}, "float32", {8, 4})
                              .with_sharding(named_sharding({2}, {"data"}, {"data"})));
  item.num_processes = 2;
  return item;
}

void write_text(const fs::path& file, const std::string& text) {
  std::ofstream(file, std::ios::binary | std::ios::trunc) << text;
}

std::string read_text(const fs::path& file) { return orbax::read_file_bounded(file); }

const Problem* find_problem(const ItemMetadata& item, const std::string& fragment) {
  for (const auto& p : item.problems)
    if (p.message.find(fragment) != std::string::npos) return &p;
  return nullptr;
}

}  // namespace

SHARED_TEST_CASE("one Reader over the whole corpus reports what fresh readers report") {
  const fs::path root = fs::canonical(shared_data_dir() / "corpus");
  auto locations = orbax::discover(root).checkpoints;
  REQUIRE(locations.size() > 40);
  check_shared_reader_matches_fresh(locations);
  std::reverse(locations.begin(), locations.end());  // other memo states
  check_shared_reader_matches_fresh(locations);
}

TEST_CASE("a run whose steps repeat metadata files, with damage in some steps") {
  TempDir tmp;
  const fs::path run = tmp.path() / "run";
  for (int step = 1; step <= 4; ++step) {
    CheckpointSpec spec;
    spec.items.push_back(state_item({"a", "b", "c"}));
    if (step == 3) spec.items[0].leaves[1].write_zarr_metadata = false;  // one leaf degraded
    if (step == 4) spec.items[0].leaves[2].raw_sharding = "{\"sharding_type\": 7}";
    write_checkpoint(run / std::to_string(step), spec);
  }
  auto locations = orbax::discover(run).checkpoints;
  REQUIRE(locations.size() == 4);
  // process_1 of step 2 disagrees with process_0: a problem naming that file.
  const fs::path step2_p1 = run / "2" / "state" / "array_metadatas" / "process_1";
  std::string text = read_text(step2_p1);
  const auto at = text.find("[8, 4]");
  REQUIRE(at != std::string::npos);
  write_text(step2_p1, text.replace(at, 6, "[8, 2]"));

  check_shared_reader_matches_fresh(locations);

  orbax::Reader reader;
  std::vector<CheckpointMetadata> read;
  for (const auto& loc : locations) read.push_back(reader.read_checkpoint(loc));
  const auto& step2 = read[1].items.at(0);
  const Problem* disagree = find_problem(step2, "disagrees with process_0");
  REQUIRE(disagree);
  CHECK(disagree->file == step2_p1.string());
  CHECK_FALSE(find_problem(read[0].items.at(0), "disagrees"));
  const auto& leaf3 = read[2].items.at(0).leaves.at(1);
  REQUIRE(leaf3.error);
  CHECK(leaf3.error->find((run / "3").string()) != std::string::npos);
  CHECK_FALSE(read[1].items.at(0).leaves.at(1).error);
  const auto& leaf4 = read[3].items.at(0).leaves.at(2);
  REQUIRE(leaf4.error);
  CHECK(leaf4.error->find((run / "4" / "state" / "_sharding").string()) != std::string::npos);
}

TEST_CASE("a _sharding text parsed for one tree is not reused for another tree") {
  TempDir tmp;
  CheckpointSpec both, only_a;
  both.items.push_back(state_item({"a", "b"}));
  only_a.items.push_back(state_item({"a"}));
  write_checkpoint(tmp.path() / "1", both);
  write_checkpoint(tmp.path() / "2", only_a);
  // Step 2 gets step 1's _sharding: its key for "b" names no param of step 2.
  write_text(tmp.path() / "2" / "state" / "_sharding",
             read_text(tmp.path() / "1" / "state" / "_sharding"));
  const auto locations = orbax::discover(tmp.path()).checkpoints;
  REQUIRE(locations.size() == 2);
  check_shared_reader_matches_fresh(locations);

  orbax::Reader reader;
  const auto first = reader.read_checkpoint(locations[0]);
  const auto second = reader.read_checkpoint(locations[1]);
  CHECK_FALSE(find_problem(first.items.at(0), "not base64 of a param name"));
  const Problem* stale = find_problem(second.items.at(0), "not base64 of a param name");
  REQUIRE(stale);
  CHECK(stale->file == (tmp.path() / "2" / "state" / "_sharding").string());
}

TEST_CASE("_sharding: entries deduplicated as read; a big text parsed once, then compared") {
  TempDir tmp;
  const fs::path item = tmp.path() / "item";
  fs::create_directories(item);
  // 400 entries over 2 distinct strings of ~48 KB each: a 19 MB file, above
  // any bound the memo had on texts.
  std::vector<std::string> names;
  std::string big_a(48 << 10, 'a'), big_b(48 << 10, 'b');
  std::string text = "{";
  for (int i = 0; i < 400; ++i) {
    names.push_back("p" + std::to_string(i));
    if (i) text += ",";
    text += "\"" + base64url_encode(names.back()) + "\":\"" + (i % 3 ? big_a : big_b) + "\"";
  }
  // A later null for a duplicate key removes the entry, as the DOM read does.
  text += ",\"" + base64url_encode("p5") + "\":null}";
  write_text(item / "_sharding", text);
  const orbax::ParamIndex index(names);
  orbax::TextMemo<orbax::ShardingFile> memo(2, orbax::kMaxJsonFileBytes);
  std::string buffer;
  const auto first = orbax::read_sharding_file(item, index, &memo, &buffer);
  CHECK(first->problems.empty());
  CHECK(first->by_name.size() == 399);
  CHECK_FALSE(first->by_name.count("p5"));
  std::set<const std::string*> distinct;
  for (const auto& [name, value] : first->by_name) distinct.insert(value.get());
  CHECK(distinct.size() == 2);
  CHECK(*first->by_name.at("p0") == big_b);
  CHECK(*first->by_name.at("p1") == big_a);
  // The same text again: the kept parse, not a new one; the text moved into
  // the memo rather than being copied.
  CHECK(buffer.empty());
  CHECK(orbax::read_sharding_file(item, index, &memo, &buffer) == first);
  // The DOM read of the same file (no memo) gives the same entries.
  const auto fresh = orbax::read_sharding_file(item, index);
  REQUIRE(fresh->by_name.size() == first->by_name.size());
  for (const auto& [name, value] : fresh->by_name) CHECK(*value == *first->by_name.at(name));
  // One byte changed: parsed afresh.
  text[text.size() / 2] = text[text.size() / 2] == 'a' ? 'c' : 'a';
  write_text(item / "_sharding", text);
  const auto changed = orbax::read_sharding_file(item, index, &memo, &buffer);
  CHECK(changed != first);
  CHECK(changed->by_name.size() == 399);
}

TEST_CASE("_sharding: what the stream does not take is read as before") {
  TempDir tmp;
  const fs::path item = tmp.path() / "item";
  fs::create_directories(item);
  const orbax::ParamIndex index(std::vector<std::string>{"a", "b/c"});
  const std::string a = base64url_encode("a");
  // A legacy raw-name key (nested objects), a non-string value, bad JSON.
  write_text(item / "_sharding", "{\"" + a + "\":\"s\",\"b\":{\"c\":\"t\"}}");
  auto f = orbax::read_sharding_file(item, index);
  CHECK(*f->by_name.at("a") == "s");
  CHECK(*f->by_name.at("b/c") == "t");
  CHECK(f->problems.size() == 1);
  write_text(item / "_sharding", "{\"" + a + "\":3}");
  f = orbax::read_sharding_file(item, index);
  CHECK(f->by_name.empty());
  REQUIRE(f->problems.size() == 1);
  CHECK(f->problems[0].message.find("is not a string") != std::string::npos);
  write_text(item / "_sharding", "{\"" + a + "\":\"s\"");
  f = orbax::read_sharding_file(item, index);
  CHECK_FALSE(f->present);
  REQUIRE(f->problems.size() == 1);
  CHECK(f->problems[0].file == (item / "_sharding").string());
}

TEST_CASE("TextMemo: exact keys, the keep predicate, and both limits") {
  orbax::TextMemo<int> memo(3, 10);
  int parses = 0;
  auto parse_length = [&](const std::string& text) {
    return memo.get(text, [&] { ++parses; return static_cast<int>(text.size()); });
  };
  CHECK(*parse_length("abc") == 3);
  CHECK(*parse_length("abc") == 3);
  CHECK(parses == 1);
  CHECK(*parse_length("abd") == 3);  // another text, another parse
  CHECK(parses == 2);

  // Not kept: parsed again each time.
  auto odd_only = [](const int& n) { return n % 2 == 1; };
  memo.get("zz", [&] { ++parses; return 2; }, odd_only);
  memo.get("zz", [&] { ++parses; return 2; }, odd_only);
  CHECK(parses == 4);
  CHECK_FALSE(memo.find("zz"));

  // A text over the byte limit is never kept; passing a limit forgets all.
  memo.put("0123456789a", std::make_shared<const int>(11));
  CHECK_FALSE(memo.find("0123456789a"));
  CHECK(memo.find("abc"));
  memo.put("wxyz", std::make_shared<const int>(4));  // 3 + 3 + 4 bytes: fits
  CHECK(memo.find("abc"));
  memo.put("q", std::make_shared<const int>(1));  // a 4th text: over the count
  CHECK_FALSE(memo.find("abc"));
  CHECK_FALSE(memo.find("wxyz"));
  CHECK(*memo.find("q") == 1);

  // Texts met in turn (the zarr texts of a tree) each come back as their own parse.
  orbax::TextMemo<std::string> cycle(16, 1 << 20);
  int cycle_parses = 0;
  for (int round = 0; round < 3; ++round)
    for (const std::string t : {"a1", "b22", "c333", "d4444", "e55555", "a1"}) {
      const auto parsed = cycle.get(t, [&] { ++cycle_parses; return t + "!"; });
      CHECK(*parsed == t + "!");
    }
  CHECK(cycle_parses == 5);

  // Exceptions pass through and nothing is kept.
  CHECK_THROWS_AS(memo.get("bad", [&]() -> int { throw std::runtime_error("no"); }), std::runtime_error);
  CHECK_FALSE(memo.find("bad"));
}

TEST_CASE("parse_json builds what nlohmann's ordered_json parser builds, big objects too") {
  using ordered = nlohmann::ordered_json;
  std::mt19937 rng(7);
  for (int round = 0; round < 200; ++round) {
    // An object of up to 60 keys drawn from a small set (duplicates likely),
    // each value a number, a string, a list or a nested object.
    const int keys = static_cast<int>(rng() % 60);
    std::string text = "{";
    for (int k = 0; k < keys; ++k) {
      if (k) text += ", ";
      text += "\"k" + std::to_string(rng() % 40) + "\": ";
      switch (rng() % 4) {
        case 0: text += std::to_string(rng() % 1000); break;
        case 1: text += "\"v" + std::to_string(rng() % 9) + "\""; break;
        case 2: text += "[1, {\"x\": 2, \"x\": 3}, []]"; break;
        default: text += "{\"b\": 1, \"a\": {\"c\": null}, \"b\": 2}"; break;
      }
    }
    text += "}";
    CAPTURE(text);
    const ordered expected = ordered::parse(text);
    const ordered actual = orbax::parse_json(text, "f");
    CHECK(actual.dump() == expected.dump());
  }
  // Python keeps the first position and the last value of a repeated key.
  std::string many = "{";
  for (int k = 0; k < 100; ++k) many += "\"k" + std::to_string(k) + "\": " + std::to_string(k) + ", ";
  many += "\"k5\": \"last\"}";
  const auto doc = orbax::parse_json(many, "f");
  CHECK(doc.size() == 100);
  CHECK(doc.begin().key() == "k0");
  CHECK(std::next(doc.begin(), 5).key() == "k5");
  CHECK(doc["k5"] == "last");
}
