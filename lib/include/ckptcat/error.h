// Errors carried as exceptions with context: which file, where in it, and what
// was wrong. Every layer throws ckptcat::Error (or a subclass) so callers can
// report a precise message and decide whether to degrade or give up.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

namespace ckptcat {

class Error : public std::runtime_error {
 public:
  enum class Code {
    kNotFound,      // a file or key that must exist is missing
    kCorruption,    // checksum, magic or structural violation in stored bytes
    kUnsupported,   // a newer or unknown format version, compression or kind
    kInvalid,       // well-formed bytes whose content breaks a rule (bad JSON value, ...)
    kIO,            // the operating system refused a read
    kCatalog,       // SQLite or schema problem in the catalog
  };

  Error(Code code, std::string message, std::string file = {},
        std::optional<uint64_t> offset = std::nullopt);

  Code code() const noexcept { return code_; }
  // The bare message, without file and offset.
  const std::string& message() const noexcept { return message_; }
  const std::string& file() const noexcept { return file_; }
  const std::optional<uint64_t>& offset() const noexcept { return offset_; }

  // A copy of this error that names `file` (when it had none yet).
  Error with_file(const std::string& file) const;

 private:
  Code code_;
  std::string message_;
  std::string file_;
  std::optional<uint64_t> offset_;
};

const char* to_string(Error::Code code) noexcept;

}  // namespace ckptcat
