#include "http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <deque>
#include <mutex>
#include <queue>
#include <thread>

#include "ckptcat/error.h"

namespace ckptcat::objstore {
namespace {

using Clock = std::chrono::steady_clock;

void init_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
      throw Error(Error::Code::kIO, "libcurl could not be initialised");
  });
}

// Transport failures worth another attempt: the connection was refused,
// dropped, timed out or ended before the body did.
bool is_retryable_transport(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return true;
    default:
      return false;
  }
}

struct EasyDeleter {
  void operator()(CURL* easy) const { curl_easy_cleanup(easy); }
};
using EasyHandle = std::unique_ptr<CURL, EasyDeleter>;

struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using HeaderSlist = std::unique_ptr<curl_slist, SlistDeleter>;

// One attempt of one request.
struct Transfer {
  size_t index = 0;
  EasyHandle easy;
  HeaderSlist header_list;
  HttpResponse response;
  size_t max_body_bytes = 0;
  bool too_large = false;
  char error[CURL_ERROR_SIZE] = {};
};

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const size_t bytes = size * count;
  if (transfer->response.body.size() + bytes > transfer->max_body_bytes) {
    transfer->too_large = true;
    return 0;  // aborts the transfer
  }
  transfer->response.body.append(data, bytes);
  return bytes;
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const size_t bytes = size * count;
  std::string_view line(data, bytes);
  if (line.substr(0, 5) == "HTTP/") {
    transfer->response.headers.clear();  // a new response (after 100 Continue)
    return bytes;
  }
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) return bytes;
  std::string name(line.substr(0, colon));
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
    value.remove_suffix(1);
  transfer->response.headers.emplace_back(std::move(name), std::string(value));
  return bytes;
}

}  // namespace

std::optional<std::string> HttpResponse::header(std::string_view lowercase_name) const {
  for (const auto& [name, value] : headers)
    if (name == lowercase_name) return value;
  return std::nullopt;
}

bool is_retryable_status(long status) {
  return status == 408 || status == 429 || (status >= 500 && status <= 599);
}

std::chrono::milliseconds backoff_delay(int retry, const RetryPolicy& policy,
                                        std::mt19937_64& random) {
  const int shift = std::clamp(retry - 1, 0, 30);
  const auto ceiling = std::min<int64_t>(policy.max_delay.count(),
                                         policy.initial_delay.count() * (int64_t{1} << shift));
  std::uniform_int_distribution<int64_t> pick(0, std::max<int64_t>(ceiling, 0));
  return std::chrono::milliseconds(pick(random));
}

std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value,
                                                           std::time_t now) {
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (value.size() > 9) return std::chrono::milliseconds::max();
    return std::chrono::seconds(std::stoll(std::string(value)));
  }
  const std::time_t when = curl_getdate(std::string(value).c_str(), nullptr);
  if (when == -1) return std::nullopt;
  return std::chrono::seconds(std::max<std::time_t>(when - now, 0));
}

struct HttpClient::Impl {
  CURLM* multi = nullptr;
  std::vector<EasyHandle> idle;  // reset and reused: fewer allocations
  std::mt19937_64 random{std::random_device{}()};

  explicit Impl(const HttpClientOptions& options) {
    init_curl_once();
    multi = curl_multi_init();
    if (multi == nullptr) throw Error(Error::Code::kIO, "libcurl could not create a multi handle");
    const long connections = static_cast<long>(std::max<size_t>(options.max_in_flight, 1));
    curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, connections);
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, connections);
    curl_multi_setopt(multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
  }
  ~Impl() { curl_multi_cleanup(multi); }

  EasyHandle take_easy() {
    if (idle.empty()) {
      EasyHandle easy(curl_easy_init());
      if (!easy) throw Error(Error::Code::kIO, "libcurl could not create a transfer");
      return easy;
    }
    EasyHandle easy = std::move(idle.back());
    idle.pop_back();
    curl_easy_reset(easy.get());
    return easy;
  }
};

HttpClient::HttpClient(HttpClientOptions options)
    : options_(options), impl_(std::make_unique<Impl>(options_)) {}

HttpClient::~HttpClient() = default;

std::vector<HttpOutcome> HttpClient::perform(const std::vector<HttpRequest>& requests,
                                             const AttemptHeaders& attempt_headers) {
  std::vector<HttpOutcome> outcomes(requests.size());
  std::deque<size_t> ready;
  for (size_t i = 0; i < requests.size(); ++i) ready.push_back(i);
  using Delayed = std::pair<Clock::time_point, size_t>;
  std::priority_queue<Delayed, std::vector<Delayed>, std::greater<>> delayed;
  std::vector<std::unique_ptr<Transfer>> active;
  // On an exception, transfers still attached leave the multi handle before
  // they are freed.
  struct DetachOnExit {
    CURLM* multi;
    std::vector<std::unique_ptr<Transfer>>& active;
    ~DetachOnExit() {
      for (auto& transfer : active) curl_multi_remove_handle(multi, transfer->easy.get());
    }
  } detach{impl_->multi, active};
  size_t remaining = requests.size();
  const size_t max_in_flight = std::max<size_t>(options_.max_in_flight, 1);

  auto start = [&](size_t index) {
    const HttpRequest& request = requests[index];
    auto transfer = std::make_unique<Transfer>();
    transfer->index = index;
    transfer->max_body_bytes = request.max_body_bytes;
    transfer->easy = impl_->take_easy();
    CURL* easy = transfer->easy.get();
    curl_slist* list = nullptr;
    auto add_header = [&](const std::string& name, const std::string& value) {
      curl_slist* grown = curl_slist_append(list, (name + ": " + value).c_str());
      if (grown == nullptr) {
        curl_slist_free_all(list);
        throw Error(Error::Code::kIO, "out of memory building request headers");
      }
      list = grown;
    };
    for (const auto& [name, value] : request.headers) add_header(name, value);
    if (attempt_headers)
      for (const auto& [name, value] : attempt_headers(index)) add_header(name, value);
    add_header("Expect", "");  // no 100-continue round trip
    transfer->header_list.reset(list);

    curl_easy_setopt(easy, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, transfer->header_list.get());
    if (request.method == "HEAD") curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
    else if (request.method != "GET")
      curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &on_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, transfer.get());
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &on_header);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, transfer.get());
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, transfer->error);
    curl_easy_setopt(easy, CURLOPT_PRIVATE, transfer.get());
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS));
    curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, options_.connect_timeout_ms);
    curl_easy_setopt(easy, CURLOPT_LOW_SPEED_LIMIT, options_.low_speed_bytes_per_second);
    curl_easy_setopt(easy, CURLOPT_LOW_SPEED_TIME, options_.low_speed_seconds);
    curl_easy_setopt(easy, CURLOPT_USERAGENT, "ckptcat");
    // Over TLS, where HTTP/2 may be offered, wait for the connection being
    // set up and multiplex on it rather than opening another per request.
    if (request.url.compare(0, 8, "https://") == 0) curl_easy_setopt(easy, CURLOPT_PIPEWAIT, 1L);
    if (curl_multi_add_handle(impl_->multi, easy) != CURLM_OK)
      throw Error(Error::Code::kIO, "libcurl refused a transfer", request.url);
    ++stats_.attempts;
    ++outcomes[index].attempts;
    active.push_back(std::move(transfer));
  };

  // Decides whether the attempt just ended is final; a retry goes back in
  // the queue after its delay.
  auto finish = [&](Transfer& transfer, CURLcode code) {
    HttpOutcome& outcome = outcomes[transfer.index];
    stats_.body_bytes += transfer.response.body.size();
    std::optional<std::chrono::milliseconds> wait;
    const bool attempts_left = outcome.attempts < std::max(options_.retry.max_attempts, 1);
    if (code == CURLE_OK) {
      long status = 0;
      curl_easy_getinfo(transfer.easy.get(), CURLINFO_RESPONSE_CODE, &status);
      transfer.response.status = status;
      if (is_retryable_status(status) && attempts_left) {
        wait = backoff_delay(outcome.attempts, options_.retry, impl_->random);
        if (auto after = transfer.response.header("retry-after"))
          if (auto asked = parse_retry_after(*after, std::time(nullptr)))
            wait = std::max(*wait, std::min(*asked, options_.retry.max_retry_after));
      } else {
        outcome.response = std::move(transfer.response);
        outcome.error.clear();
      }
    } else if (transfer.too_large) {
      outcome.error = "the response is larger than " +
                      std::to_string(transfer.max_body_bytes) + " bytes";
    } else {
      outcome.error = transfer.error[0] != '\0' ? transfer.error : curl_easy_strerror(code);
      if (is_retryable_transport(code) && attempts_left)
        wait = backoff_delay(outcome.attempts, options_.retry, impl_->random);
    }
    if (wait) {
      ++stats_.retries;
      delayed.emplace(Clock::now() + *wait, transfer.index);
    } else {
      --remaining;
    }
  };

  while (remaining > 0) {
    const auto now = Clock::now();
    while (!delayed.empty() && delayed.top().first <= now) {
      ready.push_back(delayed.top().second);
      delayed.pop();
    }
    while (active.size() < max_in_flight && !ready.empty()) {
      start(ready.front());
      ready.pop_front();
    }
    int running = 0;
    if (curl_multi_perform(impl_->multi, &running) != CURLM_OK)
      throw Error(Error::Code::kIO, "libcurl's multi interface failed");
    int queued = 0;
    while (CURLMsg* message = curl_multi_info_read(impl_->multi, &queued)) {
      if (message->msg != CURLMSG_DONE) continue;
      Transfer* done = nullptr;
      curl_easy_getinfo(message->easy_handle, CURLINFO_PRIVATE, reinterpret_cast<char**>(&done));
      const CURLcode code = message->data.result;
      curl_multi_remove_handle(impl_->multi, message->easy_handle);
      auto owner = std::find_if(active.begin(), active.end(),
                                [&](const auto& transfer) { return transfer.get() == done; });
      std::unique_ptr<Transfer> transfer = std::move(*owner);
      active.erase(owner);
      finish(*transfer, code);
      transfer->header_list.reset();
      impl_->idle.push_back(std::move(transfer->easy));
    }
    if (remaining == 0) break;
    if (!ready.empty() && active.size() < max_in_flight) continue;
    // Sleep until a socket is ready or the next retry is due.
    int timeout_ms = 1000;
    if (!delayed.empty()) {
      const auto due = std::chrono::duration_cast<std::chrono::milliseconds>(
          delayed.top().first - Clock::now());
      timeout_ms = static_cast<int>(std::clamp<int64_t>(due.count(), 0, timeout_ms));
    }
    if (active.empty())
      std::this_thread::sleep_for(std::chrono::milliseconds(timeout_ms));
    else
      curl_multi_poll(impl_->multi, nullptr, 0, timeout_ms, nullptr);
  }
  return outcomes;
}

}  // namespace ckptcat::objstore
