// zarr array metadata (.zarray for zarr v2, zarr.json for v3) and the mapping
// of zarr dtypes to the NumPy / ml_dtypes names Orbax reports
// (orbax-format.md §6.3-§6.4).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "ckptcat/metadata.h"

namespace ckptcat::orbax {

// The zarr metadata key inside a param's folder or OCDBT prefix.
inline constexpr std::string_view kZarr2MetadataKey = ".zarray";
inline constexpr std::string_view kZarr3MetadataKey = "zarr.json";

struct ZarrArray {
  int zarr_format = 2;
  Shape shape;
  Shape chunk_shape;  // TensorStore's read chunk (§6.1 storage.chunk_shape)
  std::string dtype;  // NumPy name
};

// Parse a .zarray / zarr.json text. Throws Error kInvalid (naming `file`) for
// invalid JSON, missing or mistyped fields, or a dtype with no NumPy name.
ZarrArray parse_zarr2(std::string_view text, const std::string& file);
ZarrArray parse_zarr3(std::string_view text, const std::string& file);

// The NumPy dtype name (numpy.dtype(x).name) of a zarr v2 `dtype` string:
// "<i4" -> "int32", ">f8" -> "float64", "|b1" -> "bool", "bfloat16" ->
// "bfloat16", "|S5" -> "bytes40", "|V4" -> "void32". nullopt when unknown.
std::optional<std::string> numpy_dtype_from_zarr2(std::string_view dtype);
// Same for a zarr v3 `data_type`: "int32", "bfloat16", "r16" -> "void16".
std::optional<std::string> numpy_dtype_from_zarr3(std::string_view data_type);

}  // namespace ckptcat::orbax
