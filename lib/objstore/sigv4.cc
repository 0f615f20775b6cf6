#include "sigv4.h"

#include <algorithm>
#include <cctype>

#include "ckptcat/error.h"
#include "crypto.h"

namespace ckptcat::objstore {
namespace {

std::string lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Header values are signed trimmed, with runs of spaces folded to one.
std::string canonical_header_value(std::string_view value) {
  std::string out;
  bool in_space = false;
  for (char c : value) {
    if (c == ' ' || c == '\t') {
      in_space = true;
      continue;
    }
    if (in_space && !out.empty()) out += ' ';
    in_space = false;
    out += c;
  }
  return out;
}

}  // namespace

std::string uri_encode(std::string_view text, bool keep_slash) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kDigits[c >> 4];
      out += kDigits[c & 0xf];
    }
  }
  return out;
}

std::string amz_date(std::time_t time) {
  std::tm utc{};
  if (gmtime_r(&time, &utc) == nullptr)
    throw Error(Error::Code::kInvalid, "time out of range for a SigV4 date");
  char text[32];
  const size_t size = std::strftime(text, sizeof text, "%Y%m%dT%H%M%SZ", &utc);
  return {text, size};
}

std::string canonical_query_string(const QueryList& query) {
  std::vector<std::pair<std::string, std::string>> encoded;
  encoded.reserve(query.size());
  for (const auto& [name, value] : query)
    encoded.emplace_back(uri_encode(name, false), uri_encode(value, false));
  std::sort(encoded.begin(), encoded.end());
  std::string text;
  for (const auto& [name, value] : encoded) {
    if (!text.empty()) text += '&';
    text += name + '=' + value;
  }
  return text;
}

SigV4Signature sign_v4(const SigV4Request& request, const AwsCredentials& credentials,
                       std::string_view region, std::string_view service) {
  const std::string canonical_query = canonical_query_string(request.query);

  // Headers by lowercase name; a repeated header's values joined by commas in
  // the order given.
  std::vector<std::pair<std::string, std::string>> headers;
  for (const auto& [name, value] : request.headers) {
    std::string key = lowercase(name);
    std::string text = canonical_header_value(value);
    auto same = std::find_if(headers.begin(), headers.end(),
                             [&](const auto& header) { return header.first == key; });
    if (same != headers.end())
      same->second += ',' + text;
    else
      headers.emplace_back(std::move(key), std::move(text));
  }
  std::stable_sort(headers.begin(), headers.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string date;
  std::string canonical_headers, signed_headers;
  for (const auto& [name, value] : headers) {
    canonical_headers += name + ':' + value + '\n';
    if (!signed_headers.empty()) signed_headers += ';';
    signed_headers += name;
    if (name == "x-amz-date") date = value;
  }
  if (date.size() != 16 || date[8] != 'T' || date[15] != 'Z')
    throw Error(Error::Code::kInvalid, "a SigV4 request needs an x-amz-date header like 20150830T123600Z");

  SigV4Signature signature;
  signature.canonical_request = request.method + '\n' +
                                (request.encoded_path.empty() ? "/" : request.encoded_path) +
                                '\n' + canonical_query + '\n' + canonical_headers + '\n' +
                                signed_headers + '\n' + request.payload_sha256_hex;
  const std::string day = date.substr(0, 8);
  const std::string scope =
      day + '/' + std::string(region) + '/' + std::string(service) + "/aws4_request";
  signature.string_to_sign = "AWS4-HMAC-SHA256\n" + date + '\n' + scope + '\n' +
                             to_hex(sha256(signature.canonical_request));

  const Sha256Digest date_key = hmac_sha256("AWS4" + credentials.secret_access_key, day);
  const Sha256Digest region_key = hmac_sha256(as_bytes(date_key), region);
  const Sha256Digest service_key = hmac_sha256(as_bytes(region_key), service);
  const Sha256Digest signing_key = hmac_sha256(as_bytes(service_key), "aws4_request");
  const std::string mac = to_hex(hmac_sha256(as_bytes(signing_key), signature.string_to_sign));
  signature.authorization = "AWS4-HMAC-SHA256 Credential=" + credentials.access_key_id + '/' +
                            scope + ", SignedHeaders=" + signed_headers + ", Signature=" + mac;
  return signature;
}

}  // namespace ckptcat::objstore
