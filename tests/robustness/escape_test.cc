// Names and links that reach outside an item (storage/item_path.h): a
// checkpoint handed over by someone else must not make ckptcat open, list or
// stat anything outside the item folder. Each hostile fixture is a checkpoint
// written by the test writer, then edited the way an attacker would: hostile
// keys in _METADATA, sentinel zarr metadata planted outside where those names
// point, and symbolic links inside the item leading out. An inotify watch on the
// outside folders records every open and read there; a sentinel read would also
// show as its shape (7777) in the result.
#include <doctest/doctest.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "ckptcat/catalog.h"
#include "ckptcat/importer.h"
#include "ckptcat/reader.h"
#include "ckptcat/verifier.h"
#include "item_path.h"
#include "orbax_writer.h"
#include "shared_data.h"

namespace fs = std::filesystem;
using namespace ckptcat::testing;
using ckptcat::storage::LocalItemRoot;
using ckptcat::storage::relative_name_problem;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void spill(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
}

// JSON string body of `s` (quotes, backslashes, control bytes escaped).
std::string json_body(const std::string& s) {
  std::string out;
  for (const char c : s) {
    if (c == '"' || c == '\\') out += std::string("\\") + c;
    else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned char>(c));
      out += buf;
    } else out += c;
  }
  return out;
}

// Records every open and read of the folders it watches (and of the files in
// them) through inotify: the trace of anything ckptcat touches there.
class OpenTrace {
 public:
  explicit OpenTrace(const fs::path& dir) : fd_(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) {
    REQUIRE(fd_ >= 0);
    watch(dir);
    for (const auto& e : fs::recursive_directory_iterator(dir))
      if (e.is_directory() && !e.is_symlink()) watch(e.path());
    events();  // the listing above opened the folders: not ckptcat's doing
  }
  ~OpenTrace() { ::close(fd_); }
  // What was opened or read since the trace began ("" when nothing).
  std::string events() {
    std::string out;
    alignas(inotify_event) char buf[8192];
    for (ssize_t n; (n = ::read(fd_, buf, sizeof buf)) > 0;)
      for (char* p = buf; p < buf + n;) {
        const auto* ev = reinterpret_cast<const inotify_event*>(p);
        out += watched_[ev->wd] + "/" + (ev->len ? ev->name : "") + "\n";
        p += sizeof(inotify_event) + ev->len;
      }
    return out;
  }

 private:
  void watch(const fs::path& dir) {
    const int wd = ::inotify_add_watch(fd_, dir.c_str(), IN_OPEN | IN_ACCESS);
    REQUIRE(wd >= 0);
    watched_[wd] = dir.string();
  }
  int fd_;
  std::map<int, std::string> watched_;
};

// A checkpoint whose item "state" holds two good leaves and one placeholder
// leaf per hostile name; the placeholders' keys are then rewritten in _METADATA
// (and _sharding, which names leaves too) into the hostile names.
struct Fixture {
  Fixture(const std::vector<std::string>& hostile, ItemSpec::Storage storage, int processes = 1);
  TempDir tmp;
  fs::path item;     // the item folder read
  fs::path outside;  // a folder beside the tree, holding the sentinels
  fs::path secret;   // outside/secret: zarr metadata of a (7777,) array
};

Fixture::Fixture(const std::vector<std::string>& hostile, ItemSpec::Storage storage, int processes) {
  Fixture& f = *this;
  f.outside = f.tmp.path() / "outside";
  // The sentinel: a real zarr folder of shape (7777,) written by the same writer.
  CheckpointSpec sentinel;
  ItemSpec& s = sentinel.items.emplace_back(ItemSpec::pytree("secret_item"));
  s.storage = ItemSpec::Storage::kFiles;
  s.leaves.push_back(LeafSpec::array({"secret"}, "int8", {7777}));
  write_checkpoint(f.tmp.path() / "sentinel", sentinel);
  fs::create_directories(f.outside);
  fs::rename(f.tmp.path() / "sentinel" / "secret_item" / "secret", f.outside / "secret");
  f.secret = f.outside / "secret";

  CheckpointSpec spec;
  ItemSpec& item = spec.items.emplace_back(ItemSpec::pytree("state"));
  item.storage = storage;
  item.num_processes = processes;
  item.leaves.push_back(LeafSpec::array({"good_before"}, "float32", {4, 2}));
  for (size_t i = 0; i < hostile.size(); ++i)
    item.leaves.push_back(LeafSpec::array({"PLACEHOLDER" + std::to_string(i)}, "float32", {3}));
  item.leaves.push_back(LeafSpec::scalar({"good_after"}, "int32"));
  write_checkpoint(f.tmp.path() / "tree" / "100", spec);
  f.item = f.tmp.path() / "tree" / "100" / "state";
  for (const fs::path& file : {f.item / "_METADATA", f.item / "_sharding"}) {
    std::string text = slurp(file);
    for (size_t i = 0; i < hostile.size(); ++i) {
      const std::string from = "\"PLACEHOLDER" + std::to_string(i) + "\"";
      for (size_t at; (at = text.find(from)) != std::string::npos;)
        text.replace(at, from.size(), "\"" + json_body(hostile[i]) + "\"");
    }
    spill(file, text);
  }
}

const ckptcat::Leaf* find_leaf(const ckptcat::ItemMetadata& item, const std::string& name) {
  for (const auto& leaf : item.leaves)
    if (leaf.name == name) return &leaf;
  return nullptr;
}

// The shape the reader gave `leaf` ("none" when unknown).
std::string shape_of(const ckptcat::Leaf& leaf) {
  const auto* array = std::get_if<ckptcat::ArrayMetadata>(&leaf.metadata);
  if (!array || !array->shape) return "none";
  std::string s;
  for (auto d : *array->shape) s += std::to_string(d) + ",";
  return s;
}

// Reads the fixture's item; checks that every hostile leaf is degraded naming
// the escape, its neighbours read as written, and nothing outside was touched.
void check_item(Fixture& f, const std::vector<std::string>& hostile) {
  OpenTrace trace(f.outside);
  const auto item = ckptcat::orbax::read_item(f.item, "state", std::nullopt);
  CHECK(trace.events() == "");
  REQUIRE_FALSE(item.error);
  REQUIRE(item.leaves.size() == hostile.size() + 2);
  const auto* before = find_leaf(item, "good_before");
  const auto* after = find_leaf(item, "good_after");
  REQUIRE(before);
  REQUIRE(after);
  CHECK_FALSE(before->error);
  CHECK(shape_of(*before) == "4,2,");
  CHECK_FALSE(after->error);
  for (const auto& name : hostile) {
    CAPTURE(name);
    const auto* leaf = find_leaf(item, name)  /* one key: the name is the key */;
    REQUIRE(leaf);
    REQUIRE(leaf->error);
    CHECK_MESSAGE(leaf->error->find("escapes the item folder") != std::string::npos, *leaf->error);
    CHECK(shape_of(*leaf) == "none");
  }
}

}  // namespace

TEST_CASE("which names stay inside an item") {
  for (const char* ok : {"", "params.w", "a/b", "a.b/c.d", "..a", "a..", ".hidden", "a/.b", "x y"})
    CHECK_MESSAGE(!relative_name_problem(ok), ok);
  const std::pair<std::string, const char*> bad[] = {
      {"/abs/path", "absolute path"},       {"..", "'..' path component"},
      {"../x", "'..' path component"},      {"a/../../x", "'..' path component"},
      {"a/..", "'..' path component"},      {".", "'.' path component"},
      {"./a", "'.' path component"},        {"a/./b", "'.' path component"},
      {"a//b", "empty path component"},     {"a/", "empty path component"},
      {"a\\..\\b", "backslash"},            {std::string("a\0b", 3), "NUL byte"},
  };
  for (const auto& [name, why] : bad) {
    const auto& name_value = name;  // clang 14: a structured binding cannot be captured
    CAPTURE(name_value);
    const auto problem = relative_name_problem(name);
    REQUIRE(problem);
    CHECK(*problem == why);
  }
}

TEST_CASE("symbolic links are followed only while they stay inside the item") {
  TempDir tmp;
  const fs::path item = tmp.path() / "item";
  const fs::path outside = tmp.path() / "outside";
  fs::create_directories(item / "real" / "deep");
  fs::create_directories(outside / "x");
  fs::create_directory_symlink("real", item / "rel_in");                  // relative, inside
  fs::create_directory_symlink(item / "real", item / "abs_in");          // absolute, inside
  fs::create_directory_symlink("real/deep/../..", item / "up_to_root");  // the item itself
  fs::create_directory_symlink("../outside", item / "rel_out");
  fs::create_directory_symlink(outside, item / "abs_out");
  fs::create_directory_symlink("../../outside", item / "real" / "deep_out");
  fs::create_directory_symlink("loop_b", item / "loop_a");
  fs::create_directory_symlink("loop_a", item / "loop_b");
  fs::create_directory_symlink(tmp.path(), item / "real" / "parent");  // an ancestor

  OpenTrace trace(outside);
  const LocalItemRoot root(item);
  const fs::path real_item = fs::canonical(item);
  std::string why;
  CHECK(root.resolve("rel_in/deep", why) == real_item / "real" / "deep");
  CHECK(root.resolve("abs_in/deep/.zarray", why) == real_item / "real" / "deep" / ".zarray");
  CHECK(root.resolve("up_to_root/real", why) == real_item / "real");
  CHECK(root.resolve("missing/a/b", why) == real_item / "missing" / "a" / "b");
  CHECK(root.resolve("", why) == real_item);
  for (const char* escape : {"rel_out/x", "abs_out", "real/deep_out/x/.zarray", "loop_a/x",
                             "real/parent/outside/x", "../outside/x", "/etc/passwd"}) {
    CAPTURE(escape);
    why.clear();
    CHECK_FALSE(root.resolve(escape, why));
    CHECK_FALSE(why.empty());
  }
  CHECK(trace.events() == "");

  // An item reached through a link (a scanned tree behind a symlink) resolves
  // the same, and absolute links naming it by either path stay inside.
  fs::create_directory_symlink(item, tmp.path() / "item_link");
  const LocalItemRoot linked(tmp.path() / "item_link");
  fs::create_directory_symlink(tmp.path() / "item_link" / "real", item / "via_link");
  CHECK(linked.resolve("via_link/deep", why) == real_item / "real" / "deep");
  // Through the item folder as given, that third path is somewhere else.
  CHECK_FALSE(root.resolve("via_link", why));
}

TEST_CASE("hostile names in a zarr-folder item are degraded, nothing outside is read") {
  // `..` and absolute names aimed at a real sentinel .zarray outside (the
  // absolute one at a sentinel of its own, in a fixture made first), and the
  // other forms a name must not take.
  Fixture first({}, ItemSpec::Storage::kFiles);
  const std::string up = "../../../outside/secret";  // from tree/100/state
  const std::vector<std::string> hostile = {up, first.secret.string(), "a/./b", "a//b", "a\\b",
                                            std::string("a\0b", 3), "./c", ".."};
  Fixture f(hostile, ItemSpec::Storage::kFiles);
  REQUIRE(fs::exists(f.item / up / ".zarray"));  // without the check the attack would work
  OpenTrace first_trace(first.outside);
  check_item(f, hostile);
  CHECK(first_trace.events() == "");
}

TEST_CASE("a symbolic link inside a zarr-folder item leading outside is not followed") {
  Fixture f({"linked_abs", "linked_rel", "nested/linked"}, ItemSpec::Storage::kFiles);
  fs::create_directory_symlink(f.secret, f.item / "linked_abs");
  fs::create_directory_symlink("../../../outside/secret", f.item / "linked_rel");
  fs::create_directories(f.item / "nested");
  fs::create_directory_symlink("../../../../outside/secret", f.item / "nested" / "linked");
  REQUIRE(fs::exists(f.item / "linked_rel" / ".zarray"));
  check_item(f, {"linked_abs", "linked_rel", "nested/linked"});
  // Linked chunks leading out are not counted (nor stat'ed).
  fs::create_directories(f.item / "good_before");
  fs::create_symlink(f.secret / ".zarray", f.item / "good_before" / "9.9");
  OpenTrace trace(f.outside);
  const auto item = ckptcat::orbax::read_item(f.item, "state", std::nullopt);
  CHECK(trace.events() == "");
  const auto* good = find_leaf(item, "good_before");
  REQUIRE(good);
  REQUIRE(good->stored);
  CHECK(good->stored->chunk_count == LeafSpec::array({"w"}, "float32", {4, 2}).expected_stored().chunk_count);
}

TEST_CASE("hostile names in OCDBT items, single and per-process, are degraded") {
  const std::vector<std::string> hostile = {"../../../outside/secret", "/etc/passwd", "a//b",
                                            "a/./b", "x\\y", std::string("n\0ul", 4)};
  for (const int processes : {1, 2}) {
    CAPTURE(processes);
    Fixture f(hostile, ItemSpec::Storage::kOcdbt, processes);
    check_item(f, hostile);
  }
}

TEST_CASE("OCDBT data files behind a link leading outside are refused unopened") {
  for (const int processes : {1, 2}) {
    CAPTURE(processes);
    Fixture f({}, ItemSpec::Storage::kOcdbt, processes);
    // Move the top-level data (the root node) outside and leave a link behind.
    const fs::path data = f.item / "d";
    REQUIRE(fs::is_directory(data));
    const fs::path moved = f.outside / ("moved_" + std::to_string(processes));
    fs::rename(data, moved);
    fs::create_directory_symlink(moved, data);

    OpenTrace trace(f.outside);
    const auto item = ckptcat::orbax::read_item(f.item, "state", std::nullopt);
    CHECK(trace.events() == "");
    REQUIRE_FALSE(item.error);
    std::string problems;
    for (const auto& p : item.problems) problems += p.file + ": " + p.message + "\n";
    CHECK_MESSAGE(problems.find("escapes the item folder") != std::string::npos, problems);
    for (const auto& leaf : item.leaves)
      if (leaf.kind == ckptcat::LeafKind::kArray) CHECK(leaf.error);

    // verify reports the link and does not follow it either.
    ckptcat::Catalog catalog((f.tmp.path() / "c.db").string());
    ckptcat::Importer(catalog).run({f.tmp.path() / "tree"});
    std::string findings;
    ckptcat::Verifier verifier(catalog);
    const auto report = verifier.run((f.tmp.path() / "tree").string());
    for (const auto& finding : report.findings) findings += finding.file + ": " + finding.message + "\n";
    CHECK(trace.events() == "");
    CHECK_MESSAGE(findings.find("escapes the item folder") != std::string::npos, findings);
  }
}

TEST_CASE("import and verify of a hostile zarr-folder item touch nothing outside") {
  const std::vector<std::string> hostile = {"../../../outside/secret"};
  Fixture f(hostile, ItemSpec::Storage::kFiles);
  fs::create_directory_symlink(f.secret, f.item / "link_out");
  OpenTrace trace(f.outside);
  ckptcat::Catalog catalog((f.tmp.path() / "c.db").string());
  ckptcat::Importer(catalog).run({f.tmp.path() / "tree"});
  CHECK(trace.events() == "");
  // The rest of the item is in the catalog as written; the hostile leaf is
  // there, degraded, with the error naming it.
  const auto leaves = catalog.find_leaves({});
  bool saw_hostile = false, saw_good = false;
  for (const auto& leaf : leaves) {
    if (leaf.leaf.name == hostile[0]) {
      saw_hostile = true;
      REQUIRE(leaf.leaf.error);
      CHECK(leaf.leaf.error->find("escapes the item folder") != std::string::npos);
    }
    if (leaf.leaf.name == "good_before") saw_good = !leaf.leaf.error;
  }
  CHECK(saw_hostile);
  CHECK(saw_good);
  ckptcat::Verifier verifier(catalog);
  const auto report = verifier.run((f.tmp.path() / "tree").string());
  std::string findings;
  for (const auto& finding : report.findings) findings += finding.file + ": " + finding.message + "\n";
  CHECK(trace.events() == "");
  CHECK_MESSAGE(findings.find("link_out") != std::string::npos, findings);
}

TEST_CASE("a per-process database behind a link leading outside is not read in the fallback") {
  Fixture f({"p1", "p2", "p3", "p4", "p5"}, ItemSpec::Storage::kOcdbt, 2);  // valid names
  fs::remove(f.item / "manifest.ocdbt");  // unmerged: read through ocdbt.process_*
  const fs::path moved = f.outside / "process_1";
  fs::rename(f.item / "ocdbt.process_1", moved);
  fs::create_directory_symlink(moved, f.item / "ocdbt.process_1");
  OpenTrace trace(f.outside);
  const auto item = ckptcat::orbax::read_item(f.item, "state", std::nullopt);
  CHECK(trace.events() == "");
  REQUIRE_FALSE(item.error);
  // Keys of process 0 are read; those of process 1 are missing, not read from outside.
  size_t read = 0, missing = 0;
  for (const auto& leaf : item.leaves) (leaf.error ? missing : read) += 1;
  CHECK(read > 0);
  CHECK(missing > 0);
}

TEST_CASE("metadata files linked outside their folder are refused unread") {
  Fixture f({}, ItemSpec::Storage::kFiles);
  // _sharding and array_metadatas/ replaced by links to copies outside.
  fs::rename(f.item / "_sharding", f.outside / "_sharding");
  fs::create_symlink(f.outside / "_sharding", f.item / "_sharding");
  fs::rename(f.item / "array_metadatas", f.outside / "array_metadatas");
  fs::create_directory_symlink(f.outside / "array_metadatas", f.item / "array_metadatas");
  // A link that stays inside is followed as before.
  fs::rename(f.item / "_METADATA", f.item / "real_METADATA");
  fs::create_symlink("real_METADATA", f.item / "_METADATA");
  OpenTrace trace(f.outside);
  const auto item = ckptcat::orbax::read_item(f.item, "state", std::nullopt);
  CHECK(trace.events() == "");
  REQUIRE_FALSE(item.error);
  CHECK(item.leaves.size() == 2);
  std::string problems;
  for (const auto& p : item.problems) problems += p.file + ": " + p.message + "\n";
  CHECK_MESSAGE(problems.find("_sharding: symbolic link \"_sharding\" escapes the item folder") != std::string::npos, problems);
  CHECK_MESSAGE(problems.find("array_metadatas: a symbolic link: not followed") != std::string::npos, problems);
}
