// ObjectStore: one bucket and prefix of an object store (S3, GCS's XML API,
// S3-compatible stores) as a Store (store.h), over objstore::ObjectStoreClient.
//
// Every location must lie below the mounted root ("s3://bucket/prefix"), and
// the part below it must pass relative_name_problem (item_path.h): a key with
// "..", "." or empty segments, a backslash or a control byte is refused before
// any request, so names from metadata never reach outside the imported prefix.
//
// Listings are kept: a stat of a file whose folder was listed costs no
// request, and a read of it whole takes its size from the listing (checked
// against the caller's bound before anything is allocated), then fetches an
// explicit byte range.
//
// Reader threads share the store; each request takes a client from a pool
// (made on demand by `make_client`), so threads do not wait on each other.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "object_store_client.h"
#include "store.h"

namespace ckptcat::storage {

class ObjectStore final : public Store {
 public:
  using ClientFactory = std::function<std::unique_ptr<objstore::ObjectStoreClient>()>;

  // `root`: the imported URL (its key a prefix, without trailing "/", or empty).
  ObjectStore(objstore::ObjectUrl root, ClientFactory make_client);

  const std::string& root() const { return root_location_; }

  Listing list(const std::string& folder) override;
  std::optional<Entry> stat(const std::string& file) override;
  std::unique_ptr<RandomAccessFile> open(const std::string& file) override;
  void read_bounded(const std::string& file, std::string& out, uint64_t max_bytes) override;

  // The object key of `location`; Error kInvalid naming it when it is not
  // below the root or its relative part is refused (see above).
  std::string key_of(const std::string& location) const;

  // Requests made so far, over every client of the pool.
  objstore::HttpStats stats() const;
  uint64_t gets() const { return gets_; }    // object reads (GET of content)
  uint64_t lists() const { return lists_; }  // folder listings (each may be several pages)
  uint64_t heads() const { return heads_; }  // stats without a listing to answer them

  // Drops the kept listings (a later import sees changes).
  void forget_listings();

 private:
  class Lease;
  std::unique_ptr<objstore::ObjectStoreClient> acquire();
  void release(std::unique_ptr<objstore::ObjectStoreClient> client);
  std::string read_range(const std::string& location, const std::string& key, uint64_t offset,
                         uint64_t length);
  friend class ObjectFile;

  objstore::ObjectUrl root_;
  std::string root_location_;  // root_.to_string() without a trailing "/"
  std::string root_key_;       // root_.key without a trailing "/"
  ClientFactory make_client_;

  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<objstore::ObjectStoreClient>> idle_;
  objstore::HttpStats retired_stats_;                      // of clients no longer pooled
  std::vector<objstore::ObjectStoreClient*> all_clients_;  // owned by idle_ or a lease
  std::map<std::string, std::shared_ptr<const Listing>> listings_;  // by folder key
  std::atomic<uint64_t> gets_{0}, lists_{0}, heads_{0};
};

}  // namespace ckptcat::storage
