// A real HTTP/1.1 forwarding proxy on 127.0.0.1 (a free port) in front of an
// upstream server on 127.0.0.1 (s3rver): every request is forwarded and the
// answer relayed, after an added latency, unless a fault rule answers
// instead (503 SlowDown, 429 with Retry-After, 500, a dropped connection, a
// truncated body). Keep-alive on both sides: one upstream connection per
// client connection, one thread per client connection. Bodies are relayed
// with Content-Length (chunked answers are decoded first). For the fault
// tests and the object-store benchmark.
#pragma once

#include <atomic>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "http_fault.h"

namespace ckptcat::testing {

// Which requests a fault is applied to: those whose target (path and query)
// contains `target_contains`; of them every `every_nth` one (counted over all
// requests the rule sees; 0: each), and only while the same request (method,
// target and Range) has been seen at most `first_per_request` times (0: no
// limit). With both, a request meets each rule's fault at most that often,
// so faults that end can be combined.
struct FaultRule {
  Fault fault = Fault::kOk;
  std::string target_contains;
  int every_nth = 0;
  int first_per_request = 0;
  static constexpr int kAlways = INT_MAX;  // first_per_request: every time
};

struct ProxyOptions {
  std::chrono::milliseconds latency{0};  // before every answer, faults included
  std::vector<FaultRule> rules;          // the first rule that applies wins
};

struct ProxyCounts {
  long requests = 0;      // received from clients
  long faults = 0;        // answered by a fault rule instead of the upstream
  long max_in_flight = 0; // requests being handled at once, at most
};

class ForwardingProxy {
 public:
  // `upstream` is "http://127.0.0.1:PORT" (S3rver::endpoint()).
  explicit ForwardingProxy(const std::string& upstream, ProxyOptions options = {});
  ~ForwardingProxy();
  ForwardingProxy(const ForwardingProxy&) = delete;
  ForwardingProxy& operator=(const ForwardingProxy&) = delete;

  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // Replaces the latency and the rules (and their counters) for the
  // requests that follow, and zeroes the counts.
  void set_options(ProxyOptions options);
  ProxyCounts counts() const;
  void reset_counts();

 private:
  void accept_connections();
  void serve_connection(int client);
  Fault fault_for(const std::string& request_key, const std::string& target);
  void track(int socket, bool open);

  int upstream_port_ = 0;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};

  mutable std::mutex mutex_;  // everything below
  ProxyOptions options_;
  std::vector<long> rule_matches_;
  std::vector<std::map<std::string, int>> rule_request_matches_;
  ProxyCounts counts_;
  long in_flight_ = 0;
  std::set<int> open_sockets_;  // shut down by the destructor
  int connection_threads_ = 0;
  std::condition_variable threads_done_;

  std::thread acceptor_;
};

}  // namespace ckptcat::testing
