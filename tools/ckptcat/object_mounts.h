// The object stores of the s3:// and gs:// locations a command reads,
// mounted (storage/mounts.h) while it runs, with the options import and
// verify share: --no-sign-request, --endpoint-url, --in-flight.
#pragma once

#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "cli.h"
#include "object_store.h"

namespace ckptcat::cli {

struct ObjectStoreArgs {
  bool no_sign_request = false;
  std::string endpoint_url;  // for every URL; else from the environment
  size_t in_flight = 64;     // HTTP requests in flight per client
};

void add_object_store_options(CLI::App& cmd, ObjectStoreArgs& args);

class ObjectMounts {
 public:
  // Mounts one store per URL of `roots` (paths are skipped). Throws Error
  // kInvalid for a malformed URL.
  ObjectMounts(const std::vector<std::string>& roots, const ObjectStoreArgs& args);
  ~ObjectMounts();
  ObjectMounts(const ObjectMounts&) = delete;
  ObjectMounts& operator=(const ObjectMounts&) = delete;

  // One line per store: what the command cost in requests.
  void print_requests(std::ostream& out) const;

 private:
  std::vector<std::shared_ptr<storage::ObjectStore>> stores_;
};

}  // namespace ckptcat::cli
