// s3:// and gs:// URLs, endpoints and addressing, and the S3 credential chain.
#include <doctest/doctest.h>

#include <sys/stat.h>

#include <fstream>

#include "aws_credentials.h"
#include "ckptcat/error.h"
#include "object_url.h"
#include "shared_data.h"

using namespace ckptcat::objstore;

TEST_CASE("object URLs") {
  const ObjectUrl s3 = parse_object_url("s3://my-bucket/runs/exp1/1000");
  CHECK(s3.store == Store::kS3);
  CHECK(s3.bucket == "my-bucket");
  CHECK(s3.key == "runs/exp1/1000");
  CHECK(s3.to_string() == "s3://my-bucket/runs/exp1/1000");
  const ObjectUrl gs = parse_object_url("gs://tpu.runs_01/");
  CHECK(gs.store == Store::kGcs);
  CHECK(gs.bucket == "tpu.runs_01");
  CHECK(gs.key.empty());
  CHECK(parse_object_url("s3://bucket").key.empty());
  CHECK(parse_object_url("s3://bucket/runs/exp1/").key == "runs/exp1/");  // a prefix
  CHECK(with_key(s3, "a/b").to_string() == "s3://my-bucket/a/b");
  CHECK(is_object_url("gs://x"));
  CHECK_FALSE(is_object_url("/local/path"));
  CHECK_FALSE(is_object_url("http://host/b"));

  for (const char* bad : {"s3://", "s3:///key", "s3://ab/k", "s3://Bucket/k", "s3://-bucket/k",
                          "s3://bucket-/k", "s3://a..b/k", "s3://bucket/a/../b", "s3://bucket/./b",
                          "s3://bucket/..", "s3://bucket/a\nb", "file:///tmp", "/tmp/x",
                          // storage::relative_name_problem's rule, as for names inside an item
                          "s3://bucket//", "s3://bucket//x", "s3://bucket/a//b", "s3://bucket/a\\b"}) {
    CAPTURE(bad);
    CHECK_THROWS_AS(parse_object_url(bad), ckptcat::Error);
  }
}

TEST_CASE("endpoints: virtual-hosted on AWS, path-style for dots and custom endpoints") {
  const auto env = fixed_environment({});
  const ObjectUrl plain = parse_object_url("s3://bucket/k");
  auto endpoint = resolve_endpoint(plain, endpoint_settings(Store::kS3, env));
  CHECK(endpoint.origin == "https://bucket.s3.us-east-1.amazonaws.com");
  CHECK(endpoint.host == "bucket.s3.us-east-1.amazonaws.com");
  CHECK(endpoint.region == "us-east-1");
  CHECK(endpoint.object_path("a b/c+d") == "/a%20b/c%2Bd");
  CHECK(endpoint.bucket_path() == "/");
  CHECK_FALSE(endpoint.custom);

  const ObjectUrl dotted = parse_object_url("s3://my.bucket/k");
  endpoint = resolve_endpoint(dotted, endpoint_settings(Store::kS3, fixed_environment({{"AWS_REGION", "eu-west-3"}})));
  CHECK(endpoint.origin == "https://s3.eu-west-3.amazonaws.com");
  CHECK(endpoint.object_path("k") == "/my.bucket/k");
  CHECK(endpoint.region == "eu-west-3");

  // AWS_ENDPOINT_URL_S3 wins over AWS_ENDPOINT_URL; AWS_REGION over AWS_DEFAULT_REGION.
  endpoint = resolve_endpoint(
      plain, endpoint_settings(Store::kS3, fixed_environment({{"AWS_ENDPOINT_URL", "http://other:1"},
                                                              {"AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9000/"},
                                                              {"AWS_DEFAULT_REGION", "ap-south-1"}})));
  CHECK(endpoint.origin == "http://127.0.0.1:9000");
  CHECK(endpoint.host == "127.0.0.1:9000");
  CHECK(endpoint.object_path("x") == "/bucket/x");
  CHECK(endpoint.bucket_path() == "/bucket/");
  CHECK(endpoint.region == "ap-south-1");
  CHECK(endpoint.custom);
  endpoint = resolve_endpoint(
      plain, endpoint_settings(Store::kS3, fixed_environment({{"AWS_ENDPOINT_URL", "https://minio.example/s3"},
                                                              {"AWS_REGION", "r1"},
                                                              {"AWS_DEFAULT_REGION", "r2"}})));
  CHECK(endpoint.origin == "https://minio.example");
  CHECK(endpoint.object_path("x") == "/s3/bucket/x");
  CHECK(endpoint.region == "r1");
  // The profile's settings fill what the environment leaves unset.
  endpoint = resolve_endpoint(plain, endpoint_settings(Store::kS3, env, {std::nullopt, "us-west-2"}));
  CHECK(endpoint.origin == "https://bucket.s3.us-west-2.amazonaws.com");

  CHECK_THROWS_AS(resolve_endpoint(plain, {std::string("ftp://x"), std::nullopt}), ckptcat::Error);
  CHECK_THROWS_AS(resolve_endpoint(plain, {std::string("http://"), std::nullopt}), ckptcat::Error);
  CHECK_THROWS_AS(resolve_endpoint(plain, {std::nullopt, std::string("us-east-1.evil.com/")}), ckptcat::Error);
}

TEST_CASE("GCS endpoints: storage.googleapis.com, or STORAGE_EMULATOR_HOST") {
  const ObjectUrl gs = parse_object_url("gs://bucket/ckpt");
  auto endpoint = resolve_endpoint(gs, endpoint_settings(Store::kGcs, fixed_environment({{"AWS_ENDPOINT_URL", "http://x"}})));
  CHECK(endpoint.origin == "https://storage.googleapis.com");
  CHECK(endpoint.object_path("ckpt/a") == "/bucket/ckpt/a");
  CHECK(endpoint.region == "auto");
  endpoint = resolve_endpoint(gs, endpoint_settings(Store::kGcs, fixed_environment({{"STORAGE_EMULATOR_HOST", "localhost:4443"}})));
  CHECK(endpoint.origin == "http://localhost:4443");
  CHECK(endpoint.object_path("a") == "/bucket/a");
  endpoint = resolve_endpoint(gs, endpoint_settings(Store::kGcs, fixed_environment({{"STORAGE_EMULATOR_HOST", "https://gcs.test"}})));
  CHECK(endpoint.origin == "https://gcs.test");
}

namespace {

void write(const std::filesystem::path& file, const std::string& text) {
  std::ofstream(file) << text;
}

}  // namespace

TEST_CASE("S3 credentials: environment, then the profile's files, else anonymous") {
  ckptcat::testing::TempDir dir;
  const auto credentials = dir.path() / "credentials";
  const auto config = dir.path() / "config";
  write(credentials,
        "# comment\n[default]\naws_access_key_id = DEFAULTKEY\naws_secret_access_key = default/secret\n\n"
        "[work]\naws_access_key_id=WORKKEY\naws_secret_access_key=work+secret\naws_session_token = tok\n"
        "[half]\naws_access_key_id = HALFKEY\n");
  write(config,
        "[default]\nregion = eu-central-1\n[profile work]\nregion = us-west-2\ns3 =\n  addressing_style = path\n"
        "[profile cfg]\naws_access_key_id = CFGKEY\naws_secret_access_key = cfgsecret\n"
        "endpoint_url = http://127.0.0.1:1\n");
  std::map<std::string, std::string> base = {{"AWS_SHARED_CREDENTIALS_FILE", credentials.string()},
                                             {"AWS_CONFIG_FILE", config.string()}};

  auto settings = load_aws_settings(fixed_environment(base), false);
  REQUIRE(settings.credentials);
  CHECK(settings.credentials->access_key_id == "DEFAULTKEY");
  CHECK(settings.credentials->secret_access_key == "default/secret");
  CHECK(settings.credentials->session_token.empty());
  CHECK(settings.region == "eu-central-1");
  CHECK(settings.credentials_source.find("default/secret") == std::string::npos);

  auto env = base;
  env["AWS_PROFILE"] = "work";
  settings = load_aws_settings(fixed_environment(env), false);
  CHECK(settings.credentials->access_key_id == "WORKKEY");
  CHECK(settings.credentials->session_token == "tok");
  CHECK(settings.region == "us-west-2");

  env["AWS_PROFILE"] = "cfg";  // keys in the config file only
  settings = load_aws_settings(fixed_environment(env), false);
  CHECK(settings.credentials->access_key_id == "CFGKEY");
  CHECK(settings.endpoint_url == "http://127.0.0.1:1");

  // The environment's keys come before any profile.
  env["AWS_ACCESS_KEY_ID"] = "ENVKEY";
  env["AWS_SECRET_ACCESS_KEY"] = "envsecret";
  env["AWS_SESSION_TOKEN"] = "envtoken";
  settings = load_aws_settings(fixed_environment(env), false);
  CHECK(settings.credentials->access_key_id == "ENVKEY");
  CHECK(settings.credentials->session_token == "envtoken");
  CHECK(settings.credentials_source == "environment");

  // --no-sign-request: anonymous whatever is configured (the region still counts).
  settings = load_aws_settings(fixed_environment(env), true);
  CHECK_FALSE(settings.credentials);
  CHECK(settings.endpoint_url == "http://127.0.0.1:1");

  // Nothing anywhere: anonymous.
  settings = load_aws_settings(fixed_environment({{"HOME", dir.path().string() + "/nowhere"}}), false);
  CHECK_FALSE(settings.credentials);

  // A named profile that does not exist, and a key id without its secret.
  env = base;
  env["AWS_PROFILE"] = "missing";
  CHECK_THROWS_AS(load_aws_settings(fixed_environment(env), false), ckptcat::Error);
  env["AWS_PROFILE"] = "half";
  try {
    load_aws_settings(fixed_environment(env), false);
    FAIL("accepted a key id without a secret");
  } catch (const ckptcat::Error& error) {
    CHECK(std::string(error.what()).find("HALFKEY") == std::string::npos);
  }

  // ~/.aws/ when no file is named.
  std::filesystem::create_directories(dir.path() / "home" / ".aws");
  write(dir.path() / "home" / ".aws" / "credentials", "[default]\naws_access_key_id=HOMEKEY\naws_secret_access_key=s\n");
  settings = load_aws_settings(fixed_environment({{"HOME", (dir.path() / "home").string()}}), false);
  CHECK(settings.credentials->access_key_id == "HOMEKEY");
}

TEST_CASE("S3 credentials: a settings file that is not a regular file is refused, not waited on") {
  ckptcat::testing::TempDir dir;
  const auto fifo = dir.path() / "credentials";
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  const auto env = fixed_environment({{"AWS_SHARED_CREDENTIALS_FILE", fifo.string()},
                                      {"AWS_CONFIG_FILE", (dir.path() / "absent").string()}});
  try {
    load_aws_settings(env, false);
    FAIL("read a FIFO as a credentials file");
  } catch (const ckptcat::Error& error) {
    CHECK(error.code() == ckptcat::Error::Code::kInvalid);
    CHECK(error.file() == fifo.string());
  }
  // A folder is no credentials file either; a file that is absent is simply skipped.
  const auto folder_env = fixed_environment({{"AWS_SHARED_CREDENTIALS_FILE", dir.path().string()},
                                             {"AWS_CONFIG_FILE", (dir.path() / "absent").string()}});
  CHECK_THROWS_AS(load_aws_settings(folder_env, false), ckptcat::Error);
}
