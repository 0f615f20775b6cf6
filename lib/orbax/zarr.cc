// zarr metadata parsing and dtype names (see zarr.h).
//
// zarr v2 (.zarray, compact JSON from TensorStore):
//   {"chunks":[8],"compressor":{...}|null,"dimension_separator":".","dtype":"<i4",
//    "fill_value":null,"filters":null,"order":"C","shape":[8],"zarr_format":2}
// zarr v3 (zarr.json): {"chunk_grid":{"configuration":{"chunk_shape":[8]},"name":"regular"},
//   "codecs":[{"configuration":{"chunk_shape":[8],"codecs":[...],...},"name":"sharding_indexed"}],
//   "data_type":"int32","shape":[8],"zarr_format":3,...}
// The read chunk of v3 is the sharding codec's inner chunk_shape when the codec
// is present, else the chunk grid's.
#include "zarr.h"

#include <array>
#include <charconv>

#include "json_file.h"

namespace ckptcat::orbax {
namespace {

using json = nlohmann::ordered_json;

// Types whose zarr v2 and v3 spelling is their NumPy / ml_dtypes name.
constexpr std::array<std::string_view, 13> kExtendedTypes = {
    "bfloat16",       "float8_e4m3fn",     "float8_e4m3fnuz", "float8_e4m3b11fnuz",
    "float8_e5m2",    "float8_e5m2fnuz",   "float8_e3m4",     "float8_e8m0fnu",
    "float4_e2m1fn",  "int4",              "int2",            "uint4",
    "uint2"};

constexpr std::array<std::string_view, 12> kStandardV3Types = {
    "bool",   "int8",    "uint8",   "int16",   "uint16",    "int32",
    "uint32", "int64",   "uint64",  "float16", "float32",   "float64"};

bool is_extended(std::string_view s) {
  for (auto t : kExtendedTypes) if (t == s) return true;
  return false;
}

std::optional<int64_t> parse_count(std::string_view digits) {
  int64_t n = 0;
  if (digits.empty()) return std::nullopt;
  const auto r = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (r.ec != std::errc() || r.ptr != digits.data() + digits.size() || n <= 0 ||
      n > (int64_t{1} << 40))
    return std::nullopt;
  return n;
}

const json& member(const json& doc, const char* key, const std::string& file) {
  const auto it = doc.find(key);
  if (it == doc.end())
    throw Error(Error::Code::kInvalid, std::string("missing \"") + key + "\"", file);
  return *it;
}

}  // namespace

std::optional<std::string> numpy_dtype_from_zarr2(std::string_view dtype) {
  if (is_extended(dtype)) return std::string(dtype);
  if (dtype.size() < 3) return std::nullopt;
  const char order = dtype[0];
  if (order != '<' && order != '>' && order != '|' && order != '=') return std::nullopt;
  const char kind = dtype[1];
  const auto size = parse_count(dtype.substr(2));
  if (!size) return std::nullopt;
  const int64_t n = *size;
  switch (kind) {
    case 'b': if (n == 1) return "bool"; break;
    case 'i': if (n == 1 || n == 2 || n == 4 || n == 8) return "int" + std::to_string(8 * n); break;
    case 'u': if (n == 1 || n == 2 || n == 4 || n == 8) return "uint" + std::to_string(8 * n); break;
    case 'f': if (n == 2 || n == 4 || n == 8) return "float" + std::to_string(8 * n); break;
    case 'c': if (n == 8 || n == 16) return "complex" + std::to_string(8 * n); break;
    case 'S': return "bytes" + std::to_string(8 * n);
    case 'V': return "void" + std::to_string(8 * n);
    default: break;
  }
  return std::nullopt;
}

std::optional<std::string> numpy_dtype_from_zarr3(std::string_view data_type) {
  if (is_extended(data_type)) return std::string(data_type);
  for (auto t : kStandardV3Types) if (t == data_type) return std::string(data_type);
  if (data_type == "complex64" || data_type == "complex128") return std::string(data_type);
  if (data_type.size() > 1 && data_type[0] == 'r') {
    const auto bits = parse_count(data_type.substr(1));
    if (bits && *bits % 8 == 0) return "void" + std::to_string(*bits);
  }
  return std::nullopt;
}

ZarrArray parse_zarr2(std::string_view text, const std::string& file) {
  const json doc = parse_json(text, file);
  if (!doc.is_object()) throw Error(Error::Code::kInvalid, ".zarray must hold an object", file);
  ZarrArray out;
  out.zarr_format = 2;
  out.shape = to_shape(member(doc, "shape", file), file, "shape");
  out.chunk_shape = to_shape(member(doc, "chunks", file), file, "chunks");
  const auto& dtype = member(doc, "dtype", file);
  if (!dtype.is_string())
    throw Error(Error::Code::kInvalid, "dtype " + dtype.dump() + " is not supported", file);
  const auto name = numpy_dtype_from_zarr2(dtype.get<std::string>());
  if (!name) throw Error(Error::Code::kInvalid, "unknown zarr dtype " + dtype.dump(), file);
  out.dtype = *name;
  return out;
}

ZarrArray parse_zarr3(std::string_view text, const std::string& file) {
  const json doc = parse_json(text, file);
  if (!doc.is_object()) throw Error(Error::Code::kInvalid, "zarr.json must hold an object", file);
  ZarrArray out;
  out.zarr_format = 3;
  out.shape = to_shape(member(doc, "shape", file), file, "shape");
  const auto& type = member(doc, "data_type", file);
  if (!type.is_string())
    throw Error(Error::Code::kInvalid, "data_type " + type.dump() + " is not supported", file);
  const auto name = numpy_dtype_from_zarr3(type.get<std::string>());
  if (!name) throw Error(Error::Code::kInvalid, "unknown zarr data_type " + type.dump(), file);
  out.dtype = *name;
  bool found = false;
  if (const auto codecs = doc.find("codecs"); codecs != doc.end() && codecs->is_array()) {
    for (const auto& codec : *codecs) {
      if (codec.is_object() && codec.value("name", json()) == "sharding_indexed" &&
          codec.contains("configuration") && codec["configuration"].is_object() &&
          codec["configuration"].contains("chunk_shape")) {
        out.chunk_shape =
            to_shape(codec["configuration"]["chunk_shape"], file, "sharding_indexed chunk_shape");
        found = true;
        break;
      }
    }
  }
  if (!found) {
    const auto& grid = member(doc, "chunk_grid", file);
    if (!grid.is_object() || !grid.contains("configuration") ||
        !grid["configuration"].is_object() || !grid["configuration"].contains("chunk_shape"))
      throw Error(Error::Code::kInvalid, "chunk_grid has no configuration.chunk_shape", file);
    out.chunk_shape = to_shape(grid["configuration"]["chunk_shape"], file, "chunk_grid chunk_shape");
  }
  return out;
}

}  // namespace ckptcat::orbax
