// AWS Signature Version 4: AWS's published vectors (the SigV4 test suite and
// the S3 API reference's examples), then botocore signing the same requests.
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "ckptcat/error.h"
#include "crypto.h"
#include "helpers.h"
#include "sigv4.h"

using namespace ckptcat::objstore;

namespace {

// The SigV4 test suite's credentials, region and service; every request is at
// 2015-08-30 12:36:00 UTC.
const AwsCredentials kSuiteKeys{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};
// The S3 API reference's examples: bucket "examplebucket", 2013-05-24 00:00 UTC.
const AwsCredentials kS3DocKeys{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};

SigV4Request suite_request(std::string method, QueryList query, HeaderList extra = {}) {
  SigV4Request request;
  request.method = std::move(method);
  request.encoded_path = "/";
  request.query = std::move(query);
  request.headers = {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", "20150830T123600Z"}};
  request.headers.insert(request.headers.end(), extra.begin(), extra.end());
  request.payload_sha256_hex = std::string(kEmptyPayloadSha256);
  return request;
}

SigV4Request s3_doc_request(std::string path, QueryList query, HeaderList extra = {}) {
  SigV4Request request;
  request.method = "GET";
  request.encoded_path = std::move(path);
  request.query = std::move(query);
  request.headers = extra;
  request.headers.insert(request.headers.end(),
                         {{"Host", "examplebucket.s3.amazonaws.com"},
                          {"x-amz-date", "20130524T000000Z"},
                          {"x-amz-content-sha256", std::string(kEmptyPayloadSha256)}});
  request.payload_sha256_hex = std::string(kEmptyPayloadSha256);
  return request;
}

std::string signature_of(const std::string& authorization) {
  return authorization.substr(authorization.rfind('=') + 1);
}

}  // namespace

TEST_CASE("SHA-256 and HMAC-SHA-256 (FIPS 180 and RFC 4231 vectors)") {
  CHECK(to_hex(sha256("")) == kEmptyPayloadSha256);
  CHECK(to_hex(sha256("abc")) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // RFC 4231 test case 2.
  CHECK(to_hex(hmac_sha256("Jefe", "what do ya want for nothing?")) ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST_CASE("SigV4 test suite: get-vanilla, every intermediate step") {
  const auto signature = sign_v4(suite_request("GET", {}), kSuiteKeys, "us-east-1", "service");
  CHECK(signature.canonical_request ==
        "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(signature.string_to_sign ==
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
        "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63");
  CHECK(signature.authorization ==
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
        "SignedHeaders=host;x-amz-date, "
        "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

TEST_CASE("SigV4 test suite: query order, POST, repeated header") {
  // Parameters sorted by name whatever order they came in.
  CHECK(signature_of(sign_v4(suite_request("GET", {{"Param2", "value2"}, {"Param1", "value1"}}),
                             kSuiteKeys, "us-east-1", "service")
                         .authorization) ==
        "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
  CHECK(signature_of(sign_v4(suite_request("POST", {}), kSuiteKeys, "us-east-1", "service")
                         .authorization) ==
        "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b");
  // A header given three times is signed once, its values joined in order.
  const auto repeated = sign_v4(
      suite_request("GET", {}, {{"My-Header1", "value2"}, {"My-Header1", "value2"}, {"My-Header1", "value1"}}),
      kSuiteKeys, "us-east-1", "service");
  CHECK(repeated.canonical_request.find("my-header1:value2,value2,value1\n") != std::string::npos);
  CHECK(signature_of(repeated.authorization) ==
        "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea");
}

TEST_CASE("SigV4 S3 reference examples: ranged GET Object, lifecycle, list objects") {
  CHECK(signature_of(sign_v4(s3_doc_request("/test.txt", {}, {{"Range", "bytes=0-9"}}), kS3DocKeys,
                             "us-east-1", "s3")
                         .authorization) ==
        "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  CHECK(signature_of(sign_v4(s3_doc_request("/", {{"lifecycle", ""}}), kS3DocKeys, "us-east-1", "s3")
                         .authorization) ==
        "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
  CHECK(signature_of(sign_v4(s3_doc_request("/", {{"prefix", "J"}, {"max-keys", "2"}}), kS3DocKeys,
                             "us-east-1", "s3")
                         .authorization) ==
        "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

TEST_CASE("SigV4 helpers: URI encoding, dates, header folding, bad dates") {
  CHECK(uri_encode("a b/c~d_e-f.g+h*%", true) == "a%20b/c~d_e-f.g%2Bh%2A%25");
  CHECK(uri_encode("a/b", false) == "a%2Fb");
  CHECK(uri_encode("\xc3\xa9", false) == "%C3%A9");
  CHECK(amz_date(1440938160) == "20150830T123600Z");
  CHECK(amz_date(0) == "19700101T000000Z");
  CHECK(canonical_query_string({{"b", "2"}, {"a", "x y"}, {"a", "1"}}) == "a=1&a=x%20y&b=2");
  auto folded = suite_request("GET", {}, {{"My-Header2", "  a   b \t c  "}});
  CHECK(sign_v4(folded, kSuiteKeys, "us-east-1", "service").canonical_request.find("my-header2:a b c\n") !=
        std::string::npos);
  auto undated = suite_request("GET", {});
  undated.headers.pop_back();
  CHECK_THROWS_AS(sign_v4(undated, kSuiteKeys, "us-east-1", "service"), ckptcat::Error);
}

// botocore computes the signature of the same requests the S3 client sends
// (path-style, encoded keys, ranges, listings with tokens, session tokens).
TEST_CASE("SigV4 agrees with botocore on S3 requests") {
  std::string why;
  const auto python = ckptcat::testing::python_with_boto3(&why);
  if (!python) {
    ckptcat::testing::skip_case("SigV4 agrees with botocore", why);
    return;
  }
  const std::string script = (ckptcat::testing::s3_dir() / "botocore_sign.py").string();
  const AwsCredentials keys{"AKIDTESTKEY", "secret/with+chars=", "session-token/xyz=="};
  struct Case {
    std::string method, host, path;
    QueryList query;
    HeaderList headers;
  };
  const std::vector<Case> cases = {
      {"GET", "127.0.0.1:9000", "/bucket/runs/exp%201/1000/state/d/0a1b", {}, {{"range", "bytes=100-4195"}}},
      {"HEAD", "bucket.s3.eu-west-3.amazonaws.com", "/runs/%C3%A9t%C3%A9/_METADATA", {}, {}},
      {"GET", "127.0.0.1:9000", "/bucket/",
       {{"list-type", "2"}, {"prefix", "runs/exp 1/"}, {"delimiter", "/"}, {"max-keys", "1000"},
        {"continuation-token", "1/abc+def=="}},
       {}},
      {"GET", "storage.googleapis.com", "/bucket/a~b/c%2Bd", {}, {{"range", "bytes=0-0"}}},
  };
  for (const auto& c : cases) {
    CAPTURE(c.path);
    const std::string date = "20260102T030405Z";
    HeaderList headers = c.headers;
    headers.insert(headers.end(), {{"host", c.host},
                                   {"x-amz-date", date},
                                   {"x-amz-content-sha256", std::string(kEmptyPayloadSha256)},
                                   {"x-amz-security-token", keys.session_token}});
    SigV4Request request{c.method, c.path, c.query, headers, std::string(kEmptyPayloadSha256)};
    const auto ours = sign_v4(request, keys, "eu-west-3", "s3");

    nlohmann::json spec;
    const std::string query = canonical_query_string(c.query);
    spec["method"] = c.method;
    spec["url"] = "https://" + c.host + c.path + (query.empty() ? "" : "?" + query);
    spec["headers"] = nlohmann::json::object();
    for (const auto& [name, value] : headers)
      if (name != "host") spec["headers"][name] = value;
    spec["region"] = "eu-west-3";
    spec["service"] = "s3";
    spec["access_key_id"] = keys.access_key_id;
    spec["secret_access_key"] = keys.secret_access_key;
    spec["amz_date"] = date;
    const auto result = ckptcat::testing::run_process({*python, script}, spec.dump());
    REQUIRE(result.status == 0);
    const auto theirs = nlohmann::json::parse(result.out);
    CHECK(ours.canonical_request == theirs["canonical_request"].get<std::string>());
    CHECK(ours.string_to_sign == theirs["string_to_sign"].get<std::string>());
    CHECK(signature_of(ours.authorization) == theirs["signature"].get<std::string>());
  }
}
