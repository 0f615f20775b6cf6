#include "http_fault.h"

namespace ckptcat::testing {
namespace {

std::string error_document(const std::string& code) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>" + code +
         "</Code><Message>scripted " + code + "</Message></Error>";
}

}  // namespace

std::string http_response(int status, const std::string& reason, const std::string& body,
                          const std::string& extra_headers) {
  return "HTTP/1.1 " + std::to_string(status) + " " + reason + "\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n" + extra_headers + "\r\n" + body;
}

std::string error_answer(Fault fault, const std::string& extra_headers) {
  switch (fault) {
    case Fault::kSlowDown:
      return http_response(503, "Slow Down", error_document("SlowDown"), extra_headers);
    case Fault::kTooManyRetryAfter1:
      return http_response(429, "Too Many Requests", "", "Retry-After: 1\r\n" + extra_headers);
    case Fault::kInternalError:
      return http_response(500, "Internal Server Error", error_document("InternalError"), extra_headers);
    case Fault::kNotFound:
      return http_response(404, "Not Found", error_document("NoSuchKey"), extra_headers);
    case Fault::kForbidden:
      return http_response(403, "Forbidden", error_document("AccessDenied"), extra_headers);
    case Fault::kOk:
    case Fault::kDrop:
    case Fault::kTruncate:
    case Fault::kSlow:
      break;
  }
  return {};
}

}  // namespace ckptcat::testing
