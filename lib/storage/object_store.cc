// ObjectStore (object_store.h).
#include "object_store.h"

#include <algorithm>

#include "ckptcat/error.h"
#include "item_path.h"

namespace ckptcat::storage {
namespace {

std::string without_trailing_slash(std::string s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

// The folder part and the name of a key ("a/b/c" -> "a/b", "c").
std::pair<std::string, std::string> split_key(const std::string& key) {
  const size_t slash = key.rfind('/');
  if (slash == std::string::npos) return {"", key};
  return {key.substr(0, slash), key.substr(slash + 1)};
}

}  // namespace

// Returns its client to the pool whatever happens.
class ObjectStore::Lease {
 public:
  explicit Lease(ObjectStore& store) : store_(store), client_(store.acquire()) {}
  ~Lease() { store_.release(std::move(client_)); }
  objstore::ObjectStoreClient* operator->() { return client_.get(); }

 private:
  ObjectStore& store_;
  std::unique_ptr<objstore::ObjectStoreClient> client_;
};

class ObjectFile final : public RandomAccessFile {
 public:
  ObjectFile(ObjectStore& store, std::string location, std::string key, uint64_t size)
      : store_(store), location_(std::move(location)), key_(std::move(key)), size_(size) {}
  uint64_t size() const override { return size_; }
  const std::string& name() const override { return location_; }
  void read_at(uint64_t offset, char* to, uint64_t n) const override {
    if (offset > size_ || n > size_ - offset)
      throw Error(Error::Code::kCorruption,
                  "read of " + std::to_string(n) + " bytes at " + std::to_string(offset) +
                      " lies beyond the end of the " + std::to_string(size_) + "-byte object",
                  location_, offset);
    if (n == 0) return;
    const std::string bytes = store_.read_range(location_, key_, offset, n);
    std::copy(bytes.begin(), bytes.end(), to);
  }

 private:
  ObjectStore& store_;
  std::string location_, key_;
  uint64_t size_;
};

ObjectStore::ObjectStore(objstore::ObjectUrl root, ClientFactory make_client)
    : root_(std::move(root)), make_client_(std::move(make_client)) {
  root_key_ = without_trailing_slash(root_.key);
  root_location_ = without_trailing_slash(root_.to_string());
}

std::unique_ptr<objstore::ObjectStoreClient> ObjectStore::acquire() {
  {
    std::lock_guard lock(mutex_);
    if (!idle_.empty()) {
      auto client = std::move(idle_.back());
      idle_.pop_back();
      return client;
    }
  }
  auto client = make_client_();
  std::lock_guard lock(mutex_);
  all_clients_.push_back(client.get());
  return client;
}

void ObjectStore::release(std::unique_ptr<objstore::ObjectStoreClient> client) {
  std::lock_guard lock(mutex_);
  idle_.push_back(std::move(client));
}

objstore::HttpStats ObjectStore::stats() const {
  std::lock_guard lock(mutex_);
  objstore::HttpStats total = retired_stats_;
  for (const auto* c : all_clients_) {
    total.attempts += c->stats().attempts;
    total.retries += c->stats().retries;
    total.body_bytes += c->stats().body_bytes;
  }
  return total;
}

void ObjectStore::forget_listings() {
  std::lock_guard lock(mutex_);
  listings_.clear();
}

std::string ObjectStore::key_of(const std::string& location) const {
  std::string_view rest(location);
  if (rest == root_location_) return root_key_;
  if (!rest.starts_with(root_location_) || rest.size() <= root_location_.size() ||
      rest[root_location_.size()] != '/')
    throw Error(Error::Code::kInvalid, "outside the imported prefix " + root_location_ + "; not read",
                location);
  rest.remove_prefix(root_location_.size() + 1);
  if (const auto why = relative_name_problem(rest))
    throw Error(Error::Code::kInvalid, escape_message("object key", rest, *why), location);
  return root_key_.empty() ? std::string(rest) : root_key_ + "/" + std::string(rest);
}

Listing ObjectStore::list(const std::string& folder) {
  const std::string key = key_of(folder);
  {
    std::lock_guard lock(mutex_);
    if (const auto it = listings_.find(key); it != listings_.end()) return *it->second;
  }
  const std::string prefix = key.empty() ? "" : key + "/";
  objstore::ObjectListing raw;
  {
    Lease client(*this);
    raw = client->list(prefix, '/');
  }
  ++lists_;
  Listing out;
  for (auto& object : raw.objects) {
    std::string name = object.key.substr(prefix.size());
    // Keys that are not names of one level ("a//b", "x/", "..") are no
    // files of this folder: never listed, never read.
    if (name.empty() || relative_name_problem(name) || name.find('/') != std::string::npos) continue;
    out.files.push_back({std::move(name), object.size, std::move(object.etag), object.mtime_ns});
  }
  for (const auto& p : raw.prefixes) {
    std::string name = without_trailing_slash(p.substr(std::min(prefix.size(), p.size())));
    if (name.empty() || relative_name_problem(name) || name.find('/') != std::string::npos) continue;
    out.folders.push_back(std::move(name));
  }
  std::sort(out.files.begin(), out.files.end(),
            [](const Entry& a, const Entry& b) { return a.name < b.name; });
  std::sort(out.folders.begin(), out.folders.end());
  std::lock_guard lock(mutex_);
  listings_[key] = std::make_shared<const Listing>(out);
  return out;
}

std::optional<Entry> ObjectStore::stat(const std::string& file) {
  const std::string key = key_of(file);
  const auto [folder, name] = split_key(key);
  {
    std::lock_guard lock(mutex_);
    if (const auto it = listings_.find(folder); it != listings_.end()) {
      const auto& files = it->second->files;
      const auto found = std::lower_bound(files.begin(), files.end(), name,
                                          [](const Entry& e, const std::string& n) { return e.name < n; });
      if (found == files.end() || found->name != name) return std::nullopt;
      Entry e = *found;
      e.name = file;
      return e;
    }
  }
  std::optional<objstore::ObjectStat> st;
  {
    Lease client(*this);
    st = client->stat(key);
  }
  ++heads_;
  if (!st) return std::nullopt;
  return Entry{file, st->size, st->etag, st->mtime_ns};
}

std::unique_ptr<RandomAccessFile> ObjectStore::open(const std::string& file) {
  const auto st = stat(file);
  if (!st) throw Error(Error::Code::kNotFound, "file not found", file);
  return std::make_unique<ObjectFile>(*this, file, key_of(file), st->size);
}

void ObjectStore::read_bounded(const std::string& file, std::string& out, uint64_t max_bytes) {
  const auto st = stat(file);
  if (!st) throw Error(Error::Code::kNotFound, "file not found", file);
  if (st->size > max_bytes)
    throw Error(Error::Code::kInvalid,
                "file is " + std::to_string(st->size) + " bytes, over the " +
                    std::to_string(max_bytes) + "-byte limit for metadata files",
                file);
  out = st->size == 0 ? std::string() : read_range(file, key_of(file), 0, st->size);
}

std::string ObjectStore::read_range(const std::string& location, const std::string& key,
                                    uint64_t offset, uint64_t length) {
  std::string bytes;
  try {
    Lease client(*this);
    bytes = client->read(key, objstore::ByteRange{offset, length});
  } catch (const Error& e) {
    // Name the object by its URL, as the catalog does.
    throw Error(e.code(), e.message(), location, e.offset());
  }
  ++gets_;
  if (bytes.size() != length)
    throw Error(Error::Code::kCorruption,
                "the store returned " + std::to_string(bytes.size()) + " bytes for a range of " +
                    std::to_string(length),
                location, offset);
  return bytes;
}

}  // namespace ckptcat::storage
