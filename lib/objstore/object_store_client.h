// One bucket of an object store over the S3-style XML API (S3, S3-compatible
// stores, and GCS's XML API): list a prefix with a delimiter, stat, and read
// whole objects or byte ranges, many requests in flight together. Requests are
// signed with SigV4 when credentials are given, else anonymous.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "http_client.h"
#include "object_url.h"
#include "sigv4.h"

namespace ckptcat::objstore {

struct ObjectStat {
  std::string key;
  uint64_t size = 0;
  std::string etag;     // quotes included, as the store sends it
  int64_t mtime_ns = 0;
};

struct ObjectListing {
  std::vector<ObjectStat> objects;    // keys directly under the prefix
  std::vector<std::string> prefixes;  // "sub-folders": common prefixes, ending in the delimiter
};

// offset and length; ranges are always explicit (never "the last N bytes",
// which some stores misread).
struct ByteRange {
  uint64_t offset = 0;
  uint64_t length = 0;
};

struct ObjectRead {
  std::string key;
  std::optional<ByteRange> range;  // whole object when absent
};

struct ObjectStoreOptions {
  HttpClientOptions http;
  size_t list_page_size = 1000;  // max-keys per listing request
};

class ObjectStoreClient {
 public:
  ObjectStoreClient(ObjectUrl bucket, BucketEndpoint endpoint,
                    std::optional<AwsCredentials> credentials, ObjectStoreOptions options = {});

  // Settings from the environment and the AWS files (object_url.h,
  // aws_credentials.h).
  static ObjectStoreClient from_environment(const ObjectUrl& url, const EnvLookup& env,
                                            bool no_sign_request, ObjectStoreOptions options = {});

  // Every page of the listing of `prefix` with `delimiter` ("/"): never a
  // recursive listing.
  ObjectListing list(const std::string& prefix, char delimiter = '/');
  // Several prefixes, each page round of all of them in flight together.
  std::vector<ObjectListing> list_many(const std::vector<std::string>& prefixes, char delimiter = '/');

  // nullopt when the object does not exist.
  std::optional<ObjectStat> stat(const std::string& key);
  std::vector<std::optional<ObjectStat>> stat_many(const std::vector<std::string>& keys);

  // Throws ckptcat::Error naming the object: kNotFound when it does not
  // exist, kIO for refused requests and transport failures, kCorruption when
  // the store returns fewer bytes than the range asked for.
  std::string read(const std::string& key, std::optional<ByteRange> range = std::nullopt);
  std::vector<std::string> read_many(const std::vector<ObjectRead>& reads);

  const ObjectUrl& bucket() const { return bucket_; }
  const BucketEndpoint& endpoint() const { return endpoint_; }
  const HttpStats& stats() const { return http_->stats(); }

 private:
  // The parts a request is signed from; the URL is built from the same parts.
  struct PreparedRequest {
    HttpRequest http;
    SigV4Request signing;
  };
  PreparedRequest prepare(const std::string& method, const std::string& encoded_path,
                          QueryList query, HeaderList extra_headers) const;
  std::vector<HttpOutcome> run(const std::vector<PreparedRequest>& prepared);
  [[noreturn]] void fail(const std::string& key, const HttpOutcome& outcome, const std::string& what) const;

  ObjectUrl bucket_;
  BucketEndpoint endpoint_;
  std::optional<AwsCredentials> credentials_;
  ObjectStoreOptions options_;
  std::unique_ptr<HttpClient> http_;
};

}  // namespace ckptcat::objstore
