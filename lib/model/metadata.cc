#include "ckptcat/metadata.h"

#include "ckptcat/checkpoint.h"

#include <type_traits>
#include <variant>

#include "ckptcat/sharding.h"

namespace ckptcat {

std::string shape_to_string(const Shape& shape) {
  std::string text = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) text += ", ";
    text += std::to_string(shape[i]);
  }
  if (shape.size() == 1) text += ",";
  return text + ")";
}

bool ArrayMetadata::operator==(const ArrayMetadata& other) const {
  return shape == other.shape && sharding == other.sharding && dtype == other.dtype &&
         storage == other.storage;
}

bool ArrayMetadata::same_as(const ArrayMetadata& other) const {
  return *this == other && name == other.name && directory == other.directory;
}

bool ScalarMetadata::same_as(const ScalarMetadata& other) const {
  return *this == other && name == other.name && directory == other.directory;
}

bool StringMetadata::same_as(const StringMetadata& other) const {
  return name == other.name && directory == other.directory;
}

std::string param_name(const KeyPath& path) {
  std::string name;
  for (size_t i = 0; i < path.size(); ++i) {
    if (i) name += '.';
    name += path[i].key;
  }
  return name;
}

const char* to_string(LeafKind kind) noexcept {
  switch (kind) {
    case LeafKind::kArray: return "array";
    case LeafKind::kScalar: return "scalar";
    case LeafKind::kString: return "string";
    case LeafKind::kEmpty: return "empty";
    case LeafKind::kBare: return "bare";
    case LeafKind::kOther: return "other";
  }
  return "other";
}

std::optional<LeafKind> leaf_kind_from_string(std::string_view s) noexcept {
  for (LeafKind k : {LeafKind::kArray, LeafKind::kScalar, LeafKind::kString, LeafKind::kEmpty,
                     LeafKind::kBare, LeafKind::kOther})
    if (s == to_string(k)) return k;
  return std::nullopt;
}

const char* to_string(ItemKind kind) noexcept {
  switch (kind) {
    case ItemKind::kPyTree: return "pytree";
    case ItemKind::kJson: return "json";
    case ItemKind::kOther: return "other";
  }
  return "other";
}

const char* to_string(ArrayStore store) noexcept {
  switch (store) {
    case ArrayStore::kNone: return "none";
    case ArrayStore::kOcdbt: return "ocdbt";
    case ArrayStore::kOcdbtFallback: return "ocdbt-per-process";
    case ArrayStore::kFiles: return "files";
    case ArrayStore::kMsgpack: return "msgpack";
  }
  return "none";
}

namespace {

bool exactly_equal(const LeafMetadata& a, const LeafMetadata& b) {
  if (a.index() != b.index()) return false;
  return std::visit(
      [&b](const auto& x) -> bool {
        using T = std::decay_t<decltype(x)>;
        const T& y = std::get<T>(b);
        if constexpr (std::is_same_v<T, std::monostate>) {
          return true;
        } else if constexpr (std::is_same_v<T, BareMetadata>) {
          return x == y;
        } else if constexpr (std::is_same_v<T, ArrayMetadata>) {
          return x.same_as(y) && x.sharding.has_value() == y.sharding.has_value() &&
                 (!x.sharding || to_serialized_string(*x.sharding) == to_serialized_string(*y.sharding));
        } else {
          return x.same_as(y);
        }
      },
      a);
}

}  // namespace

bool Leaf::exactly_equal(const Leaf& o) const {
  return key_path == o.key_path && name == o.name && value_type == o.value_type &&
         skip_deserialize == o.skip_deserialize && kind == o.kind &&
         ckptcat::exactly_equal(metadata, o.metadata) && sharding_string == o.sharding_string &&
         stored == o.stored && random_key_impl == o.random_key_impl &&
         string_value == o.string_value && inline_shape == o.inline_shape &&
         inline_dtype == o.inline_dtype && error == o.error;
}

Problem Problem::from_error(const Error& error, Severity severity, const std::string& file) {
  std::string message = error.message();
  if (error.offset()) message += " (at byte " + std::to_string(*error.offset()) + ")";
  return Problem{severity, error.file().empty() ? file : error.file(), std::move(message)};
}

}  // namespace ckptcat

std::size_t std::hash<ckptcat::StorageMetadata>::operator()(
    const ckptcat::StorageMetadata& s) const noexcept {
  std::size_t h = 0x9e3779b97f4a7c15ULL;
  auto mix = [&h](std::size_t v) { h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2); };
  for (const auto* shape : {&s.chunk_shape, &s.write_shape}) {
    mix(shape->has_value() ? shape->value().size() + 1 : 0);
    if (*shape)
      for (int64_t d : **shape) mix(std::hash<int64_t>{}(d));
  }
  return h;
}
