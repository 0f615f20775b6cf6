#include "object_url.h"

#include "ckptcat/error.h"
#include "item_path.h"
#include "sigv4.h"

namespace ckptcat::objstore {
namespace {

constexpr std::string_view kS3Scheme = "s3://";
constexpr std::string_view kGcsScheme = "gs://";

bool valid_bucket(std::string_view bucket) {
  if (bucket.size() < 3 || bucket.size() > 222) return false;
  for (char c : bucket)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_'))
      return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  return alnum(bucket.front()) && alnum(bucket.back()) && bucket.find("..") == std::string_view::npos;
}

// Why a key is refused, or nullopt. Its "/"-separated names follow the
// project's one rule for names inside an item or prefix
// (storage::relative_name_problem: no "." or ".." segment, which an HTTP stack
// or the server may normalize away, leaving the prefix; no empty segment, no
// backslash, not absolute); a prefix may end with "/". Control bytes are
// refused as well: they have no place in a URL typed by a user.
std::optional<std::string> key_problem(std::string_view key) {
  for (char c : key)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return "a control character";
  if (key.size() > 1 && key.back() == '/') key.remove_suffix(1);
  return storage::relative_name_problem(key);
}

std::string strip_trailing_slashes(std::string text) {
  while (!text.empty() && text.back() == '/') text.pop_back();
  return text;
}

}  // namespace

std::string ObjectUrl::to_string() const {
  return std::string(store == Store::kS3 ? kS3Scheme : kGcsScheme) + bucket + '/' + key;
}

bool is_object_url(std::string_view text) {
  return text.substr(0, kS3Scheme.size()) == kS3Scheme ||
         text.substr(0, kGcsScheme.size()) == kGcsScheme;
}

ObjectUrl parse_object_url(std::string_view text) {
  ObjectUrl url;
  std::string_view rest;
  if (text.substr(0, kS3Scheme.size()) == kS3Scheme) {
    url.store = Store::kS3;
    rest = text.substr(kS3Scheme.size());
  } else if (text.substr(0, kGcsScheme.size()) == kGcsScheme) {
    url.store = Store::kGcs;
    rest = text.substr(kGcsScheme.size());
  } else {
    throw Error(Error::Code::kInvalid, "not an s3:// or gs:// URL", std::string(text));
  }
  const size_t slash = rest.find('/');
  url.bucket = std::string(rest.substr(0, slash));
  if (!valid_bucket(url.bucket))
    throw Error(Error::Code::kInvalid,
                "bad bucket name \"" + url.bucket +
                    "\" (3 to 222 characters: lowercase letters, digits, '.', '-', '_')",
                std::string(text));
  if (slash != std::string_view::npos) url.key = std::string(rest.substr(slash + 1));
  if (const auto problem = key_problem(url.key))
    throw Error(Error::Code::kInvalid, "bad object key (" + *problem + ")", std::string(text));
  return url;
}

ObjectUrl with_key(const ObjectUrl& url, std::string key) {
  ObjectUrl out = url;
  out.key = std::move(key);
  return out;
}

std::string BucketEndpoint::object_path(std::string_view key) const {
  return path_prefix + '/' + uri_encode(key, true);
}

std::string BucketEndpoint::bucket_path() const { return path_prefix + '/'; }

EndpointSettings endpoint_settings(Store store, const EnvLookup& env,
                                   const EndpointSettings& configured) {
  EndpointSettings settings = configured;
  if (store == Store::kS3) {
    if (auto url = env("AWS_ENDPOINT_URL_S3")) settings.endpoint_url = url;
    else if (auto any = env("AWS_ENDPOINT_URL")) settings.endpoint_url = any;
    if (auto region = env("AWS_REGION")) settings.region = region;
    else if (auto fallback = env("AWS_DEFAULT_REGION")) settings.region = fallback;
  } else if (auto host = env("STORAGE_EMULATOR_HOST")) {
    settings.endpoint_url = host->find("://") == std::string::npos ? "http://" + *host : *host;
  }
  return settings;
}

BucketEndpoint resolve_endpoint(const ObjectUrl& url, const EndpointSettings& settings) {
  BucketEndpoint endpoint;
  if (settings.region) {
    // The region becomes part of a host name and of the signature's scope.
    bool valid = !settings.region->empty() && settings.region->size() <= 64;
    for (char c : *settings.region)
      valid = valid && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-');
    if (!valid)
      throw Error(Error::Code::kInvalid, "bad region \"" + *settings.region + "\"");
  }
  if (settings.endpoint_url) {
    endpoint.custom = true;
    endpoint.origin = strip_trailing_slashes(*settings.endpoint_url);
    const size_t scheme_end = endpoint.origin.find("://");
    if (scheme_end == std::string::npos ||
        (endpoint.origin.compare(0, scheme_end, "http") != 0 &&
         endpoint.origin.compare(0, scheme_end, "https") != 0))
      throw Error(Error::Code::kInvalid,
                  "the endpoint URL \"" + *settings.endpoint_url + "\" is not http:// or https://");
    // A path after the host ("https://minio.example/s3") is kept in front of
    // the bucket.
    const size_t path_start = endpoint.origin.find('/', scheme_end + 3);
    std::string base_path;
    if (path_start != std::string::npos) {
      base_path = endpoint.origin.substr(path_start);
      endpoint.origin.resize(path_start);
    }
    endpoint.host = endpoint.origin.substr(scheme_end + 3);
    if (endpoint.host.empty())
      throw Error(Error::Code::kInvalid, "the endpoint URL \"" + *settings.endpoint_url + "\" has no host");
    endpoint.path_prefix = base_path + '/' + url.bucket;
    endpoint.region = settings.region.value_or(url.store == Store::kGcs ? "auto" : "us-east-1");
    return endpoint;
  }
  if (url.store == Store::kGcs) {
    endpoint.host = "storage.googleapis.com";
    endpoint.path_prefix = '/' + url.bucket;
    endpoint.region = "auto";
  } else {
    endpoint.region = settings.region.value_or("us-east-1");
    const std::string service_host = "s3." + endpoint.region + ".amazonaws.com";
    if (url.bucket.find('.') != std::string::npos) {
      endpoint.host = service_host;
      endpoint.path_prefix = '/' + url.bucket;
    } else {
      endpoint.host = url.bucket + '.' + service_host;
    }
  }
  endpoint.origin = "https://" + endpoint.host;
  return endpoint;
}

}  // namespace ckptcat::objstore
