#include "fault_server.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>

#include "socket_io.h"

namespace ckptcat::testing {
namespace {

constexpr const char* kClose = "Connection: close\r\n";

}  // namespace

FaultServer::FaultServer(std::vector<Fault> script, std::string body)
    : script_(std::move(script)), body_(std::move(body)) {
  listener_ = listen_on_loopback(port_);
  thread_ = std::thread([this] { serve(); });
}

FaultServer::~FaultServer() {
  stop_ = true;
  thread_.join();
  ::close(listener_);
}

std::string FaultServer::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

std::vector<std::string> FaultServer::heads() const {
  std::lock_guard lock(mutex_);
  return heads_;
}

void FaultServer::serve() {
  while (!stop_) {
    pollfd ready{listener_, POLLIN, 0};
    if (::poll(&ready, 1, 50) <= 0) continue;
    const int connection = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (connection < 0) continue;
    std::string head;
    char buffer[4096];
    while (head.find("\r\n\r\n") == std::string::npos && head.size() < 65536) {
      pollfd readable{connection, POLLIN, 0};
      if (::poll(&readable, 1, 2000) <= 0) break;
      const ssize_t n = ::recv(connection, buffer, sizeof buffer, 0);
      if (n <= 0) break;
      head.append(buffer, static_cast<size_t>(n));
    }
    const int index = requests_++;
    {
      std::lock_guard lock(mutex_);
      heads_.push_back(head);
    }
    answer(connection, static_cast<size_t>(index) < script_.size() ? script_[index] : Fault::kOk);
    ::close(connection);
  }
}

void FaultServer::answer(int connection, Fault fault) {
  switch (fault) {
    case Fault::kOk:
      send_all(connection, http_response(200, "OK", body_, std::string(kClose) + "ETag: \"e\"\r\n"));
      return;
    case Fault::kSlow:
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      send_all(connection, http_response(200, "OK", body_, kClose));
      return;
    case Fault::kDrop:
      return;
    case Fault::kTruncate: {
      const std::string whole = http_response(200, "OK", body_, kClose);
      send_all(connection, whole.substr(0, whole.size() - body_.size() / 2));
      return;
    }
    case Fault::kSlowDown:
    case Fault::kTooManyRetryAfter1:
    case Fault::kInternalError:
    case Fault::kNotFound:
    case Fault::kForbidden:
      send_all(connection, error_answer(fault, kClose));
      return;
  }
}

}  // namespace ckptcat::testing
