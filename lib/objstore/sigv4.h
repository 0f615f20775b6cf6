// AWS Signature Version 4 (header form), as S3 and GCS's XML API with HMAC
// keys accept it. Pure: the caller gives the request's parts and the time, so
// AWS's published test vectors can be checked exactly.
#pragma once

#include <ctime>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ckptcat::objstore {

// A key pair and, for temporary credentials, the session token. Never printed.
struct AwsCredentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty for long-term keys
};

using HeaderList = std::vector<std::pair<std::string, std::string>>;
using QueryList = std::vector<std::pair<std::string, std::string>>;  // decoded name, value

struct SigV4Request {
  std::string method;
  std::string encoded_path;  // the path exactly as sent, already URI-encoded ("/" when empty)
  QueryList query;           // decoded; encoded and sorted for signing
  HeaderList headers;        // every header to sign; must include host and x-amz-date
  std::string payload_sha256_hex;
};

struct SigV4Signature {
  std::string canonical_request;
  std::string string_to_sign;
  std::string authorization;  // the Authorization header's value
};

SigV4Signature sign_v4(const SigV4Request& request, const AwsCredentials& credentials,
                       std::string_view region, std::string_view service);

// RFC 3986 percent-encoding as SigV4 wants it: unreserved characters kept,
// everything else as %XY (uppercase); '/' kept when encoding a path.
std::string uri_encode(std::string_view text, bool keep_slash);

// The query as signed and sent: names and values encoded, sorted, joined by
// '&' ("a=1&b=%2F").
std::string canonical_query_string(const QueryList& query);

// "20150830T123600Z" for a UTC time.
std::string amz_date(std::time_t time);

// SHA-256 of the empty payload, in hex (every GET and HEAD sends it).
inline constexpr std::string_view kEmptyPayloadSha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

}  // namespace ckptcat::objstore
