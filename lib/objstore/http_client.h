// Many HTTP requests in flight at once over libcurl's multi interface, with
// connections kept alive and reused, TLS verified, a low-speed timeout, and
// retries with full-jitter exponential backoff on transient failures (408,
// 429, 5xx, dropped or truncated connections), honouring Retry-After.
// Not thread-safe: one thread uses a client at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "sigv4.h"  // HeaderList

namespace ckptcat::objstore {

struct HttpRequest {
  std::string method = "GET";  // GET or HEAD
  std::string url;
  HeaderList headers;
  size_t max_body_bytes = size_t{64} << 20;  // a larger body fails the request (no retry)
};

struct HttpResponse {
  long status = 0;
  HeaderList headers;  // names in lowercase
  std::string body;

  std::optional<std::string> header(std::string_view lowercase_name) const;
};

// The last attempt's result: a response (any status, e.g. 404), or the
// transport error that remained after the retries.
struct HttpOutcome {
  std::optional<HttpResponse> response;
  std::string error;
  int attempts = 0;
};

struct RetryPolicy {
  int max_attempts = 6;
  std::chrono::milliseconds initial_delay{100};
  std::chrono::milliseconds max_delay{10'000};
  std::chrono::milliseconds max_retry_after{60'000};  // a longer Retry-After is cut to this
};

struct HttpClientOptions {
  size_t max_in_flight = 64;
  long connect_timeout_ms = 10'000;
  // A transfer slower than this many bytes per second for low_speed_seconds
  // is abandoned (and retried).
  long low_speed_bytes_per_second = 1;
  long low_speed_seconds = 30;
  RetryPolicy retry;
};

struct HttpStats {
  uint64_t attempts = 0;   // requests sent, retries included
  uint64_t retries = 0;
  uint64_t body_bytes = 0;  // received, over all attempts
};

// Headers added to request `index` before each attempt (a fresh signature
// date every time).
using AttemptHeaders = std::function<HeaderList(size_t index)>;

class HttpClient {
 public:
  explicit HttpClient(HttpClientOptions options = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Runs every request, at most max_in_flight at once; outcomes in request
  // order.
  std::vector<HttpOutcome> perform(const std::vector<HttpRequest>& requests,
                                   const AttemptHeaders& attempt_headers = {});

  const HttpStats& stats() const { return stats_; }
  const HttpClientOptions& options() const { return options_; }

 private:
  struct Impl;
  HttpClientOptions options_;
  HttpStats stats_;
  std::unique_ptr<Impl> impl_;
};

// 408, 429 and 5xx.
bool is_retryable_status(long status);

// Full jitter: a uniform delay in [0, min(max_delay, initial_delay * 2^(retry-1))]
// before retry number `retry` (1 for the first).
std::chrono::milliseconds backoff_delay(int retry, const RetryPolicy& policy, std::mt19937_64& random);

// A Retry-After value (seconds, or an HTTP date) as a delay from `now`;
// nullopt when unparseable.
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value, std::time_t now);

}  // namespace ckptcat::objstore
