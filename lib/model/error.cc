#include "ckptcat/error.h"

namespace ckptcat {
namespace {

std::string describe(Error::Code code, const std::string& message, const std::string& file,
                     const std::optional<uint64_t>& offset) {
  std::string text;
  if (!file.empty()) text += file + ": ";
  if (offset) text += "at offset " + std::to_string(*offset) + ": ";
  text += to_string(code);
  text += ": ";
  text += message;
  return text;
}

}  // namespace

Error::Error(Code code, std::string message, std::string file, std::optional<uint64_t> offset)
    : std::runtime_error(describe(code, message, file, offset)),
      code_(code),
      message_(std::move(message)),
      file_(std::move(file)),
      offset_(offset) {}

Error Error::with_file(const std::string& file) const {
  if (!file_.empty()) return *this;
  return Error(code_, message_, file, offset_);
}

const char* to_string(Error::Code code) noexcept {
  switch (code) {
    case Error::Code::kNotFound: return "not found";
    case Error::Code::kCorruption: return "corrupt";
    case Error::Code::kUnsupported: return "unsupported";
    case Error::Code::kInvalid: return "invalid";
    case Error::Code::kIO: return "I/O error";
    case Error::Code::kCatalog: return "catalog error";
  }
  return "error";
}

}  // namespace ckptcat
