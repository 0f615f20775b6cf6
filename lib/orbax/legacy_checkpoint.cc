// Legacy msgpack tree walking (see legacy_checkpoint.h).
//
// Encoding (flax.serialization as used by Orbax, orbax-format.md §7): a map
// mirroring the tree (dict keys as strings, lists/tuples as arrays). Leaves:
//   ext 1  ndarray: payload = msgpack [shape (array of int), dtype (str), data (bin)]
//   ext 3  NumPy scalar: same payload, shape []
//   ext 2  complex: payload = [real, imag]
//   ext 4  tuple: payload = array of elements (walked like a list)
//   str "PLACEHOLDER://<name>" (older: "AGGREGATED://<name>"): value in TensorStore
//   {"__msgpack_chunked_array__": true, "shape": {"0": d0, ...}, "chunks": {"0": ext1, ...}}:
//          an array over 2^30 bytes split into flat chunks
//   plain int / float / bool / str / nil: the Python value itself
#include "legacy_checkpoint.h"

#include "msgpack.h"

namespace ckptcat::orbax {
namespace {

using T = MsgpackHeader::Type;

constexpr int kMaxDepth = 64;
constexpr uint64_t kMaxKeyBytes = 1 << 20;
constexpr uint64_t kMaxStringBytes = 16 << 20;

class Walker {
 public:
  explicit Walker(MsgpackReader& reader) : r_(reader) {}

  void value(KeyPath& path, std::vector<LegacyLeaf>& out, int depth) {
    if (depth > kMaxDepth) r_.fail("tree nested deeper than " + std::to_string(kMaxDepth));
    const auto h = r_.next();
    switch (h.type) {
      case T::kMap: return map(h.length, path, out, depth);
      case T::kArray: return array(h.length, path, out, depth);
      case T::kExt: return ext(h, path, out, depth);
      case T::kStr: {
        std::string s = r_.read_payload(h.length, kMaxStringBytes);
        for (std::string_view prefix : {"PLACEHOLDER://", "AGGREGATED://"}) {
          if (s.rfind(prefix, 0) == 0) {
            auto& leaf = add(path, out, LegacyLeaf::Kind::kPlaceholder);
            leaf.placeholder = s.substr(prefix.size());
            return;
          }
        }
        add(path, out, LegacyLeaf::Kind::kValue);
        return;
      }
      case T::kBin:
        r_.skip_payload(h.length);
        add(path, out, LegacyLeaf::Kind::kValue).dtype = "bytes";
        return;
      case T::kNil: add(path, out, LegacyLeaf::Kind::kEmpty).empty_type = "None"; return;
      case T::kBool: scalar(path, out, "bool"); return;
      case T::kInt: scalar(path, out, "int64").int_value = h.int_value; return;
      case T::kUint: {
        auto& leaf = scalar(path, out, "int64");
        if (h.uint_value <= static_cast<uint64_t>(INT64_MAX))
          leaf.int_value = static_cast<int64_t>(h.uint_value);
        return;
      }
      case T::kFloat: scalar(path, out, "float64"); return;
    }
  }

 private:
  LegacyLeaf& add(const KeyPath& path, std::vector<LegacyLeaf>& out, LegacyLeaf::Kind kind) {
    auto& leaf = out.emplace_back();
    leaf.key_path = path;
    leaf.name = param_name(path);
    leaf.kind = kind;
    return leaf;
  }

  LegacyLeaf& scalar(const KeyPath& path, std::vector<LegacyLeaf>& out, const char* dtype) {
    auto& leaf = add(path, out, LegacyLeaf::Kind::kValue);
    leaf.shape = Shape{};
    leaf.dtype = dtype;
    return leaf;
  }

  std::string key() {
    const auto h = r_.next();
    if (h.type == T::kStr || h.type == T::kBin) return r_.read_payload(h.length, kMaxKeyBytes);
    if (h.type == T::kInt) return std::to_string(h.int_value);
    if (h.type == T::kUint) return std::to_string(h.uint_value);
    r_.fail("map key is not a string");
  }

  void map(uint64_t count, KeyPath& path, std::vector<LegacyLeaf>& out, int depth) {
    if (count == 0) {
      add(path, out, LegacyLeaf::Kind::kEmpty).empty_type = "Dict";
      return;
    }
    if (count > r_.size() - r_.offset()) r_.fail("map count larger than the file");
    const size_t first = out.size();
    bool chunked = false;
    for (uint64_t i = 0; i < count; ++i) {
      std::string k = key();
      if (k == "__msgpack_chunked_array__") chunked = true;
      path.push_back({std::move(k), KeyType::kDict});
      value(path, out, depth + 1);
      path.pop_back();
    }
    if (chunked) collapse_chunked(first, path, out);
  }

  // Replaces the leaves of a chunked-array map by one array leaf.
  void collapse_chunked(size_t first, const KeyPath& path, std::vector<LegacyLeaf>& out) {
    LegacyLeaf array;
    array.key_path = path;
    array.name = param_name(path);
    array.kind = LegacyLeaf::Kind::kInlineArray;
    Shape shape;
    bool shape_ok = true;
    for (size_t i = first; i < out.size(); ++i) {
      const auto& kp = out[i].key_path;
      if (kp.size() != path.size() + 2) continue;
      const auto& field = kp[path.size()].key;
      if (field == "shape") {
        if (out[i].int_value) shape.push_back(*out[i].int_value);
        else shape_ok = false;
      } else if (field == "chunks" && !array.dtype) {
        array.dtype = out[i].dtype;
      }
    }
    if (shape_ok) array.shape = shape;
    out.resize(first);
    out.push_back(std::move(array));
  }

  void array(uint64_t count, KeyPath& path, std::vector<LegacyLeaf>& out, int depth) {
    if (count == 0) {
      add(path, out, LegacyLeaf::Kind::kEmpty).empty_type = "List";
      return;
    }
    if (count > r_.size() - r_.offset()) r_.fail("array count larger than the file");
    for (uint64_t i = 0; i < count; ++i) {
      path.push_back({std::to_string(i), KeyType::kSequence});
      value(path, out, depth + 1);
      path.pop_back();
    }
  }

  void ext(const MsgpackHeader& h, KeyPath& path, std::vector<LegacyLeaf>& out, int depth) {
    const uint64_t end = r_.offset() + h.length;
    if (h.length > r_.size() - r_.offset()) r_.fail("ext payload larger than the file");
    switch (h.ext_type) {
      case 1:
      case 3: {
        auto& leaf = add(path, out, LegacyLeaf::Kind::kInlineArray);
        const auto arr = r_.next();
        if (arr.type != T::kArray || arr.length != 3) r_.fail("ndarray ext payload is not [shape, dtype, data]");
        const auto shape = r_.next();
        if (shape.type != T::kArray) r_.fail("ndarray shape is not a list");
        if (shape.length > 64) r_.fail("ndarray has more than 64 dimensions");
        Shape dims;
        for (uint64_t i = 0; i < shape.length; ++i) {
          const auto d = r_.next();
          if (d.type == T::kUint && d.uint_value <= static_cast<uint64_t>(INT64_MAX))
            dims.push_back(static_cast<int64_t>(d.uint_value));
          else if (d.type == T::kInt && d.int_value >= 0) dims.push_back(d.int_value);
          else r_.fail("ndarray dimension is not a non-negative integer");
        }
        const auto dtype = r_.next();
        if (dtype.type != T::kStr) r_.fail("ndarray dtype is not a string");
        leaf.dtype = r_.read_payload(dtype.length, 256);
        leaf.shape = std::move(dims);
        break;
      }
      case 2: {
        auto& leaf = add(path, out, LegacyLeaf::Kind::kValue);
        leaf.shape = Shape{};
        leaf.dtype = "complex128";
        break;
      }
      case 4: {
        const auto arr = r_.next();
        if (arr.type != T::kArray) r_.fail("tuple ext payload is not a list");
        array(arr.length, path, out, depth);
        break;
      }
      default:
        r_.fail("unknown ext type " + std::to_string(h.ext_type));
    }
    if (r_.offset() > end) r_.fail("ext payload overruns its length");
    r_.skip_payload(end - r_.offset());
  }

  MsgpackReader& r_;
};

}  // namespace

std::vector<LegacyLeaf> read_legacy_checkpoint(const std::filesystem::path& path) {
  MsgpackReader reader(path.string());
  std::vector<LegacyLeaf> out;
  KeyPath key_path;
  Walker(reader).value(key_path, out, 0);
  return out;
}

}  // namespace ckptcat::orbax
