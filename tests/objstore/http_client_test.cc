// Retries and their timing rules, against a real local server that fails on
// purpose (fault_server.h).
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>

#include "fault_server.h"
#include "http_client.h"

using namespace ckptcat::objstore;
using ckptcat::testing::Fault;
using ckptcat::testing::FaultServer;

namespace {

HttpClientOptions fast_retries(int attempts = 6) {
  HttpClientOptions options;
  options.retry.max_attempts = attempts;
  options.retry.initial_delay = std::chrono::milliseconds(1);
  options.retry.max_delay = std::chrono::milliseconds(5);
  options.connect_timeout_ms = 2000;
  return options;
}

HttpRequest get(const std::string& url) {
  HttpRequest request;
  request.url = url;
  return request;
}

}  // namespace

TEST_CASE("which statuses are retried") {
  for (long status : {408L, 429L, 500L, 502L, 503L, 504L}) CHECK(is_retryable_status(status));
  for (long status : {200L, 206L, 304L, 400L, 401L, 403L, 404L, 416L}) CHECK_FALSE(is_retryable_status(status));
}

TEST_CASE("full-jitter backoff stays under the doubling ceiling and varies") {
  RetryPolicy policy;
  policy.initial_delay = std::chrono::milliseconds(100);
  policy.max_delay = std::chrono::milliseconds(1000);
  std::mt19937_64 random(42);
  for (int retry = 1; retry <= 8; ++retry) {
    const int64_t ceiling = std::min<int64_t>(1000, 100 << (retry - 1));
    int64_t low = ceiling, high = 0;
    for (int i = 0; i < 200; ++i) {
      const int64_t delay = backoff_delay(retry, policy, random).count();
      REQUIRE(delay >= 0);
      REQUIRE(delay <= ceiling);
      low = std::min(low, delay);
      high = std::max(high, delay);
    }
    CHECK(low < ceiling / 4);   // full jitter reaches near zero
    CHECK(high > ceiling / 2);  // and near the ceiling
  }
}

TEST_CASE("Retry-After in seconds or as an HTTP date") {
  CHECK(parse_retry_after("3", 0) == std::chrono::seconds(3));
  CHECK(parse_retry_after("0", 0) == std::chrono::seconds(0));
  // 2015-10-21 07:28:00 UTC is 1445412480.
  CHECK(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412480 - 120) == std::chrono::seconds(120));
  CHECK(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412480 + 5) == std::chrono::seconds(0));
  CHECK_FALSE(parse_retry_after("", 0));
  CHECK_FALSE(parse_retry_after("soon", 0));
}

TEST_CASE("transient failures are retried until the request succeeds") {
  FaultServer server({Fault::kSlowDown, Fault::kInternalError, Fault::kDrop, Fault::kTruncate},
                     std::string(1000, 'x'));
  HttpClient client(fast_retries());
  const auto outcomes = client.perform({get(server.url())});
  REQUIRE(outcomes[0].response);
  CHECK(outcomes[0].response->status == 200);
  CHECK(outcomes[0].response->body == std::string(1000, 'x'));
  CHECK(outcomes[0].response->header("etag") == "\"e\"");
  CHECK(outcomes[0].attempts == 5);
  CHECK(server.requests() == 5);
  CHECK(client.stats().retries == 4);
  CHECK(client.stats().attempts == 5);
}

TEST_CASE("429 waits as long as Retry-After says") {
  FaultServer server({Fault::kTooManyRetryAfter1}, "ok");
  HttpClient client(fast_retries());
  const auto start = std::chrono::steady_clock::now();
  const auto outcomes = client.perform({get(server.url())});
  const auto waited = std::chrono::steady_clock::now() - start;
  REQUIRE(outcomes[0].response);
  CHECK(outcomes[0].response->status == 200);
  CHECK(waited >= std::chrono::milliseconds(950));
}

TEST_CASE("404 and 403 are final at once") {
  for (Fault fault : {Fault::kNotFound, Fault::kForbidden}) {
    FaultServer server({fault}, "never");
    HttpClient client(fast_retries());
    const auto outcomes = client.perform({get(server.url())});
    REQUIRE(outcomes[0].response);
    CHECK(outcomes[0].response->status == (fault == Fault::kNotFound ? 404 : 403));
    CHECK(outcomes[0].attempts == 1);
    CHECK(server.requests() == 1);
  }
}

TEST_CASE("retries end after max_attempts with the last answer or error") {
  {
    FaultServer server(std::vector<Fault>(10, Fault::kSlowDown), "x");
    HttpClient client(fast_retries(3));
    const auto outcomes = client.perform({get(server.url())});
    REQUIRE(outcomes[0].response);
    CHECK(outcomes[0].response->status == 503);
    CHECK(outcomes[0].attempts == 3);
    CHECK(server.requests() == 3);
  }
  {
    FaultServer server(std::vector<Fault>(10, Fault::kDrop), "x");
    HttpClient client(fast_retries(2));
    const auto outcomes = client.perform({get(server.url())});
    CHECK_FALSE(outcomes[0].response);
    CHECK_FALSE(outcomes[0].error.empty());
    CHECK(outcomes[0].attempts == 2);
  }
}

TEST_CASE("a body over the cap fails without retrying; a closed port is a connection error") {
  FaultServer server({}, std::string(5000, 'y'));
  HttpClient client(fast_retries());
  HttpRequest request = get(server.url());
  request.max_body_bytes = 100;
  const auto outcomes = client.perform({request});
  CHECK_FALSE(outcomes[0].response);
  CHECK(outcomes[0].error.find("larger than 100 bytes") != std::string::npos);
  CHECK(outcomes[0].attempts == 1);

  std::string closed_url;
  {
    FaultServer gone({}, "");
    closed_url = gone.url();
  }
  HttpClient refused(fast_retries(2));
  const auto refused_outcomes = refused.perform({get(closed_url)});
  CHECK_FALSE(refused_outcomes[0].response);
  CHECK(refused_outcomes[0].attempts == 2);
}

TEST_CASE("outcomes come back in request order, headers go out on every attempt") {
  FaultServer server({Fault::kSlowDown, Fault::kOk, Fault::kSlow}, "b");
  HttpClient client(fast_retries());
  std::vector<HttpRequest> requests;
  for (int i = 0; i < 4; ++i) requests.push_back(get(server.url("/o" + std::to_string(i))));
  int calls = 0;
  const auto outcomes = client.perform(requests, [&](size_t index) {
    ++calls;
    return HeaderList{{"X-Test-Index", std::to_string(index)}};
  });
  REQUIRE(outcomes.size() == 4);
  for (const auto& outcome : outcomes) {
    REQUIRE(outcome.response);
    CHECK(outcome.response->status == 200);
  }
  CHECK(calls == 5);  // one retry
  for (const auto& head : server.heads()) {
    const auto path_at = head.find("GET /o");
    REQUIRE(path_at != std::string::npos);
    CHECK(head.find("X-Test-Index: " + head.substr(path_at + 6, 1)) != std::string::npos);
  }
}
