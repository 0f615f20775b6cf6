// ListObjectsV2 pages and S3 error documents.
#include <doctest/doctest.h>

#include "ckptcat/error.h"
#include "list_xml.h"

using namespace ckptcat::objstore;

TEST_CASE("a ListObjectsV2 page: objects, common prefixes, continuation") {
  const std::string xml = R"(<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>bucket</Name><Prefix>runs/exp1/</Prefix><KeyCount>4</KeyCount><MaxKeys>3</MaxKeys>
  <Delimiter>/</Delimiter><IsTruncated>true</IsTruncated>
  <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>
  <Contents><Key>runs/exp1/a &amp; b.json</Key><LastModified>2009-10-12T17:50:30.000Z</LastModified>
    <ETag>&quot;fba9dede5f27731c9771645a39863328&quot;</ETag><Size>434234</Size><StorageClass>STANDARD</StorageClass></Contents>
  <Contents><Key>runs/exp1/commit_success.txt</Key><LastModified>2026-01-02T03:04:05Z</LastModified>
    <ETag>"d41d8cd98f00b204e9800998ecf8427e"</ETag><Size>0</Size></Contents>
  <CommonPrefixes><Prefix>runs/exp1/1000/</Prefix></CommonPrefixes>
  <CommonPrefixes><Prefix>runs/exp1/2000/</Prefix></CommonPrefixes>
</ListBucketResult>)";
  const ListPage page = parse_list_objects_v2(xml, "s3://bucket/runs/exp1/");
  REQUIRE(page.objects.size() == 2);
  CHECK(page.objects[0].key == "runs/exp1/a & b.json");
  CHECK(page.objects[0].size == 434234);
  CHECK(page.objects[0].etag == "\"fba9dede5f27731c9771645a39863328\"");
  CHECK(page.objects[0].last_modified == "2009-10-12T17:50:30.000Z");
  CHECK(page.objects[0].mtime_ns == 1255369830'000'000'000);
  CHECK(page.objects[1].size == 0);
  CHECK(page.objects[1].mtime_ns == 1767323045'000'000'000);
  CHECK(page.common_prefixes == std::vector<std::string>{"runs/exp1/1000/", "runs/exp1/2000/"});
  CHECK(page.truncated);
  CHECK(page.next_continuation_token == "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
}

TEST_CASE("an empty last page") {
  const ListPage page = parse_list_objects_v2(
      "<ListBucketResult><Name>b</Name><KeyCount>0</KeyCount><IsTruncated>false</IsTruncated></ListBucketResult>",
      "s3://b/x/");
  CHECK(page.objects.empty());
  CHECK(page.common_prefixes.empty());
  CHECK_FALSE(page.truncated);
}

TEST_CASE("bad listings are errors naming the listing") {
  const std::vector<std::string> bad = {
      "",
      "not xml",
      "<Error><Code>AccessDenied</Code></Error>",
      "<ListBucketResult><Contents><Key>k</Key><Size>-1</Size></Contents></ListBucketResult>",
      "<ListBucketResult><Contents><Key>k</Key><Size>99999999999999999999999</Size></Contents></ListBucketResult>",
      "<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>",
      "<ListBucketResult><Contents><Key>k</Key><LastModified>yesterday</LastModified></Contents></ListBucketResult>",
      "<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>",
      "<ListBucketResult><IsTruncated>maybe</IsTruncated></ListBucketResult>",
      "<ListBucketResultX></ListBucketResultX>",
      "<ListBucketResult><Contents><Key>k</Key></Contents>",  // truncated body
      // Entity expansion is refused outright (no DTDs).
      "<!DOCTYPE l [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">]>"
      "<ListBucketResult><Contents><Key>&b;</Key></Contents></ListBucketResult>",
  };
  for (const auto& xml : bad) {
    CAPTURE(xml);
    try {
      parse_list_objects_v2(xml, "s3://b/p/");
      FAIL("accepted");
    } catch (const ckptcat::Error& error) {
      CHECK(error.code() == ckptcat::Error::Code::kCorruption);
      CHECK(error.file() == "s3://b/p/");
    }
  }
}

TEST_CASE("S3 error documents") {
  const auto slow = parse_error_document(
      "<?xml version=\"1.0\"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message>"
      "<RequestId>1</RequestId></Error>");
  REQUIRE(slow);
  CHECK(slow->code == "SlowDown");
  CHECK(slow->message == "Please reduce your request rate.");
  CHECK_FALSE(parse_error_document(""));
  CHECK_FALSE(parse_error_document("<ListBucketResult/>"));
  CHECK_FALSE(parse_error_document("<html>Bad gateway</html>"));
}

TEST_CASE("ISO 8601 times") {
  CHECK(parse_iso8601_utc("1970-01-01T00:00:00Z") == 0);
  CHECK(parse_iso8601_utc("1970-01-01T00:00:01.5Z") == 1'500'000'000);
  CHECK(parse_iso8601_utc("2024-02-29T00:00:00.000Z") == int64_t{1709164800} * 1'000'000'000);
  CHECK(parse_iso8601_utc("2024-02-29T00:00:00.123456789Z") == int64_t{1709164800} * 1'000'000'000 + 123456789);
  CHECK_FALSE(parse_iso8601_utc("2024-02-29 00:00:00Z"));
  CHECK_FALSE(parse_iso8601_utc("2024-13-01T00:00:00Z"));
  CHECK_FALSE(parse_iso8601_utc("2024-01-01T00:00:00"));
  CHECK_FALSE(parse_iso8601_utc("2024-01-01T00:00:00.Z"));
  CHECK_FALSE(parse_iso8601_utc("2024-01-01T00:00:00.1234567890Z"));
}
