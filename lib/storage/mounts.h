// Mounts: which Store serves a location. Local paths are served by the local
// store; an object URL by the ObjectStore mounted for its bucket and prefix
// (the importer mounts one per s3:// or gs:// path it is given). Readers ask
// here instead of checking URLs themselves.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "store.h"

namespace ckptcat::storage {

// Whether `location` is an object URL (s3:// or gs://) rather than a path.
bool is_url(std::string_view location);

// Serves every location equal to `root` or below `root` + "/" (`root`: an
// object URL without a trailing "/"). A later mount of the same root replaces
// the earlier one. Thread-safe.
void mount(const std::string& root, std::shared_ptr<Store> store);
void unmount(const std::string& root);

// The store serving `location`: the local store for a path, the mounted store
// with the longest root covering a URL. Throws Error kInvalid naming the
// location for a URL no mount covers (nothing is ever read outside an
// imported prefix).
Store& store_for(std::string_view location);

// `location` as the catalog names it: an object URL as given (without a
// trailing "/"), a path made absolute and lexically normal (URLs must not be:
// that would turn "s3://b" into "s3:/b").
std::string normal_location(const std::string& location);

// The local store (local_store.h), shared by every path.
Store& local_store();

}  // namespace ckptcat::storage
