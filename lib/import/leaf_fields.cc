// Per-leaf fields for reports (ckptcat/leaf_fields.h).
#include "ckptcat/leaf_fields.h"

#include <filesystem>

namespace ckptcat {

namespace {
const ArrayMetadata* array_of(const Leaf& leaf) { return std::get_if<ArrayMetadata>(&leaf.metadata); }
}  // namespace

std::optional<std::string> leaf_dtype(const Leaf& leaf) {
  if (const auto* a = array_of(leaf)) return a->dtype;
  if (const auto* s = std::get_if<ScalarMetadata>(&leaf.metadata)) return s->dtype;
  return std::nullopt;
}

std::optional<Shape> leaf_shape(const Leaf& leaf) {
  if (const auto* a = array_of(leaf)) return a->shape;
  if (std::holds_alternative<ScalarMetadata>(leaf.metadata)) return Shape{};
  return std::nullopt;
}

std::optional<Shape> leaf_chunk_shape(const Leaf& leaf) {
  const auto* a = array_of(leaf);
  if (!a || !a->storage) return std::nullopt;
  return a->storage->chunk_shape;
}

std::optional<Shape> leaf_write_shape(const Leaf& leaf) {
  const auto* a = array_of(leaf);
  if (!a || !a->storage) return std::nullopt;
  return a->storage->write_shape;
}

std::string leaf_sharding_summary(const Leaf& leaf) {
  if (const auto* a = array_of(leaf); a && a->sharding) return sharding_summary(*a->sharding);
  if (!leaf.sharding_string) return "";
  try {
    return sharding_summary(sharding_from_serialized_string(leaf.sharding_string->get()));
  } catch (const ShardingError&) {
    return *leaf.sharding_string;
  }
}

std::string normal_path(const std::string& path) {
  if (path.starts_with("s3://") || path.starts_with("gs://")) {  // a URL names itself
    std::string url = path;
    while (url.size() > 5 && url.back() == '/') url.pop_back();
    return url;
  }
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path p = fs::absolute(fs::path(path), ec);
  if (ec) p = fs::path(path);
  p = p.lexically_normal();
  if (!p.has_filename() && p.has_parent_path() && p != p.root_path()) p = p.parent_path();
  return p.string();
}

bool path_is_under(const std::string& path, const std::string& base) {
  if (base == "/" ) return !path.empty() && path.front() == '/';
  if (path.size() < base.size() || path.compare(0, base.size(), base) != 0) return false;
  return path.size() == base.size() || path[base.size()] == '/';
}

}  // namespace ckptcat
