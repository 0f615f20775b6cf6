// The faults the object-store tests inject into HTTP answers (FaultServer
// scripts them; ForwardingProxy applies them to forwarded requests), and the
// answers that stand for them.
#pragma once

#include <string>

namespace ckptcat::testing {

enum class Fault {
  kOk,              // 200 with the body (the proxy: the upstream's answer)
  kSlowDown,        // 503 with an S3 SlowDown error document
  kTooManyRetryAfter1,  // 429 with Retry-After: 1
  kInternalError,   // 500
  kDrop,            // closes the connection without answering
  kTruncate,        // announces the whole body, sends half, closes
  kNotFound,        // 404 with a NoSuchKey document
  kForbidden,       // 403 AccessDenied
  kSlow,            // 200 after 200 ms
};

// "HTTP/1.1 STATUS REASON" with Content-Length, `extra_headers` (each ending
// in CRLF) and the body.
std::string http_response(int status, const std::string& reason, const std::string& body,
                          const std::string& extra_headers = {});

// The whole answer for an error fault (503, 429, 500, 404, 403), with an S3
// error document where S3 sends one, and `extra_headers`; empty for the others.
std::string error_answer(Fault fault, const std::string& extra_headers = {});

}  // namespace ckptcat::testing
