// The XML bodies of the S3-style API: one page of a ListObjectsV2 listing,
// and the <Error> document a failed request returns. Pure parsers over bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ckptcat::objstore {

struct ListedObject {
  std::string key;
  uint64_t size = 0;
  std::string etag;           // as listed, quotes included ("\"9b2cf...\"")
  std::string last_modified;  // ISO 8601 as listed
  int64_t mtime_ns = 0;       // last_modified as nanoseconds since the epoch
};

struct ListPage {
  std::vector<ListedObject> objects;
  std::vector<std::string> common_prefixes;
  bool truncated = false;
  std::string next_continuation_token;  // set when truncated
};

// Throws ckptcat::Error (kCorruption) naming `source` for a body that is not a
// ListBucketResult, has a bad number or time, or is truncated without a token.
ListPage parse_list_objects_v2(std::string_view xml, const std::string& source);

struct ErrorDocument {
  std::string code;     // "NoSuchKey", "SlowDown", ...
  std::string message;
};

// nullopt for a body that is not an S3 <Error> document.
std::optional<ErrorDocument> parse_error_document(std::string_view xml);

// "2009-10-12T17:50:30.000Z" (fraction optional) as nanoseconds since the
// epoch; nullopt when malformed.
std::optional<int64_t> parse_iso8601_utc(std::string_view text);

}  // namespace ckptcat::objstore
