// The per-leaf fields every report shows (export, show, find, diff), read off
// a ckptcat::Leaf whatever typed object it holds: what Orbax's metadata()
// reports (an array's shape and dtype, a scalar's dtype and shape ()), never
// extra data such as a legacy msgpack header.
#pragma once

#include <optional>
#include <string>

#include "ckptcat/checkpoint.h"

namespace ckptcat {

std::optional<std::string> leaf_dtype(const Leaf& leaf);
std::optional<Shape> leaf_shape(const Leaf& leaf);  // () for scalars
std::optional<Shape> leaf_chunk_shape(const Leaf& leaf);
std::optional<Shape> leaf_write_shape(const Leaf& leaf);

// The leaf's sharding in brief (sharding_summary), the raw string when it does
// not parse, "" when it has none.
std::string leaf_sharding_summary(const Leaf& leaf);

// Normalizes a path the way discovery reports folders: absolute (against the
// current folder), lexically normal, without a trailing separator. An s3:// or
// gs:// URL is kept as given, without a trailing "/".
std::string normal_path(const std::string& path);
// Whether `path` is `base` or lies below it, comparing whole path components
// ("/a/bc" is not under "/a/b"). Both must be normal_path()s.
bool path_is_under(const std::string& path, const std::string& base);

}  // namespace ckptcat
