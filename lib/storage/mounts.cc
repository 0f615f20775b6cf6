// Mounts (mounts.h).
#include "mounts.h"

#include <filesystem>
#include <map>
#include <mutex>

#include "ckptcat/error.h"
#include "local_store.h"

namespace ckptcat::storage {
namespace {

struct MountTable {
  std::mutex mutex;
  std::map<std::string, std::shared_ptr<Store>, std::less<>> stores;  // by root
};

MountTable& table() {
  static MountTable t;
  return t;
}

}  // namespace

bool is_url(std::string_view location) {
  return location.starts_with("s3://") || location.starts_with("gs://");
}

void mount(const std::string& root, std::shared_ptr<Store> store) {
  std::lock_guard lock(table().mutex);
  table().stores[root] = std::move(store);
}

void unmount(const std::string& root) {
  std::lock_guard lock(table().mutex);
  table().stores.erase(root);
}

Store& store_for(std::string_view location) {
  if (!is_url(location)) return local_store();
  std::lock_guard lock(table().mutex);
  Store* best = nullptr;
  size_t best_length = 0;
  for (const auto& [root, store] : table().stores) {
    const bool covers = location == root || (location.starts_with(root) && location.size() > root.size() &&
                                             location[root.size()] == '/');
    if (covers && root.size() >= best_length) {
      best = store.get();
      best_length = root.size();
    }
  }
  if (!best)
    throw Error(Error::Code::kInvalid, "outside every imported bucket and prefix; not read",
                std::string(location));
  return *best;
}

std::string normal_location(const std::string& location) {
  std::string out;
  if (is_url(location)) {
    out = location;
  } else {
    std::error_code ec;
    const auto absolute = std::filesystem::absolute(location, ec);
    out = (ec ? std::filesystem::path(location) : absolute).lexically_normal().string();
  }
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

Store& local_store() {
  static LocalStore store;
  return store;
}

}  // namespace ckptcat::storage
