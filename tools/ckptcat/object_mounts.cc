// ObjectMounts (object_mounts.h).
#include "object_mounts.h"

#include "format.h"
#include "mounts.h"

namespace ckptcat::cli {

void add_object_store_options(CLI::App& cmd, ObjectStoreArgs& args) {
  cmd.add_flag("--no-sign-request", args.no_sign_request,
               "read s3:// and gs:// locations anonymously (public buckets)");
  cmd.add_option("--endpoint-url", args.endpoint_url,
                 "object-store endpoint for s3:// and gs:// locations (default: AWS_ENDPOINT_URL_S3, "
                 "AWS_ENDPOINT_URL, STORAGE_EMULATOR_HOST, else the store's own)")
      ->type_name("URL");
  cmd.add_option("--in-flight", args.in_flight,
                 "HTTP requests in flight per reader thread on object stores (default 64)")
      ->check(CLI::Range(size_t{1}, size_t{1024}))
      ->type_name("N");
}

ObjectMounts::ObjectMounts(const std::vector<std::string>& roots, const ObjectStoreArgs& args) {
  objstore::EnvLookup env = objstore::process_environment();
  if (!args.endpoint_url.empty())
    env = [base = env, endpoint = args.endpoint_url](const std::string& name) -> std::optional<std::string> {
      if (name == "AWS_ENDPOINT_URL" || name == "AWS_ENDPOINT_URL_S3" || name == "STORAGE_EMULATOR_HOST")
        return endpoint;
      return base(name);
    };
  objstore::ObjectStoreOptions options;
  options.http.max_in_flight = args.in_flight;
  for (const auto& root : roots) {
    if (!storage::is_url(root)) continue;
    const objstore::ObjectUrl url = objstore::parse_object_url(root);
    const bool no_sign = args.no_sign_request;
    auto store = std::make_shared<storage::ObjectStore>(url, [url, env, no_sign, options] {
      return std::make_unique<objstore::ObjectStoreClient>(
          objstore::ObjectStoreClient::from_environment(url, env, no_sign, options));
    });
    storage::mount(store->root(), store);
    stores_.push_back(std::move(store));
  }
}

ObjectMounts::~ObjectMounts() {
  for (const auto& store : stores_) storage::unmount(store->root());
}

void ObjectMounts::print_requests(std::ostream& out) const {
  for (const auto& store : stores_) {
    const auto stats = store->stats();
    out << store->root() << ": " << with_commas(store->lists()) << " listings, "
        << with_commas(store->heads()) << " HEADs, " << with_commas(store->gets()) << " GETs ("
        << with_commas(stats.attempts) << " HTTP requests, " << with_commas(stats.retries)
        << " retries, " << with_commas(stats.body_bytes) << " bytes received)\n";
  }
}

}  // namespace ckptcat::cli
