// Catalogs that others read: opening read-only in a folder the reader cannot
// write (immutable fallback, refused when a -wal would be ignored, refused
// writes), and Catalog::publish.
#include <SQLiteCpp/SQLiteCpp.h>
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "ckptcat/catalog.h"
#include "ckptcat/error.h"
#include "fixtures.h"
#include "read_only_folder.h"
#include "shared_data.h"

namespace ckptcat {
namespace {

namespace fs = std::filesystem;
using testing::check_same;
using testing::ReadOnlyFolder;
using testing::sample_checkpoint;
using testing::TempDir;

CatalogOptions read_only() {
  CatalogOptions options;
  options.read_only = true;
  return options;
}

// A folder `share` in `tmp` that an unprivileged reader can enter.
fs::path make_share(const TempDir& tmp) {
  fs::permissions(tmp.path(), fs::perms::others_read | fs::perms::others_exec |
                                  fs::perms::group_read | fs::perms::group_exec,
                  fs::perm_options::add);
  const fs::path share = tmp.path() / "share";
  fs::create_directory(share);
  return share;
}

// A read-only connection leaves the -shm it made (and an empty -wal): remove
// them, as copying only the catalog file to a share would.
void forget_wal_index(const std::string& path) {
  REQUIRE((!fs::exists(path + "-wal") || fs::file_size(path + "-wal") == 0));
  fs::remove(path + "-wal");
  fs::remove(path + "-shm");
}

// Two checkpoints, written and closed (no -wal or -shm left beside the file).
void write_catalog(const std::string& path) {
  Catalog catalog(path);
  catalog.ingest(sample_checkpoint("/runs/exp/100", 100), "fp100");
  catalog.ingest(sample_checkpoint("/runs/exp/200", 200), "fp200");
}

// In the reader's process: a failed expectation says what and exits with `code`.
int expect(bool ok, const char* what, int code) {
  if (ok) return 0;
  std::cerr << "reader: expected " << what << '\n';
  return code;
}

int64_t pragma(SQLite::Database& db, const std::string& name) {
  return db.execAndGet("PRAGMA " + name).getInt64();
}

}  // namespace

TEST_CASE("a WAL catalog in a read-only folder is read as immutable; writing it is refused") {
  TempDir tmp;
  const fs::path share = make_share(tmp);
  const std::string path = (share / "c.db").string();
  write_catalog(path);
  REQUIRE_FALSE(fs::exists(path + "-shm"));
  const auto expected = Catalog(path, read_only()).load_checkpoint("/runs/exp/200");
  REQUIRE(expected);
  forget_wal_index(path);

  ReadOnlyFolder folder(share);
  if (folder.skip_cases()) return;
  CHECK(folder.run([&] {
    // Stock SQLite fails here: that is what the fallback is for.
    try {
      SQLite::Database plain(path, SQLite::OPEN_READONLY);
      plain.execAndGet("SELECT count(*) FROM sqlite_schema");
      return expect(false, "a plain read-only open to fail", 10);
    } catch (const SQLite::Exception&) {
    }
    const Catalog catalog(path, read_only());
    if (int rc = expect(catalog.access() == CatalogAccess::kImmutable, "immutable access", 11)) return rc;
    const auto listed = catalog.list_checkpoints();
    if (int rc = expect(listed.size() == 2 && listed[1].directory == "/runs/exp/200", "2 checkpoints", 12))
      return rc;
    const auto loaded = catalog.load_checkpoint("/runs/exp/200");
    if (int rc = expect(loaded && loaded->items.size() == expected->items.size() &&
                            loaded->items[2].leaves.size() == expected->items[2].leaves.size(),
                        "the checkpoint's items and leaves", 13))
      return rc;
    LeafFilter arrays;
    arrays.kind = LeafKind::kArray;
    if (int rc = expect(!catalog.find_leaves(arrays).empty(), "array leaves", 14)) return rc;
    if (int rc = expect(catalog.verify().empty(), "verify() to find nothing", 15)) return rc;
    try {
      Catalog writable(path);
      return expect(false, "a writable open to be refused", 16);
    } catch (const Error& e) {
      const std::string message = e.what();
      return expect(message.find("cannot write to the catalog: ") != std::string::npos &&
                        message.find("read-only") != std::string::npos,
                    "the refusal to say the catalog is read-only", 17);
    }
  }) == 0);
  CHECK_FALSE(fs::exists(path + "-shm"));
}

TEST_CASE("a -wal holding changes is refused, not ignored, where the WAL index cannot be made") {
  TempDir tmp;
  const fs::path share = make_share(tmp);
  const std::string path = (share / "c.db").string();
  write_catalog(path);
  {
    // Keep a writer open so the last change stays in the -wal, then copy the
    // catalog as someone would while it is being written.
    fs::copy_file(path, tmp.path() / "live.db");
    Catalog writer((tmp.path() / "live.db").string());
    writer.database().exec("PRAGMA wal_autocheckpoint = 0");
    writer.ingest(sample_checkpoint("/runs/exp/300", 300), "fp300");
    fs::copy_file(tmp.path() / "live.db", path, fs::copy_options::overwrite_existing);
    fs::copy_file(tmp.path() / "live.db-wal", path + "-wal");
    fs::copy_file(tmp.path() / "live.db-shm", share / "saved-shm");
  }
  REQUIRE(fs::file_size(path + "-wal") > 0);
  {
    ReadOnlyFolder folder(share);
    if (folder.skip_cases()) return;
    CHECK(folder.run([&] {
      try {
        Catalog catalog(path, read_only());
        return expect(false, "the open to be refused", 20);
      } catch (const Error& e) {
        const std::string message = e.what();
        return expect(message.find(path + "-wal holds changes not yet in the catalog file") !=
                          std::string::npos,
                      "the refusal to name the -wal", 21);
      }
    }) == 0);
  }
  // With its -shm beside it SQLite reads the -wal itself, without writing.
  fs::copy_file(share / "saved-shm", path + "-shm");
  ReadOnlyFolder folder(share);
  CHECK(folder.run([&] {
    const Catalog catalog(path, read_only());
    if (int rc = expect(catalog.access() == CatalogAccess::kReadOnly, "plain read-only access", 22))
      return rc;
    return expect(catalog.list_checkpoints().size() == 3, "the -wal's checkpoint too", 23);
  }) == 0);
}

TEST_CASE("publish writes one rollback-journal file equal to the catalog") {
  TempDir tmp;
  const std::string source = (tmp.path() / "c.db").string();
  const std::string copy = (tmp.path() / "published.db").string();
  write_catalog(source);
  {
    Catalog catalog(source, read_only());
    catalog.publish(copy);
  }
  CHECK_FALSE(fs::exists(copy + "-wal"));
  CHECK_FALSE(fs::exists(copy + "-journal"));
  for (const auto& entry : fs::directory_iterator(tmp.path()))
    CHECK_MESSAGE(entry.path().filename().string().find("publish-") == std::string::npos,
                  entry.path());  // no temporary copy left
  {
    SQLite::Database db(copy, SQLite::OPEN_READONLY);
    CHECK(db.execAndGet("PRAGMA journal_mode").getString() == "delete");
    CHECK(pragma(db, "application_id") == Catalog::application_id());
    CHECK(pragma(db, "user_version") == Catalog::schema_version());
  }
  Catalog original(source, read_only());
  Catalog published(copy, read_only());
  CHECK(published.access() == CatalogAccess::kReadOnly);
  for (const auto& c : original.list_checkpoints()) {
    const auto a = original.load_checkpoint(c.directory);
    const auto b = published.load_checkpoint(c.directory);
    REQUIRE(a);
    REQUIRE(b);
    check_same(*a, *b);
  }
  CHECK(published.verify().empty());
  CHECK(published.stats().file_bytes <= original.stats().file_bytes);

  // Refusals, each leaving the destination as it was.
  CHECK_THROWS_WITH_AS(original.publish(copy), doctest::Contains("already exists"), Error);
  CHECK_THROWS_WITH_AS(original.publish(source, {true}), doctest::Contains("is the catalog itself"),
                       Error);
  CHECK_THROWS_WITH_AS(original.publish(tmp.path().string(), {true}),
                       doctest::Contains("is a folder"), Error);
  CHECK_THROWS_WITH_AS(original.publish((tmp.path() / "nowhere" / "x.db").string()),
                       doctest::Contains("does not exist"), Error);
  PublishOptions overwrite;
  overwrite.overwrite = true;
  std::ofstream(copy, std::ios::trunc) << "an older copy\n";
  original.publish(copy, overwrite);
  CHECK(Catalog(copy, read_only()).list_checkpoints().size() == 2);
}

TEST_CASE("a published catalog in a read-only folder reads without fallback and refuses writes") {
  TempDir tmp;
  const fs::path share = make_share(tmp);
  const std::string source = (tmp.path() / "c.db").string();
  const std::string copy = (share / "published.db").string();
  write_catalog(source);
  Catalog(source, read_only()).publish(copy);
  ReadOnlyFolder folder(share);
  if (folder.skip_cases()) return;
  CHECK(folder.run([&] {
    {
      const Catalog catalog(copy, read_only());
      if (int rc = expect(catalog.access() == CatalogAccess::kReadOnly, "plain read-only access", 30))
        return rc;
      if (int rc = expect(catalog.list_checkpoints().size() == 2, "2 checkpoints", 31)) return rc;
    }
    try {
      Catalog writable(copy);
      return expect(false, "a writable open to be refused", 32);
    } catch (const Error& e) {
      return expect(std::string(e.what()).find("cannot write to the catalog: ") != std::string::npos,
                    "the refusal to say why", 33);
    }
  }) == 0);
}

}  // namespace ckptcat
