#include "object_store_client.h"

#include <curl/curl.h>

#include "aws_credentials.h"
#include "ckptcat/error.h"
#include "list_xml.h"

namespace ckptcat::objstore {
namespace {

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

std::optional<uint64_t> parse_size(const std::optional<std::string>& text) {
  if (!text || text->empty() || text->size() > 19) return std::nullopt;
  uint64_t value = 0;
  for (char c : *text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  return value;
}

}  // namespace

ObjectStoreClient::ObjectStoreClient(ObjectUrl bucket, BucketEndpoint endpoint,
                                     std::optional<AwsCredentials> credentials,
                                     ObjectStoreOptions options)
    : bucket_(std::move(bucket)),
      endpoint_(std::move(endpoint)),
      credentials_(std::move(credentials)),
      options_(options),
      http_(std::make_unique<HttpClient>(options.http)) {
  bucket_.key.clear();
}

ObjectStoreClient ObjectStoreClient::from_environment(const ObjectUrl& url, const EnvLookup& env,
                                                      bool no_sign_request,
                                                      ObjectStoreOptions options) {
  EndpointSettings configured;
  std::optional<AwsCredentials> credentials;
  if (url.store == Store::kS3) {
    AwsSettings aws = load_aws_settings(env, no_sign_request);
    configured.region = aws.region;
    configured.endpoint_url = aws.endpoint_url;
    credentials = std::move(aws.credentials);
  }
  const BucketEndpoint endpoint = resolve_endpoint(url, endpoint_settings(url.store, env, configured));
  return ObjectStoreClient(url, endpoint, std::move(credentials), options);
}

ObjectStoreClient::PreparedRequest ObjectStoreClient::prepare(const std::string& method,
                                                              const std::string& encoded_path,
                                                              QueryList query,
                                                              HeaderList extra_headers) const {
  PreparedRequest prepared;
  const std::string query_text = canonical_query_string(query);
  prepared.http.method = method;
  prepared.http.url = endpoint_.origin + encoded_path + (query_text.empty() ? "" : "?" + query_text);
  prepared.http.headers = extra_headers;
  // Host is sent exactly as signed.
  prepared.http.headers.emplace_back("Host", endpoint_.host);
  prepared.signing.method = method;
  prepared.signing.encoded_path = encoded_path;
  prepared.signing.query = std::move(query);
  prepared.signing.headers = std::move(extra_headers);
  prepared.signing.headers.emplace_back("host", endpoint_.host);
  prepared.signing.payload_sha256_hex = std::string(kEmptyPayloadSha256);
  return prepared;
}

std::vector<HttpOutcome> ObjectStoreClient::run(const std::vector<PreparedRequest>& prepared) {
  std::vector<HttpRequest> requests;
  requests.reserve(prepared.size());
  for (const auto& request : prepared) requests.push_back(request.http);
  AttemptHeaders sign;
  if (credentials_) {
    sign = [&](size_t index) {
      const std::string date = amz_date(std::time(nullptr));
      HeaderList added = {{"x-amz-date", date},
                          {"x-amz-content-sha256", std::string(kEmptyPayloadSha256)}};
      if (!credentials_->session_token.empty())
        added.emplace_back("x-amz-security-token", credentials_->session_token);
      SigV4Request signing = prepared[index].signing;
      signing.headers.insert(signing.headers.end(), added.begin(), added.end());
      added.emplace_back("Authorization",
                         sign_v4(signing, *credentials_, endpoint_.region, "s3").authorization);
      return added;
    };
  }
  return http_->perform(requests, sign);
}

void ObjectStoreClient::fail(const std::string& key, const HttpOutcome& outcome,
                             const std::string& what) const {
  const std::string object = with_key(bucket_, key).to_string();
  const std::string tries = " (after " + std::to_string(outcome.attempts) +
                            (outcome.attempts == 1 ? " attempt)" : " attempts)");
  if (!outcome.response)
    throw Error(Error::Code::kIO, what + " failed: " + outcome.error + tries, object);
  const HttpResponse& response = *outcome.response;
  std::string detail = "HTTP " + std::to_string(response.status);
  if (auto document = parse_error_document(response.body)) {
    detail += " " + document->code;
    if (!document->message.empty()) detail += ": " + document->message;
  }
  if (is_retryable_status(response.status)) detail += tries;
  throw Error(response.status == 404 ? Error::Code::kNotFound : Error::Code::kIO,
              what + " failed: " + detail, object);
}

ObjectListing ObjectStoreClient::list(const std::string& prefix, char delimiter) {
  return std::move(list_many({prefix}, delimiter).front());
}

std::vector<ObjectListing> ObjectStoreClient::list_many(const std::vector<std::string>& prefixes,
                                                        char delimiter) {
  std::vector<ObjectListing> listings(prefixes.size());
  std::vector<std::optional<std::string>> tokens(prefixes.size(), std::string());
  for (;;) {
    std::vector<size_t> pending;
    std::vector<PreparedRequest> prepared;
    for (size_t i = 0; i < prefixes.size(); ++i) {
      if (!tokens[i]) continue;
      QueryList query = {{"list-type", "2"},
                         {"prefix", prefixes[i]},
                         {"delimiter", std::string(1, delimiter)},
                         {"max-keys", std::to_string(options_.list_page_size)}};
      if (!tokens[i]->empty()) query.emplace_back("continuation-token", *tokens[i]);
      pending.push_back(i);
      prepared.push_back(prepare("GET", endpoint_.bucket_path(), std::move(query), {}));
    }
    if (pending.empty()) return listings;
    const std::vector<HttpOutcome> outcomes = run(prepared);
    for (size_t n = 0; n < pending.size(); ++n) {
      const size_t i = pending[n];
      const HttpOutcome& outcome = outcomes[n];
      if (!outcome.response || outcome.response->status != 200)
        fail(prefixes[i], outcome, "listing");
      const std::string source = with_key(bucket_, prefixes[i]).to_string();
      ListPage page = parse_list_objects_v2(outcome.response->body, source);
      // A listing answers for its prefix only: anything else is a broken
      // (or hostile) server, not a key to follow.
      for (auto& object : page.objects) {
        if (!starts_with(object.key, prefixes[i]))
          throw Error(Error::Code::kCorruption,
                      "the listing returned the key \"" + object.key + "\" outside the prefix", source);
        listings[i].objects.push_back(
            ObjectStat{std::move(object.key), object.size, std::move(object.etag), object.mtime_ns});
      }
      for (auto& common : page.common_prefixes) {
        if (!starts_with(common, prefixes[i]) || common.size() <= prefixes[i].size())
          throw Error(Error::Code::kCorruption,
                      "the listing returned the prefix \"" + common + "\" outside the prefix", source);
        listings[i].prefixes.push_back(std::move(common));
      }
      if (!page.truncated) {
        tokens[i].reset();
      } else {
        if (page.next_continuation_token == *tokens[i])
          throw Error(Error::Code::kCorruption, "the listing repeats its continuation token", source);
        tokens[i] = std::move(page.next_continuation_token);
      }
    }
  }
}

std::optional<ObjectStat> ObjectStoreClient::stat(const std::string& key) {
  return std::move(stat_many({key}).front());
}

std::vector<std::optional<ObjectStat>> ObjectStoreClient::stat_many(const std::vector<std::string>& keys) {
  std::vector<PreparedRequest> prepared;
  prepared.reserve(keys.size());
  for (const auto& key : keys) prepared.push_back(prepare("HEAD", endpoint_.object_path(key), {}, {}));
  const std::vector<HttpOutcome> outcomes = run(prepared);
  std::vector<std::optional<ObjectStat>> stats(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    const HttpOutcome& outcome = outcomes[i];
    if (outcome.response && outcome.response->status == 404) continue;
    if (!outcome.response || outcome.response->status != 200) fail(keys[i], outcome, "HEAD");
    const HttpResponse& response = *outcome.response;
    const auto size = parse_size(response.header("content-length"));
    if (!size)
      throw Error(Error::Code::kCorruption, "HEAD returned no valid Content-Length",
                  with_key(bucket_, keys[i]).to_string());
    ObjectStat stat{keys[i], *size, response.header("etag").value_or(""), 0};
    if (auto modified = response.header("last-modified")) {
      const std::time_t when = curl_getdate(modified->c_str(), nullptr);
      if (when != -1) stat.mtime_ns = static_cast<int64_t>(when) * 1'000'000'000;
    }
    stats[i] = std::move(stat);
  }
  return stats;
}

std::string ObjectStoreClient::read(const std::string& key, std::optional<ByteRange> range) {
  return std::move(read_many({ObjectRead{key, range}}).front());
}

std::vector<std::string> ObjectStoreClient::read_many(const std::vector<ObjectRead>& reads) {
  std::vector<std::string> bodies(reads.size());
  std::vector<size_t> sent;
  std::vector<PreparedRequest> prepared;
  for (size_t i = 0; i < reads.size(); ++i) {
    const ObjectRead& read = reads[i];
    HeaderList headers;
    if (read.range) {
      if (read.range->length == 0) continue;  // nothing to fetch
      if (read.range->offset > UINT64_MAX - read.range->length)
        throw Error(Error::Code::kInvalid, "byte range overflows",
                    with_key(bucket_, read.key).to_string());
      headers.emplace_back("range", "bytes=" + std::to_string(read.range->offset) + "-" +
                                        std::to_string(read.range->offset + read.range->length - 1));
    }
    PreparedRequest request = prepare("GET", endpoint_.object_path(read.key), {}, std::move(headers));
    if (read.range) request.http.max_body_bytes = std::max<uint64_t>(read.range->length, 1 << 16);
    sent.push_back(i);
    prepared.push_back(std::move(request));
  }
  std::vector<HttpOutcome> outcomes = run(prepared);
  for (size_t n = 0; n < sent.size(); ++n) {
    const ObjectRead& read = reads[sent[n]];
    HttpOutcome& outcome = outcomes[n];
    const long status = outcome.response ? outcome.response->status : 0;
    if (status != 200 && status != 206) fail(read.key, outcome, "GET");
    std::string body = std::move(outcome.response->body);
    if (read.range) {
      const ByteRange& range = *read.range;
      if (status == 200) {
        // The store ignored the range and sent the whole object.
        if (body.size() < range.offset + range.length)
          throw Error(Error::Code::kCorruption,
                      "the object has " + std::to_string(body.size()) + " bytes, fewer than the range " +
                          std::to_string(range.offset) + "+" + std::to_string(range.length) + " needs",
                      with_key(bucket_, read.key).to_string());
        body = body.substr(range.offset, range.length);
      } else if (body.size() != range.length) {
        throw Error(Error::Code::kCorruption,
                    "a range read of " + std::to_string(range.length) + " bytes at " +
                        std::to_string(range.offset) + " returned " + std::to_string(body.size()),
                    with_key(bucket_, read.key).to_string());
      }
    }
    bodies[sent[n]] = std::move(body);
  }
  return bodies;
}

}  // namespace ckptcat::objstore
