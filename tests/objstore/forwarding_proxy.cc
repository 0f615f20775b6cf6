#include "forwarding_proxy.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <stdexcept>

#include "socket_io.h"

namespace ckptcat::testing {
namespace {

// How long a connection may stay silent: long enough for an idle keep-alive
// client between an import's phases, short enough to end a stuck test.
constexpr std::chrono::seconds kClientIdle{60};
constexpr std::chrono::seconds kUpstreamTimeout{30};

struct Request {
  std::string head;
  std::string body;
  std::string method;
  std::string target;
};

struct Answer {
  std::string head;  // as relayed: hop-by-hop headers dropped, Content-Length set
  std::string body;
  bool upstream_closes = false;
};

int status_of(const std::string& head) {
  const size_t space = head.find(' ');
  return space == std::string::npos ? 0 : std::atoi(head.c_str() + space + 1);
}

// `head` without Connection, Keep-Alive and Transfer-Encoding (this hop's
// business), and with Content-Length: `body_size` unless it answers a HEAD
// (whose Content-Length is the object's size).
std::string relayed_head(const std::string& head, size_t body_size, bool keep_length) {
  std::string out;
  size_t start = 0;
  bool first = true;
  while (start < head.size()) {
    const size_t end = head.find("\r\n", start);
    if (end == std::string::npos || end == start) break;
    const std::string line = head.substr(start, end - start);
    start = end + 2;
    if (!first) {
      const std::string name = ascii_lowercase(line.substr(0, line.find(':')));
      if (name == "connection" || name == "keep-alive" || name == "transfer-encoding") continue;
      if (name == "content-length" && !keep_length) continue;
    }
    first = false;
    out += line + "\r\n";
  }
  if (!keep_length) out += "Content-Length: " + std::to_string(body_size) + "\r\n";
  return out + "\r\n";
}

std::optional<Request> read_request(SocketReader& reader) {
  Request request;
  auto head = reader.read_head();
  if (!head) return std::nullopt;
  request.head = std::move(*head);
  const size_t space = request.head.find(' ');
  const size_t space2 = request.head.find(' ', space + 1);
  if (space == std::string::npos || space2 == std::string::npos) return std::nullopt;
  request.method = request.head.substr(0, space);
  request.target = request.head.substr(space + 1, space2 - space - 1);
  if (const auto length = header_value(request.head, "content-length")) {
    auto body = reader.read_exact(std::stoul(*length));
    if (!body) return std::nullopt;
    request.body = std::move(*body);
  }
  return request;
}

// Reads the upstream's answer to a request made with `method`.
std::optional<Answer> read_answer(SocketReader& reader, const std::string& method, bool* partial) {
  auto head = reader.read_head(partial);
  if (!head) return std::nullopt;
  Answer answer;
  const int status = status_of(*head);
  const auto connection = header_value(*head, "connection");
  answer.upstream_closes = connection && ascii_lowercase(*connection) == "close";
  const bool no_body = method == "HEAD" || status == 204 || status == 304 || status / 100 == 1;
  if (no_body) {
    answer.head = relayed_head(*head, 0, /*keep_length=*/true);
    return answer;
  }
  const auto encoding = header_value(*head, "transfer-encoding");
  std::optional<std::string> body;
  if (encoding && ascii_lowercase(*encoding).find("chunked") != std::string::npos) {
    body = reader.read_chunked();
  } else if (const auto length = header_value(*head, "content-length")) {
    body = reader.read_exact(std::stoul(*length));
  } else {
    body = reader.read_to_end();
    answer.upstream_closes = true;
  }
  if (!body) return std::nullopt;
  answer.body = std::move(*body);
  answer.head = relayed_head(*head, answer.body.size(), /*keep_length=*/false);
  return answer;
}

}  // namespace

ForwardingProxy::ForwardingProxy(const std::string& upstream, ProxyOptions options) {
  const std::string prefix = "http://127.0.0.1:";
  if (upstream.rfind(prefix, 0) != 0) throw std::runtime_error("upstream not on 127.0.0.1: " + upstream);
  upstream_port_ = std::atoi(upstream.c_str() + prefix.size());
  set_options(std::move(options));
  listener_ = listen_on_loopback(port_);
  acceptor_ = std::thread([this] { accept_connections(); });
}

ForwardingProxy::~ForwardingProxy() {
  stop_ = true;
  acceptor_.join();
  std::unique_lock lock(mutex_);
  for (const int socket : open_sockets_) ::shutdown(socket, SHUT_RDWR);
  threads_done_.wait(lock, [this] { return connection_threads_ == 0; });
  ::close(listener_);
}

void ForwardingProxy::set_options(ProxyOptions options) {
  std::lock_guard lock(mutex_);
  rule_matches_.assign(options.rules.size(), 0);
  rule_request_matches_.assign(options.rules.size(), {});
  options_ = std::move(options);
  counts_ = {};
}

ProxyCounts ForwardingProxy::counts() const {
  std::lock_guard lock(mutex_);
  return counts_;
}

void ForwardingProxy::reset_counts() {
  std::lock_guard lock(mutex_);
  counts_ = {};
}

void ForwardingProxy::track(int socket, bool open) {
  std::lock_guard lock(mutex_);
  if (open)
    open_sockets_.insert(socket);
  else
    open_sockets_.erase(socket);
}

Fault ForwardingProxy::fault_for(const std::string& request_key, const std::string& target) {
  std::lock_guard lock(mutex_);
  ++counts_.requests;
  for (size_t i = 0; i < options_.rules.size(); ++i) {
    const FaultRule& rule = options_.rules[i];
    if (target.find(rule.target_contains) == std::string::npos) continue;
    const long match = ++rule_matches_[i];
    const int seen = ++rule_request_matches_[i][request_key];
    const bool applies = (rule.every_nth == 0 || match % rule.every_nth == 0) &&
                         (rule.first_per_request == 0 || seen <= rule.first_per_request);
    if (!applies) continue;
    if (rule.fault != Fault::kOk) ++counts_.faults;
    return rule.fault;
  }
  return Fault::kOk;
}

void ForwardingProxy::accept_connections() {
  while (!stop_) {
    pollfd ready{listener_, POLLIN, 0};
    if (::poll(&ready, 1, 50) <= 0) continue;
    const int client = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    {
      std::lock_guard lock(mutex_);
      open_sockets_.insert(client);
      ++connection_threads_;
    }
    // Detached: the destructor waits for connection_threads_ to reach 0.
    std::thread([this, client] {
      try {
        serve_connection(client);
      } catch (const std::exception&) {
        // A malformed message (a length that does not parse): end this connection only.
      }
      std::lock_guard lock(mutex_);
      open_sockets_.erase(client);
      ::close(client);
      if (--connection_threads_ == 0) threads_done_.notify_all();
    }).detach();
  }
}

void ForwardingProxy::serve_connection(int client) {
  SocketReader from_client(client, kClientIdle);
  int upstream = -1;
  std::optional<SocketReader> from_upstream;
  auto close_upstream = [&] {
    if (upstream < 0) return;
    track(upstream, false);
    ::close(upstream);
    upstream = -1;
    from_upstream.reset();
  };
  // Sends the request upstream and reads the answer; a reused connection the
  // upstream closed meanwhile (its keep-alive timeout) is replaced once.
  auto exchange = [&](const Request& request) -> std::optional<Answer> {
    for (int attempt = 0; attempt < 2; ++attempt) {
      const bool reused = upstream >= 0;
      if (!reused) {
        upstream = connect_to_loopback(upstream_port_);
        if (upstream < 0) return std::nullopt;
        track(upstream, true);
        from_upstream.emplace(upstream, kUpstreamTimeout);
      }
      bool partial = false;
      std::optional<Answer> answer;
      if (send_all(upstream, request.head + request.body))
        answer = read_answer(*from_upstream, request.method, &partial);
      if (answer) {
        if (answer->upstream_closes) close_upstream();
        return answer;
      }
      close_upstream();
      if (!reused || partial) return std::nullopt;
    }
    return std::nullopt;
  };

  while (!stop_) {
    const auto request = read_request(from_client);
    if (!request) break;
    const Fault fault = fault_for(
        request->method + " " + request->target + " " + header_value(request->head, "range").value_or(""),
        request->target);
    std::chrono::milliseconds latency;
    {
      std::lock_guard lock(mutex_);
      counts_.max_in_flight = std::max(counts_.max_in_flight, ++in_flight_);
      latency = options_.latency;
    }
    if (latency.count() > 0) std::this_thread::sleep_for(latency);
    if (fault == Fault::kSlow) std::this_thread::sleep_for(std::chrono::milliseconds(200));

    bool keep_open = true;
    const std::string error = error_answer(fault);
    if (!error.empty()) {
      keep_open = send_all(client, error);
    } else if (fault == Fault::kDrop) {
      keep_open = false;
    } else if (const auto answer = exchange(*request)) {
      if (fault == Fault::kTruncate && !answer->body.empty()) {
        // The whole length announced, half the body sent, then closed.
        send_all(client, answer->head + answer->body.substr(0, answer->body.size() / 2));
        keep_open = false;
      } else if (fault == Fault::kTruncate) {
        keep_open = false;  // nothing to cut: a drop instead
      } else {
        keep_open = send_all(client, answer->head + answer->body);
      }
    } else {
      send_all(client, http_response(502, "Bad Gateway", "upstream failed\n"));
      keep_open = false;
    }
    const auto connection = header_value(request->head, "connection");
    if (connection && ascii_lowercase(*connection) == "close") keep_open = false;
    {
      std::lock_guard lock(mutex_);
      --in_flight_;
    }
    if (!keep_open) break;
  }
  close_upstream();
}

}  // namespace ckptcat::testing
