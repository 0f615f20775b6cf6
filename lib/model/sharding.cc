// Sharding metadata: parsing Orbax's dictionaries and writing them back
// byte-exactly (orbax-format.md §4.3-4.4).
#include "ckptcat/sharding.h"

#include <nlohmann/json.hpp>

#include "ckptcat/python_json.h"

namespace ckptcat {
namespace {

using nlohmann::json;

constexpr const char* kNamed = "NamedSharding";
constexpr const char* kSingleDevice = "SingleDeviceSharding";
constexpr const char* kPositional = "PositionalSharding";

// A bounded excerpt of a JSON value for error messages.
std::string quote(const json& value) {
  std::string text = value.dump();
  constexpr size_t kMax = 160;
  if (text.size() > kMax) text = text.substr(0, kMax) + "...";
  return text;
}

[[noreturn]] void fail(const std::string& what, const json& part) {
  throw ShardingError(what + ": " + quote(part));
}

const json& require(const json& dict, const char* key, const char* kind) {
  auto it = dict.find(key);
  if (it == dict.end()) fail(std::string(kind) + ": missing \"" + key + "\"", dict);
  return *it;
}

std::vector<int64_t> int_list(const json& value, const char* what) {
  if (!value.is_array()) fail(std::string(what) + " must be a list of integers", value);
  std::vector<int64_t> out;
  out.reserve(value.size());
  for (const auto& e : value) {
    if (!e.is_number_integer()) fail(std::string(what) + " must be a list of integers", value);
    if (e.is_number_unsigned() && e.get<uint64_t>() > INT64_MAX)
      fail(std::string(what) + " holds an integer out of range", value);
    out.push_back(e.get<int64_t>());
  }
  return out;
}

std::vector<std::string> string_list(const json& value, const char* what) {
  if (!value.is_array()) fail(std::string(what) + " must be a list of strings", value);
  std::vector<std::string> out;
  out.reserve(value.size());
  for (const auto& e : value) {
    if (!e.is_string()) fail(std::string(what) + " must be a list of strings", value);
    out.push_back(e.get<std::string>());
  }
  return out;
}

void require_object(const json& dict) {
  if (!dict.is_object()) fail("a sharding must be a JSON object", dict);
}

PartitionSpecEntry partition_spec_entry(const json& e, const json& whole) {
  if (e.is_null()) return std::monostate{};
  if (e.is_string()) return e.get<std::string>();
  if (e.is_array()) return string_list(e, "partition_spec entry");
  fail("partition_spec entries must be null, an axis name or a list of axis names", whole);
}

// Collects device ids from the nested mesh, checking that the nesting follows
// `shape` exactly (one list level per mesh axis, each of the axis' size).
void collect_mesh(const json& node, const std::vector<int64_t>& shape, size_t depth,
                  std::vector<int64_t>& ids, const json& whole) {
  if (depth == shape.size()) {
    if (!node.is_object()) fail("device_mesh nesting does not match mesh shape", whole);
    auto id = node.find("id");
    if (id == node.end() || !id->is_number_integer())
      fail("device_mesh entries must be {\"id\": <int>}", node);
    ids.push_back(id->get<int64_t>());
    return;
  }
  if (!node.is_array() || static_cast<int64_t>(node.size()) != shape[depth])
    fail("device_mesh does not match mesh shape " + json(shape).dump(), whole);
  for (const auto& child : node) collect_mesh(child, shape, depth + 1, ids, whole);
}

void write_int_list(pyjson::Writer& w, const std::vector<int64_t>& values) {
  w.begin_array();
  for (int64_t v : values) w.value(v);
  w.end_array();
}

void write_string_list(pyjson::Writer& w, const std::vector<std::string>& values) {
  w.begin_array();
  for (const auto& v : values) w.value(std::string_view(v));
  w.end_array();
}

// Writes ids[pos...] nested along shape[depth...].
void write_mesh(pyjson::Writer& w, const std::vector<int64_t>& shape, size_t depth,
                const std::vector<int64_t>& ids, size_t& pos) {
  if (depth == shape.size()) {
    w.begin_object().key("id").value(ids.at(pos++)).end_object();
    return;
  }
  w.begin_array();
  for (int64_t i = 0; i < shape[depth]; ++i) write_mesh(w, shape, depth + 1, ids, pos);
  w.end_array();
}

// "TFRT_CPU_3" and "cpu:3" name the same device.
std::string canonical_device(const std::string& device) {
  constexpr std::string_view kTfrt = "TFRT_CPU_";
  if (device.rfind(kTfrt, 0) == 0) return "cpu:" + device.substr(kTfrt.size());
  return device;
}

std::string python_str_repr(const std::string& s) { return "'" + s + "'"; }

}  // namespace

// ---- NamedShardingMetadata ----------------------------------------------------

NamedShardingMetadata NamedShardingMetadata::from_deserialized_dict(const json& dict) {
  require_object(dict);
  NamedShardingMetadata out;
  out.shape = int_list(require(dict, "shape", kNamed), "NamedSharding shape");
  for (int64_t size : out.shape)
    if (size < 0) fail("NamedSharding shape has a negative axis size", dict);
  out.axis_names = string_list(require(dict, "axis_names", kNamed), "NamedSharding axis_names");
  if (out.axis_names.size() != out.shape.size())
    fail("NamedSharding axis_names has " + std::to_string(out.axis_names.size()) +
             " names for a mesh of " + std::to_string(out.shape.size()) + " axes",
         dict);
  const json& spec = require(dict, "partition_spec", kNamed);
  if (!spec.is_array()) fail("NamedSharding partition_spec must be a list", spec);
  for (const auto& e : spec) out.partition_spec.push_back(partition_spec_entry(e, spec));

  if (auto it = dict.find("axis_types"); it != dict.end() && !it->is_null()) {
    out.axis_types = string_list(*it, "NamedSharding axis_types");
    if (out.axis_types->size() != out.shape.size())
      fail("NamedSharding axis_types does not have one entry per mesh axis", dict);
  }
  // Like Orbax: a missing, null or empty device_mesh means none.
  if (auto it = dict.find("device_mesh");
      it != dict.end() && !it->is_null() && !(it->is_object() && it->empty())) {
    if (!it->is_object() || !it->contains("mesh"))
      fail("NamedSharding device_mesh must be {\"mesh\": [...]}", *it);
    std::vector<int64_t> ids;
    collect_mesh((*it)["mesh"], out.shape, 0, ids, *it);
    out.device_mesh = DeviceMesh{std::move(ids)};
  }
  return out;
}

std::string NamedShardingMetadata::to_serialized_string() const {
  pyjson::Writer w;
  w.begin_object();
  w.key("sharding_type").value(kNamed);
  w.key("shape");
  write_int_list(w, shape);
  w.key("axis_names");
  write_string_list(w, axis_names);
  if (axis_types) {
    w.key("axis_types");
    write_string_list(w, *axis_types);
  }
  w.key("partition_spec").begin_array();
  for (const auto& entry : partition_spec) {
    if (std::holds_alternative<std::monostate>(entry)) w.null();
    else if (auto* axis = std::get_if<std::string>(&entry)) w.value(std::string_view(*axis));
    else write_string_list(w, std::get<std::vector<std::string>>(entry));
  }
  w.end_array();
  if (device_mesh) {
    size_t pos = 0;
    w.key("device_mesh").begin_object().key("mesh");
    write_mesh(w, shape, 0, device_mesh->device_ids, pos);
    w.end_object();
  }
  w.end_object();
  return w.take();
}

// ---- SingleDeviceShardingMetadata ---------------------------------------------

SingleDeviceShardingMetadata SingleDeviceShardingMetadata::from_deserialized_dict(
    const json& dict) {
  require_object(dict);
  const json& device = require(dict, "device_str", kSingleDevice);
  if (!device.is_string()) fail("SingleDeviceSharding device_str must be a string", dict);
  return {device.get<std::string>()};
}

std::string SingleDeviceShardingMetadata::to_serialized_string() const {
  pyjson::Writer w;
  w.begin_object();
  w.key("sharding_type").value(kSingleDevice);
  w.key("device_str").value(std::string_view(device_str));
  w.end_object();
  return w.take();
}

bool SingleDeviceShardingMetadata::operator==(const SingleDeviceShardingMetadata& other) const {
  return canonical_device(device_str) == canonical_device(other.device_str);
}

// ---- PositionalShardingMetadata -----------------------------------------------

PositionalShardingMetadata PositionalShardingMetadata::from_deserialized_dict(const json& dict) {
  require_object(dict);
  PositionalShardingMetadata out;
  out.shape = int_list(require(dict, "shape", kPositional), "PositionalSharding shape");
  if (auto it = dict.find("memory_kind"); it != dict.end() && !it->is_null()) {
    if (!it->is_string()) fail("PositionalSharding memory_kind must be a string", dict);
    out.memory_kind = it->get<std::string>();
  }
  return out;
}

std::string PositionalShardingMetadata::to_serialized_string() const {
  pyjson::Writer w;
  w.begin_object();
  w.key("sharding_type").value(kPositional);
  w.key("shape");
  write_int_list(w, shape);
  if (memory_kind) w.key("memory_kind").value(std::string_view(*memory_kind));
  w.end_object();
  return w.take();
}

// ---- dispatch -----------------------------------------------------------------

const char* sharding_type_name(ShardingKind kind) noexcept {
  switch (kind) {
    case ShardingKind::kNamed: return kNamed;
    case ShardingKind::kSingleDevice: return kSingleDevice;
    case ShardingKind::kPositional: return kPositional;
  }
  return "";
}

ShardingKind sharding_kind(const ShardingMetadata& sharding) noexcept {
  return static_cast<ShardingKind>(sharding.index());
}

ShardingMetadata sharding_from_deserialized_dict(const json& dict) {
  require_object(dict);
  const json& type = require(dict, "sharding_type", "sharding");
  if (!type.is_string()) fail("sharding_type must be a string", dict);
  const auto& name = type.get_ref<const std::string&>();
  if (name == kNamed) return NamedShardingMetadata::from_deserialized_dict(dict);
  if (name == kSingleDevice) return SingleDeviceShardingMetadata::from_deserialized_dict(dict);
  if (name == kPositional) return PositionalShardingMetadata::from_deserialized_dict(dict);
  fail("unknown sharding_type \"" + name + "\"", dict);
}

ShardingMetadata sharding_from_serialized_string(std::string_view serialized) {
  // Python's json.loads accepts NaN/Infinity; no sharding field can hold them,
  // so nlohmann's strict parser loses nothing here.
  json dict = json::parse(serialized, nullptr, /*allow_exceptions=*/false);
  if (dict.is_discarded()) {
    std::string excerpt(serialized.substr(0, 160));
    throw ShardingError("sharding string is not valid JSON: " + excerpt +
                        (serialized.size() > 160 ? "..." : ""));
  }
  return sharding_from_deserialized_dict(dict);
}

std::string to_serialized_string(const ShardingMetadata& sharding) {
  return std::visit([](const auto& s) { return s.to_serialized_string(); }, sharding);
}

std::string sharding_summary(const ShardingMetadata& sharding) {
  if (auto* single = std::get_if<SingleDeviceShardingMetadata>(&sharding))
    return "device " + single->device_str;
  if (auto* positional = std::get_if<PositionalShardingMetadata>(&sharding)) {
    std::string text = "positional [";
    for (size_t i = 0; i < positional->shape.size(); ++i) {
      if (i) text += ',';
      text += std::to_string(positional->shape[i]);
    }
    return text + "]";
  }
  const auto& named = std::get<NamedShardingMetadata>(sharding);
  std::string text = "mesh(";
  for (size_t i = 0; i < named.shape.size(); ++i) {
    if (i) text += ", ";
    text += (i < named.axis_names.size() ? named.axis_names[i] : "?") + "=" +
            std::to_string(named.shape[i]);
  }
  text += ") P(";
  for (size_t i = 0; i < named.partition_spec.size(); ++i) {
    if (i) text += ", ";
    const auto& entry = named.partition_spec[i];
    if (std::holds_alternative<std::monostate>(entry)) {
      text += "None";
    } else if (auto* axis = std::get_if<std::string>(&entry)) {
      text += python_str_repr(*axis);
    } else {
      const auto& axes = std::get<std::vector<std::string>>(entry);
      text += "(";
      for (size_t k = 0; k < axes.size(); ++k) text += (k ? ", " : "") + python_str_repr(axes[k]);
      text += axes.size() == 1 ? ",)" : ")";
    }
  }
  return text + ")";
}

}  // namespace ckptcat
