#include "fault_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>

namespace ckptcat::testing {
namespace {

void send_all(int connection, const std::string& data) {
  size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t n = ::send(connection, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return;
    sent += static_cast<size_t>(n);
  }
}

std::string response(int status, const std::string& reason, const std::string& body,
                     const std::string& extra_headers = {}) {
  return "HTTP/1.1 " + std::to_string(status) + " " + reason + "\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\nConnection: close\r\n" + extra_headers + "\r\n" + body;
}

std::string error_document(const std::string& code) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>" + code +
         "</Code><Message>scripted " + code + "</Message></Error>";
}

}  // namespace

FaultServer::FaultServer(std::vector<Fault> script, std::string body)
    : script_(std::move(script)), body_(std::move(body)) {
  listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listener_ < 0) throw std::runtime_error("socket failed");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t size = sizeof address;
  if (::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(listener_, 64) != 0 ||
      ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &size) != 0) {
    ::close(listener_);
    throw std::runtime_error("cannot listen on 127.0.0.1");
  }
  port_ = ntohs(address.sin_port);
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
      return send_all(connection, response(200, "OK", body_, "ETag: \"e\"\r\n"));
    case Fault::kSlow:
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      return send_all(connection, response(200, "OK", body_));
    case Fault::kSlowDown:
      return send_all(connection, response(503, "Slow Down", error_document("SlowDown")));
    case Fault::kTooManyRetryAfter1:
      return send_all(connection, response(429, "Too Many Requests", "", "Retry-After: 1\r\n"));
    case Fault::kInternalError:
      return send_all(connection, response(500, "Internal Server Error", error_document("InternalError")));
    case Fault::kDrop:
      return;
    case Fault::kTruncate: {
      const std::string whole = response(200, "OK", body_);
      return send_all(connection, whole.substr(0, whole.size() - body_.size() / 2));
    }
    case Fault::kNotFound:
      return send_all(connection, response(404, "Not Found", error_document("NoSuchKey")));
    case Fault::kForbidden:
      return send_all(connection, response(403, "Forbidden", error_document("AccessDenied")));
  }
}

}  // namespace ckptcat::testing
