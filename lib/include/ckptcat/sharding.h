// Sharding metadata as Orbax serializes it in `_sharding` (orbax-format.md §4.3):
// NamedShardingMetadata, SingleDeviceShardingMetadata and the legacy
// PositionalShardingMetadata (written by Orbax 2024-07..2025-04; current Orbax
// refuses to read it, we keep its fields).
//
// `to_serialized_string` produces exactly the bytes Python's json.dumps gives for
// Orbax's dictionary, so a string parsed from disk and serialized again is
// byte-identical (checked against the shared vectors and every corpus string).
//
// Orbax's `from_jax_sharding` / `to_jax_sharding` convert to and from live
// jax.sharding objects bound to JAX devices; they have no meaning in C++ and
// are deliberately absent.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "ckptcat/error.h"
#include "ckptcat/shared.h"

namespace ckptcat {

// One partition spec entry: replicated (None), one mesh axis ("x"), or several
// mesh axes (["x", "y"]). "x" and ["x"] are different entries, as in Orbax.
using PartitionSpecEntry =
    std::variant<std::monostate, std::string, std::vector<std::string>>;

// Device ids laid out in the mesh shape, stored row-major. The nesting of the
// serialized form is implied by the NamedShardingMetadata's mesh `shape`. The
// ids are shared by copies (shared.h): every array of a pod step names the
// same 4,096 of them.
struct DeviceMesh {
  Shared<std::vector<int64_t>> device_ids;
  bool operator==(const DeviceMesh&) const = default;
};

struct NamedShardingMetadata {
  std::vector<int64_t> shape;                           // mesh axis sizes
  std::vector<std::string> axis_names;                  // one per mesh axis
  std::vector<PartitionSpecEntry> partition_spec;       // may be shorter than the array rank
  std::optional<std::vector<std::string>> axis_types;   // "AxisType.Auto", ... (since 2025-09)
  std::optional<DeviceMesh> device_mesh;                // since 2024-09

  // Parses Orbax's dictionary. Checks types, that axis_names and axis_types
  // have one entry per mesh axis, and that the device mesh nesting and size
  // match `shape`. Throws ShardingError.
  static NamedShardingMetadata from_deserialized_dict(const nlohmann::json& dict);
  std::string to_serialized_string() const;

  bool operator==(const NamedShardingMetadata&) const = default;
};

struct SingleDeviceShardingMetadata {
  std::string device_str;  // str(device): "cpu:0", "TFRT_CPU_0", "cuda:0", ...

  static SingleDeviceShardingMetadata from_deserialized_dict(const nlohmann::json& dict);
  std::string to_serialized_string() const;

  // Orbax treats TFRT_CPU_n and cpu:n as the same device.
  bool operator==(const SingleDeviceShardingMetadata& other) const;
};

struct PositionalShardingMetadata {
  std::vector<int64_t> shape;
  std::optional<std::string> memory_kind;

  static PositionalShardingMetadata from_deserialized_dict(const nlohmann::json& dict);
  std::string to_serialized_string() const;

  bool operator==(const PositionalShardingMetadata&) const = default;
};

using ShardingMetadata = std::variant<NamedShardingMetadata, SingleDeviceShardingMetadata,
                                      PositionalShardingMetadata>;

enum class ShardingKind { kNamed, kSingleDevice, kPositional };

// The `sharding_type` string Orbax writes for each kind.
const char* sharding_type_name(ShardingKind kind) noexcept;
ShardingKind sharding_kind(const ShardingMetadata& sharding) noexcept;

// Parses a serialized sharding string and dispatches on `sharding_type`.
// Throws ShardingError (quoting the offending part) for malformed JSON, an
// unknown sharding_type, or fields of the wrong type.
ShardingMetadata sharding_from_serialized_string(std::string_view serialized);
ShardingMetadata sharding_from_deserialized_dict(const nlohmann::json& dict);
std::string to_serialized_string(const ShardingMetadata& sharding);

// A short human summary: "mesh data=2,model=4 spec (('data','model'), None)" or
// "device cpu:0".
std::string sharding_summary(const ShardingMetadata& sharding);

// A sharding string or dict that is not one Orbax writes (Error kInvalid).
class ShardingError : public Error {
 public:
  explicit ShardingError(std::string message) : Error(Code::kInvalid, std::move(message)) {}
};

}  // namespace ckptcat
