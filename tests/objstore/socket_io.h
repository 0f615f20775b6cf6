// Plain TCP on 127.0.0.1 for the test servers (FaultServer, ForwardingProxy):
// a listener on a free port, a connection to a port, sending everything, and
// reading HTTP/1.1 messages (heads, Content-Length and chunked bodies) with
// a timeout.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace ckptcat::testing {

// A listening socket on 127.0.0.1 with a free port (stored in `port`);
// throws std::runtime_error when there is none.
int listen_on_loopback(int& port);

// A connected socket to 127.0.0.1:`port`, or -1.
int connect_to_loopback(int port);

// Sends all of `data`; false when the peer is gone.
bool send_all(int connection, const std::string& data);

// Reads from one socket, keeping what was read past the message asked for.
class SocketReader {
 public:
  SocketReader(int socket, std::chrono::milliseconds timeout) : socket_(socket), timeout_(timeout) {}

  // Up to and including the blank line; nullopt when the peer closed or timed
  // out first (`partial` says whether some bytes had come).
  std::optional<std::string> read_head(bool* partial = nullptr);
  // Exactly `size` bytes, or nullopt.
  std::optional<std::string> read_exact(size_t size);
  // A chunked body, decoded; nullopt when cut short.
  std::optional<std::string> read_chunked();
  // Everything until the peer closes.
  std::string read_to_end();

 private:
  bool fill();  // reads more; false on close, error or timeout
  std::optional<std::string> read_line();

  int socket_;
  std::chrono::milliseconds timeout_;
  std::string buffer_;
};

// `text` with ASCII letters in lowercase (header names and tokens).
std::string ascii_lowercase(std::string text);

// The value of header `lowercase_name` in an HTTP head, or nullopt.
std::optional<std::string> header_value(const std::string& head, const std::string& lowercase_name);

}  // namespace ckptcat::testing
