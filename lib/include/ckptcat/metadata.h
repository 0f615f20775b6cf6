// The typed per-leaf metadata Orbax reports through orbax.checkpoint.metadata:
// ArrayMetadata, ScalarMetadata, StringMetadata and StorageMetadata. These value
// types are the interface between the checkpoint reader and the catalog: what
// the catalog gives back must compare equal to what the reader produced.
//
// Equality follows Orbax exactly (see each operator==); `same_as` additionally
// compares name and directory, for round-trip checks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "ckptcat/sharding.h"

namespace ckptcat {

// An array shape, a mesh shape or a chunk shape: one size per dimension.
using Shape = std::vector<int64_t>;

std::string shape_to_string(const Shape& shape);  // "(8,)", "(2, 4)", "()" as Python prints tuples

struct StorageMetadata {
  std::optional<Shape> chunk_shape;
  std::optional<Shape> write_shape;

  bool operator==(const StorageMetadata&) const = default;
};

struct ArrayMetadata {
  std::string name;       // param name, e.g. "params.w"
  std::string directory;  // the item directory holding _METADATA
  std::optional<Shape> shape;        // unknown when the zarr metadata is unreadable
  std::optional<ShardingMetadata> sharding;
  std::optional<std::string> dtype;  // NumPy / ml_dtypes name, e.g. "float32", "bfloat16"
  std::optional<StorageMetadata> storage;

  // Orbax: shape, sharding, dtype and storage; not name or directory.
  bool operator==(const ArrayMetadata& other) const;
  bool same_as(const ArrayMetadata& other) const;
};

struct ScalarMetadata {
  std::string name;
  std::string directory;
  std::optional<std::string> dtype;
  // shape () , sharding None and storage None are Orbax's fixed defaults.

  // Orbax: only dtype.
  bool operator==(const ScalarMetadata& other) const { return dtype == other.dtype; }
  bool same_as(const ScalarMetadata& other) const;
};

struct StringMetadata {
  std::string name;
  std::string directory;

  // Orbax: all StringMetadata instances are equal.
  bool operator==(const StringMetadata&) const { return true; }
  bool same_as(const StringMetadata& other) const;
};

}  // namespace ckptcat

template <>
struct std::hash<ckptcat::StorageMetadata> {
  std::size_t operator()(const ckptcat::StorageMetadata& s) const noexcept;
};
