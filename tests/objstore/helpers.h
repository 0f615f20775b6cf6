// What the object-store tests need from outside: running a helper program
// (botocore, boto3) and a real S3-compatible server (s3rver from
// tests/s3/node_modules) started on 127.0.0.1 with a free port.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "shared_data.h"

namespace ckptcat::testing {

struct ProcessResult {
  int status = -1;  // exit code; 128 + signal when killed
  std::string out;
};

// tests/s3 ($CKPTCAT_S3_DIR): the helper scripts and s3rver's node_modules.
std::filesystem::path s3_dir();

// Runs `argv` with `input` on its stdin; stderr is left on the test's.
ProcessResult run_process(const std::vector<std::string>& argv, const std::string& input = {});

// $CKPTCAT_PYTHON when it can import boto3 and botocore; otherwise nullopt and
// `why` says what is missing.
std::optional<std::string> python_with_boto3(std::string* why);

// Prints "SKIP: <what>: <why>" on stderr (tools/test lists these lines).
void skip_case(const std::string& what, const std::string& why);

class S3rver {
 public:
  // Why no server can be started (node or tests/s3/node_modules missing), or
  // nullopt when it can.
  static std::optional<std::string> unavailable();

  // Starts s3rver with the given buckets, data in a fresh temporary folder;
  // throws std::runtime_error when it does not come up.
  explicit S3rver(const std::vector<std::string>& buckets);
  ~S3rver();
  S3rver(const S3rver&) = delete;
  S3rver& operator=(const S3rver&) = delete;

  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // Uploads every file under `folder` as `prefix` + relative path with boto3;
  // with `folder_markers` also an empty "<folder>/" object per folder, which
  // s3rver's delimiter listings need to show folders holding only folders
  // (tests/s3/upload.py).
  void upload(const std::filesystem::path& folder, const std::string& bucket,
              const std::string& prefix, bool folder_markers = false) const;

 private:
  TempDir data_dir_;  // the server's data and log
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace ckptcat::testing
