// What the checkpoint reader produces and the catalog stores: one
// CheckpointMetadata per step folder (or direct checkpoint), holding its step
// metadata and its items, each item holding its leaves with the typed objects
// Orbax's metadata() reports (orbax-format.md §6.1), plus what Orbax does not
// report but a catalog wants: key paths, stored sizes, per-leaf errors.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "ckptcat/error.h"
#include "ckptcat/metadata.h"
#include "ckptcat/shared.h"

namespace ckptcat {

// ---- leaves -------------------------------------------------------------------

// `key_type` of _METADATA key_metadata (orbax-format.md §3.2).
enum class KeyType : int { kSequence = 1, kDict = 2 };

struct KeyPathElement {
  std::string key;  // always a string on disk; sequence indices are decimal
  KeyType type = KeyType::kDict;
  bool operator==(const KeyPathElement&) const = default;
};
using KeyPath = std::vector<KeyPathElement>;

// Orbax's param name: keys joined with "." (no escaping; names may collide).
std::string param_name(const KeyPath& path);

enum class LeafKind {
  kArray,   // jax.Array / np.ndarray: ArrayMetadata
  kScalar,  // scalar: ScalarMetadata
  kString,  // string: StringMetadata
  kEmpty,   // empty containers and None (Dict, List, Tuple, NamedTuple, None)
  kBare,    // skip_deserialize with another type: value in the legacy msgpack file
  kOther,   // a custom or unknown value_type, kept verbatim (placeholder, user TypeHandlers)
};
const char* to_string(LeafKind kind) noexcept;  // "array", "scalar", "string", "empty", "bare", "other"
std::optional<LeafKind> leaf_kind_from_string(std::string_view s) noexcept;

// Orbax's base Metadata(name, directory): what it reports for bare leaves.
struct BareMetadata {
  std::string name;
  std::string directory;
  bool operator==(const BareMetadata&) const = default;
};

// The typed object Orbax reports; monostate for empty values (their value is
// the empty container itself, named by value_type) and for kOther.
using LeafMetadata =
    std::variant<std::monostate, ArrayMetadata, ScalarMetadata, StringMetadata, BareMetadata>;

// Bytes an array occupies in its store, counted from OCDBT value sizes or file
// sizes without reading chunk data.
struct StoredSize {
  uint64_t chunk_count = 0;
  uint64_t bytes = 0;
  bool operator==(const StoredSize&) const = default;
};

struct Leaf {
  KeyPath key_path;
  std::string name;        // param_name(key_path)
  std::string value_type;  // verbatim from _METADATA ("jax.Array", "scalar", ...)
  bool skip_deserialize = false;
  LeafKind kind = LeafKind::kOther;
  LeafMetadata metadata;

  // The `_sharding` value exactly as stored, when the file has an entry for
  // this leaf (kept even if it cannot be parsed; then `error` says why).
  // Shared (shared.h): the leaves of one mesh hold one string.
  std::optional<Shared<std::string>> sharding_string;
  std::optional<StoredSize> stored;
  std::optional<std::string> random_key_impl;  // array_metadatas ext_metadata (PRNG keys)
  std::optional<std::string> string_value;     // from _strings.json, when readable
  // Shape and dtype from a legacy msgpack ext header (bare leaves); Orbax does
  // not report them, we keep them as extra data.
  std::optional<Shape> inline_shape;
  std::optional<std::string> inline_dtype;

  // Set when the leaf is degraded: what could not be read and why (the rest of
  // the leaf is still valid).
  std::optional<std::string> error;

  // Every field above equal, exactly: typed objects with their name and
  // directory (same_as), sharding strings byte for byte (Orbax's own equality
  // treats TFRT_CPU_0 and cpu:0 alike). The one exact comparison of leaves: a
  // new field goes here too, and tests/model/metadata_test.cc fails to build
  // until its test of every field is told about it.
  bool exactly_equal(const Leaf& other) const;
};

// ---- items --------------------------------------------------------------------

enum class ItemKind { kPyTree, kJson, kOther };
const char* to_string(ItemKind kind) noexcept;  // "pytree", "json", "other"

// Where the zarr metadata of an item's arrays was found.
enum class ArrayStore {
  kNone,           // no arrays, or nothing readable
  kOcdbt,          // the merged top-level OCDBT database
  kOcdbtFallback,  // the per-process ocdbt.process_* databases (top level damaged or unmerged)
  kFiles,          // plain zarr folders <item>/<param>/.zarray or zarr.json
  kMsgpack,        // legacy msgpack `checkpoint` file only
};
const char* to_string(ArrayStore store) noexcept;

struct Problem {
  enum class Severity { kWarning, kError };
  Severity severity = Severity::kError;
  std::string file;     // the file (or folder) concerned
  std::string message;  // what is wrong
  bool operator==(const Problem&) const = default;

  // The one way an Error becomes a Problem: its file (else `file`), its
  // message with the byte offset when it has one.
  static Problem from_error(const Error& error, Severity severity, const std::string& file);
};

// The top-level fields of _METADATA besides tree_metadata (orbax-format.md §3.1).
struct TreeFlags {
  std::optional<bool> use_ocdbt;
  bool use_zarr3 = false;
  std::optional<bool> store_array_data_equal_to_fill_value;
  std::optional<std::string> custom_metadata;  // JSON text, null/absent -> nullopt
  bool has_value_metadata_tree = false;
  bool operator==(const TreeFlags&) const = default;
};

struct ItemMetadata {
  std::string name;       // item folder name; "" for a direct checkpoint
  std::string directory;  // absolute path of the item folder
  ItemKind kind = ItemKind::kOther;
  std::optional<std::string> handler;  // typestr from item_handlers, when named there

  TreeFlags flags;          // pytree items
  ArrayStore array_store = ArrayStore::kNone;
  std::vector<Leaf> leaves;  // in _METADATA (JAX flatten) order
  std::optional<std::string> json_content;  // JSON items: the file's text

  // Item-level failure (e.g. _METADATA missing or not JSON): leaves is empty.
  std::optional<std::string> error;
  std::vector<Problem> problems;  // warnings and per-file errors met while reading
};

// ---- checkpoints (steps) --------------------------------------------------------

// _CHECKPOINT_METADATA (orbax-format.md §2); every field optional.
struct StepMetadata {
  bool present = false;  // the file exists and parsed
  // A string (direct checkpoint) or {item name: typestr or null} (composite).
  std::optional<std::variant<std::string, std::map<std::string, std::optional<std::string>>>>
      item_handlers;
  std::string metrics = "{}";              // JSON text
  std::string performance_metrics = "{}";  // JSON text
  std::string custom_metadata = "{}";      // JSON text
  std::optional<int64_t> init_timestamp_nsecs;
  std::optional<int64_t> commit_timestamp_nsecs;
  bool commit_timestamp_null = false;  // explicitly null: an interrupted v0 save
  bool operator==(const StepMetadata&) const = default;
};

struct CheckpointMetadata {
  std::string directory;  // absolute path of the step folder (or direct checkpoint)
  std::string root;       // the CheckpointManager root or scanned parent; "" if none
  std::string step_name;  // folder name
  std::optional<int64_t> step;  // parsed step number; nullopt for names like "best"
  bool direct = false;          // the step folder is itself the item
  int layout_version = 0;       // 0 or 1 (v1 has the `orbax.checkpoint` indicator)
  bool finished = true;
  std::string unfinished_reason;  // why not finished ("tmp name", "null commit timestamp", ...)
  bool commit_marker = false;     // commit_success.txt present
  int64_t mtime_nsecs = 0;        // folder mtime: Orbax's fallback commit time

  StepMetadata step_metadata;
  std::vector<ItemMetadata> items;  // sorted by name
  std::vector<Problem> problems;
};

}  // namespace ckptcat
