// The object-store client against a real S3-compatible server (s3rver) that
// the test starts, with fixtures uploaded by boto3.
#include <doctest/doctest.h>
#include <openssl/evp.h>

#include <chrono>
#include <fstream>
#include <map>
#include <memory>

#include "ckptcat/error.h"
#include "crypto.h"
#include "forwarding_proxy.h"
#include "helpers.h"
#include "object_store_client.h"
#include "shared_data.h"

using namespace ckptcat::objstore;
namespace fs = std::filesystem;

namespace {

constexpr const char* kBucket = "ckpt-bucket";

// The bytes of fixture object `i`: distinct, sized 0 to a few KiB.
std::string content(int i) {
  std::string text;
  for (int n = 0; n < i * 37; ++n) text += static_cast<char>('a' + (n * 7 + i) % 26);
  return text;
}

// One server for the whole program, with the fixture tree uploaded once:
//   runs/exp 1/{0..24}.bin          (25 objects: several listing pages)
//   runs/exp 1/step_{1000,2000}/x   (two "folders")
//   runs/été/_METADATA              (a non-ASCII key)
//   runs/exp 1/big                  (a 300 KiB object)
struct Fixture {
  std::unique_ptr<ckptcat::testing::S3rver> server;
  std::map<std::string, std::string> objects;  // key -> bytes
  std::string skip_reason;
};

Fixture& fixture() {
  static Fixture instance = [] {
    Fixture f;
    if (auto why = ckptcat::testing::S3rver::unavailable()) {
      f.skip_reason = *why;
      return f;
    }
    f.server = std::make_unique<ckptcat::testing::S3rver>(std::vector<std::string>{kBucket});
    ckptcat::testing::TempDir tree;
    auto put = [&](const std::string& key, const std::string& bytes) {
      const fs::path file = tree.path() / key;
      fs::create_directories(file.parent_path());
      std::ofstream(file, std::ios::binary) << bytes;
      f.objects["runs/" + key] = bytes;
    };
    for (int i = 0; i < 25; ++i) put("exp 1/" + std::to_string(i) + ".bin", content(i));
    put("exp 1/step_1000/x", "one");
    put("exp 1/step_2000/x", "two");
    put("\xc3\xa9t\xc3\xa9/_METADATA", "{\"a\": 1}");
    std::string big(300 * 1024, '\0');
    for (size_t n = 0; n < big.size(); ++n) big[n] = static_cast<char>((n * 2654435761u) >> 13);
    put("exp 1/big", big);
    f.server->upload(tree.path(), kBucket, "runs/");
    return f;
  }();
  return instance;
}

// A client of the fixture's bucket at `endpoint` (the server's when empty);
// signed with s3rver's key unless anonymous.
ObjectStoreClient client(bool anonymous = false, size_t page_size = 7,
                         std::string key_id = "S3RVER", std::string endpoint = {}) {
  if (endpoint.empty()) endpoint = fixture().server->endpoint();
  std::map<std::string, std::string> env = {{"AWS_ENDPOINT_URL", endpoint},
                                            {"AWS_REGION", "us-east-1"},
                                            {"HOME", "/nonexistent"}};
  if (!anonymous) {
    env["AWS_ACCESS_KEY_ID"] = key_id;
    env["AWS_SECRET_ACCESS_KEY"] = "S3RVER";
  }
  ObjectStoreOptions options;
  options.list_page_size = page_size;
  options.http.retry.initial_delay = std::chrono::milliseconds(1);
  return ObjectStoreClient::from_environment(parse_object_url(std::string("s3://") + kBucket),
                                             fixed_environment(env), anonymous, options);
}

// S3 ETags of simple uploads are the MD5 of the bytes.
std::string md5_hex(const std::string& bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &size, EVP_md5(), nullptr);
  return to_hex(digest, size);
}

bool skipped(const char* what) {
  if (fixture().skip_reason.empty()) return false;
  ckptcat::testing::skip_case(what, fixture().skip_reason);
  return true;
}

}  // namespace

TEST_CASE("listing with a delimiter, over several pages") {
  if (skipped("s3rver listing")) return;
  auto store = client();
  const ObjectListing listing = store.list("runs/exp 1/");
  CHECK(listing.prefixes == std::vector<std::string>{"runs/exp 1/step_1000/", "runs/exp 1/step_2000/"});
  std::map<std::string, ObjectStat> listed;
  for (const auto& object : listing.objects) listed[object.key] = object;
  CHECK(listed.size() == 26);  // 25 .bin + big, nothing from the sub-folders
  for (const auto& [key, object] : listed) {
    const auto& key_value = key;  // clang 14: a structured binding cannot be captured
    CAPTURE(key_value);
    const std::string& bytes = fixture().objects.at(key);
    CHECK(object.size == bytes.size());
    CHECK(object.mtime_ns > 0);
    CHECK(object.etag == "\"" + md5_hex(bytes) + "\"");
  }
  CHECK(store.stats().attempts >= 4);  // 28 entries at 7 per page

  const ObjectListing top = store.list("runs/");
  CHECK(top.objects.empty());
  CHECK(top.prefixes == std::vector<std::string>{"runs/exp 1/", "runs/\xc3\xa9t\xc3\xa9/"});
  CHECK(store.list("runs/none/").objects.empty());

  const auto both = store.list_many({"runs/exp 1/step_1000/", "runs/\xc3\xa9t\xc3\xa9/"});
  REQUIRE(both.size() == 2);
  REQUIRE(both[0].objects.size() == 1);
  CHECK(both[0].objects[0].key == "runs/exp 1/step_1000/x");
  REQUIRE(both[1].objects.size() == 1);
  CHECK(both[1].objects[0].key == "runs/\xc3\xa9t\xc3\xa9/_METADATA");
}

TEST_CASE("stat: size, ETag and time; nullopt when missing") {
  if (skipped("s3rver stat")) return;
  auto store = client();
  const auto stats = store.stat_many({"runs/exp 1/3.bin", "runs/exp 1/missing", "runs/\xc3\xa9t\xc3\xa9/_METADATA"});
  REQUIRE(stats[0]);
  CHECK(stats[0]->size == content(3).size());
  CHECK(stats[0]->etag == "\"" + md5_hex(content(3)) + "\"");
  CHECK(stats[0]->mtime_ns > 0);
  CHECK_FALSE(stats[1]);
  REQUIRE(stats[2]);
  CHECK(stats[2]->size == 8);
  // The listing and HEAD agree.
  for (const auto& object : store.list("runs/exp 1/").objects)
    if (object.key == "runs/exp 1/3.bin") CHECK(object.etag == stats[0]->etag);
}

TEST_CASE("reads: whole objects and byte ranges, many in flight") {
  if (skipped("s3rver reads")) return;
  auto store = client();
  const std::string& big = fixture().objects.at("runs/exp 1/big");
  CHECK(store.read("runs/exp 1/big") == big);
  CHECK(store.read("runs/\xc3\xa9t\xc3\xa9/_METADATA") == "{\"a\": 1}");
  CHECK(store.read("runs/exp 1/0.bin").empty());
  CHECK(store.read("runs/exp 1/big", ByteRange{1000, 1}) == big.substr(1000, 1));
  CHECK(store.read("runs/exp 1/big", ByteRange{big.size() - 10, 10}) == big.substr(big.size() - 10));
  CHECK(store.read("runs/exp 1/big", ByteRange{5, 0}).empty());

  // Offsets from 1: s3rver reads a range ending at byte 0 ("bytes=0-0") as
  // the whole object (206 with every byte), which the client rightly refuses.
  std::vector<ObjectRead> reads;
  for (int i = 0; i < 200; ++i) {
    const uint64_t offset = 1 + static_cast<uint64_t>(i) * 1499 % (big.size() - 4096);
    reads.push_back({"runs/exp 1/big", ByteRange{offset, 1 + static_cast<uint64_t>(i) * 13}});
  }
  for (int i = 1; i < 25; ++i) reads.push_back({"runs/exp 1/" + std::to_string(i) + ".bin", std::nullopt});
  const auto before = store.stats().attempts;
  const auto bodies = store.read_many(reads);
  CHECK(store.stats().attempts - before == reads.size());
  for (size_t i = 0; i < reads.size(); ++i) {
    CAPTURE(i);
    const std::string& whole = fixture().objects.at(reads[i].key);
    if (reads[i].range)
      CHECK(bodies[i] == whole.substr(reads[i].range->offset, reads[i].range->length));
    else
      CHECK(bodies[i] == whole);
  }
}

TEST_CASE("errors name the object: missing key, range past the end, refused key id") {
  if (skipped("s3rver errors")) return;
  auto store = client();
  // A 206 carrying more bytes than the range asked for (s3rver's reading of
  // "bytes=0-0") is an error, never bytes from elsewhere in the object.
  CHECK_THROWS_AS(store.read("runs/exp 1/24.bin", ByteRange{0, 1}), ckptcat::Error);
  try {
    store.read("runs/exp 1/missing");
    FAIL("read a missing object");
  } catch (const ckptcat::Error& error) {
    CHECK(error.code() == ckptcat::Error::Code::kNotFound);
    CHECK(error.file() == std::string("s3://") + kBucket + "/runs/exp 1/missing");
    CHECK(error.message().find("NoSuchKey") != std::string::npos);
  }
  CHECK_THROWS_AS(store.read("runs/exp 1/3.bin", ByteRange{100000, 10}), ckptcat::Error);

  auto stranger = client(false, 1000, "NOTAKEY");
  try {
    stranger.list("runs/");
    FAIL("listed with an unknown key id");
  } catch (const ckptcat::Error& error) {
    CHECK(error.code() == ckptcat::Error::Code::kIO);
    CHECK(error.message().find("403") != std::string::npos);
    CHECK(std::string(error.what()).find("S3RVER") == std::string::npos);  // no secret in messages
  }
  CHECK(stranger.stats().attempts == 1);  // 403 is not retried

  auto nobucket = ObjectStoreClient::from_environment(
      parse_object_url("s3://no-such-bucket/"),
      fixed_environment({{"AWS_ENDPOINT_URL", fixture().server->endpoint()}, {"HOME", "/nonexistent"}}),
      true);
  CHECK_THROWS_AS(nobucket.list(""), ckptcat::Error);
}

TEST_CASE("anonymous requests carry no signature") {
  if (skipped("s3rver anonymous")) return;
  auto store = client(true, 1000);
  CHECK(store.read("runs/exp 1/step_2000/x") == "two");
  CHECK(store.list("runs/exp 1/step_1000/").objects.size() == 1);
}

// The forwarding proxy (forwarding_proxy.h) in front of the server.

namespace {

using ckptcat::testing::Fault;
using ckptcat::testing::FaultRule;
using ckptcat::testing::ForwardingProxy;
using ckptcat::testing::ProxyOptions;

// 200 ranges of the big object and the 24 small ones, with their bytes.
std::vector<ObjectRead> many_reads() {
  const std::string& big = fixture().objects.at("runs/exp 1/big");
  std::vector<ObjectRead> reads;
  for (int i = 0; i < 200; ++i) {
    const uint64_t offset = 1 + static_cast<uint64_t>(i) * 1499 % (big.size() - 4096);
    reads.push_back({"runs/exp 1/big", ByteRange{offset, 1 + static_cast<uint64_t>(i) * 13}});
  }
  for (int i = 1; i < 25; ++i) reads.push_back({"runs/exp 1/" + std::to_string(i) + ".bin", std::nullopt});
  return reads;
}

void check_bodies(const std::vector<ObjectRead>& reads, const std::vector<std::string>& bodies) {
  REQUIRE(bodies.size() == reads.size());
  for (size_t i = 0; i < reads.size(); ++i) {
    CAPTURE(i);
    const std::string& whole = fixture().objects.at(reads[i].key);
    CHECK(bodies[i] == (reads[i].range ? whole.substr(reads[i].range->offset, reads[i].range->length) : whole));
  }
}

}  // namespace

TEST_CASE("the forwarding proxy relays listings, HEADs and reads, with the added latency, many in flight") {
  if (skipped("s3rver through the proxy")) return;
  ProxyOptions options;
  options.latency = std::chrono::milliseconds(25);
  ForwardingProxy proxy(fixture().server->endpoint(), options);
  auto store = client(false, 7, "S3RVER", proxy.endpoint());

  auto start = std::chrono::steady_clock::now();
  CHECK(store.list("runs/exp 1/").objects.size() == 26);  // 4 pages, one after the other
  CHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(4 * 25));
  const auto stat = store.stat("runs/exp 1/3.bin");
  REQUIRE(stat);
  CHECK(stat->size == content(3).size());
  CHECK(store.read("runs/exp 1/big") == fixture().objects.at("runs/exp 1/big"));

  const auto reads = many_reads();
  start = std::chrono::steady_clock::now();
  check_bodies(reads, store.read_many(reads));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  // 224 requests at 25 ms each: far less than one after the other.
  CHECK(elapsed >= std::chrono::milliseconds(25));
  CHECK(elapsed < std::chrono::milliseconds(224 * 25 / 4));
  const auto counts = proxy.counts();
  CHECK(counts.requests == static_cast<long>(store.stats().attempts));
  CHECK(counts.faults == 0);
  CHECK(counts.max_in_flight > 8);
  CHECK(store.stats().retries == 0);
}

TEST_CASE("through the proxy's faults (503 SlowDown, 500, 429 Retry-After, drops, truncations) retries read the same bytes") {
  if (skipped("s3rver through the faulty proxy")) return;
  ProxyOptions options;
  options.rules = {
      {Fault::kTooManyRetryAfter1, "/3.bin", 0, 1},
      {Fault::kTruncate, "/big", 0, 1},  // every range read of it, once
      {Fault::kSlowDown, "", 3, 1},
      {Fault::kInternalError, "", 7, 1},
      {Fault::kDrop, "", 11, 1},
  };  // at most 4 faults for one request: the 5th attempt gets through
  ForwardingProxy proxy(fixture().server->endpoint(), options);
  auto store = client(false, 7, "S3RVER", proxy.endpoint());
  CHECK(store.list("runs/exp 1/").objects.size() == 26);
  const auto reads = many_reads();
  check_bodies(reads, store.read_many(reads));
  const auto counts = proxy.counts();
  CHECK(counts.faults > 20);
  // A fault costs one retry, but for a connection dropped before answering
  // that libcurl itself may resend on a fresh connection (it does so for a
  // reused one); nothing else is retried.
  CHECK(store.stats().retries > 10);
  CHECK(store.stats().retries <= static_cast<uint64_t>(counts.faults));
  CHECK(store.stats().attempts <= static_cast<uint64_t>(counts.requests));
}

TEST_CASE("a fault that never stops fails the read with an error naming the object") {
  if (skipped("s3rver through the failing proxy")) return;
  ProxyOptions options;
  options.rules = {{Fault::kInternalError, "/7.bin", 0, FaultRule::kAlways}};
  ForwardingProxy proxy(fixture().server->endpoint(), options);
  auto store = client(false, 7, "S3RVER", proxy.endpoint());
  CHECK(store.read("runs/exp 1/8.bin") == content(8));
  try {
    store.read_many({{"runs/exp 1/6.bin", std::nullopt}, {"runs/exp 1/7.bin", std::nullopt}});
    FAIL("read an object that always fails");
  } catch (const ckptcat::Error& error) {
    CHECK(error.file() == std::string("s3://") + kBucket + "/runs/exp 1/7.bin");
    CHECK(error.message().find("500") != std::string::npos);
  }
  CHECK(proxy.counts().faults == RetryPolicy{}.max_attempts);
}
