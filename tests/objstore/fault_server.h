// A real HTTP/1.1 server on 127.0.0.1 (a free port) that answers requests in
// turn from a script of faults: error statuses, Retry-After, dropped
// connections, truncated bodies, added latency. For the client's retry tests.
#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "http_fault.h"

namespace ckptcat::testing {

class FaultServer {
 public:
  // Requests beyond the script are answered kOk.
  FaultServer(std::vector<Fault> script, std::string body);
  ~FaultServer();
  FaultServer(const FaultServer&) = delete;
  FaultServer& operator=(const FaultServer&) = delete;

  std::string url(const std::string& path = "/object") const;
  int requests() const { return requests_; }
  // The request heads received, in order.
  std::vector<std::string> heads() const;

 private:
  void serve();
  void answer(int connection, Fault fault);

  std::vector<Fault> script_;
  std::string body_;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  mutable std::mutex mutex_;
  std::vector<std::string> heads_;
  std::thread thread_;
};

}  // namespace ckptcat::testing
