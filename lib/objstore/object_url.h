// Object-store locations: s3://bucket/prefix and gs://bucket/prefix, and the
// HTTP endpoint that serves a bucket (S3-style XML API for both stores).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "environment.h"

namespace ckptcat::objstore {

enum class Store { kS3, kGcs };

struct ObjectUrl {
  Store store = Store::kS3;
  std::string bucket;
  std::string key;  // no leading '/'; a prefix ends with '/' only when given so

  std::string to_string() const;  // "s3://bucket/key"
};

bool is_object_url(std::string_view text);  // starts with s3:// or gs://

// Throws ckptcat::Error (kInvalid) for a malformed URL: an unknown scheme, a
// missing or invalid bucket name, a key that storage::relative_name_problem
// refuses (".", ".." or empty segments, a backslash, a leading "/"; one
// trailing "/" is allowed), or control characters.
ObjectUrl parse_object_url(std::string_view text);

// The object URL of `key` in the same bucket.
ObjectUrl with_key(const ObjectUrl& url, std::string key);

// How requests for one bucket are addressed.
struct BucketEndpoint {
  std::string origin;       // "https://bucket.s3.us-east-1.amazonaws.com" or "http://127.0.0.1:9000"
  std::string path_prefix;  // "/bucket" for path-style addressing, "" for virtual-hosted
  std::string host;         // the Host header: origin without its scheme
  std::string region;       // for SigV4 ("auto" on GCS)
  bool custom = false;      // an endpoint given by the environment or configuration

  // The encoded path of an object ("/bucket/a%20b/c" or "/a%20b/c").
  std::string object_path(std::string_view key) const;
  // The path that lists the bucket ("/bucket/" or "/").
  std::string bucket_path() const;
};

// Settings that choose the endpoint; the region when configured (profile,
// environment), else nullopt (us-east-1 is then assumed).
struct EndpointSettings {
  std::optional<std::string> endpoint_url;  // overrides the store's default host
  std::optional<std::string> region;
};

// S3: AWS_ENDPOINT_URL_S3, then AWS_ENDPOINT_URL; AWS_REGION, then
// AWS_DEFAULT_REGION. GCS: STORAGE_EMULATOR_HOST (with or without a scheme;
// http when absent, as Google's client libraries read it). `configured`
// (e.g. the AWS profile's region) fills what the environment leaves unset.
EndpointSettings endpoint_settings(Store store, const EnvLookup& env,
                                   const EndpointSettings& configured = {});

// Custom endpoints and bucket names with dots use path-style addressing
// (virtual-hosted names with dots break TLS hostname checks); AWS uses
// virtual-hosted style otherwise.
BucketEndpoint resolve_endpoint(const ObjectUrl& url, const EndpointSettings& settings);

}  // namespace ckptcat::objstore
