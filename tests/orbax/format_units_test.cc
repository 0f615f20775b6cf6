// Unit tests of the pure pieces of the reader: JSON with NaN tokens, step
// metadata, _METADATA, base64url, zarr metadata and dtype names, msgpack, step
// names.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <random>

#include "ckptcat/reader.h"
#include "json_file.h"
#include "json_string.h"
#include "legacy_checkpoint.h"
#include "orbax_writer.h"
#include "sharding_file.h"
#include "shared_case.h"
#include "step_metadata.h"
#include "step_name.h"
#include "tree_metadata.h"
#include "zarr.h"

using namespace ckptcat;
using namespace ckptcat::orbax;

namespace {
void write_bytes(const std::filesystem::path& p, const std::string& bytes) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << bytes;
}
}  // namespace

TEST_CASE("JSON: NaN / Infinity tokens outside strings, depth bound, exact int64") {
  const auto j = parse_json(R"({"a": NaN, "b": [Infinity, -Infinity], "s": "NaN Infinity", "n": 1})", "f");
  CHECK(std::isnan(j["a"].get<double>()));
  CHECK(j["b"][0].get<double>() == INFINITY);
  CHECK(j["b"][1].get<double>() == -INFINITY);
  CHECK(j["s"] == "NaN Infinity");
  CHECK(to_python_json(j) == R"({"a": NaN, "b": [Infinity, -Infinity], "s": "NaN Infinity", "n": 1})");
  CHECK(std::isnan(parse_json("NaN", "f").get<double>()));
  CHECK_THROWS_AS(parse_json(std::string(600, '[') + std::string(600, ']'), "deep"), Error);
  try {
    parse_json("{\"a\": }", "some/file");
    FAIL("no throw");
  } catch (const Error& e) {
    CHECK(e.file() == "some/file");
    CHECK(e.code() == Error::Code::kInvalid);
  }
  const auto ts = parse_json(R"({"t": 9223372036854775807, "u": 9223372036854775808, "f": 1.5})", "f");
  CHECK(get_int64(ts, "t", "f") == INT64_MAX);
  CHECK_THROWS_AS(get_int64(ts, "u", "f"), Error);
  CHECK_THROWS_AS(get_int64(ts, "f", "f"), Error);
  CHECK_FALSE(get_int64(ts, "missing", "f").has_value());
}

TEST_CASE("JSON errors: a plain message with line and column, no parser internals") {
  auto error_of = [](std::string_view text) {
    try {
      parse_json(text, "dir/_METADATA");
    } catch (const Error& e) {
      CHECK(e.file() == "dir/_METADATA");
      CHECK(e.code() == Error::Code::kInvalid);
      CHECK(std::string(e.what()).find("json.exception") == std::string::npos);
      return std::make_pair(e.message(), e.offset());
    }
    FAIL("no throw");
    return std::make_pair(std::string(), std::optional<uint64_t>());
  };
  CHECK(error_of("x") ==
        std::make_pair(std::string("not valid JSON: unexpected 'x' at line 1, column 1"),
                       std::optional<uint64_t>(0)));
  CHECK(error_of("") ==
        std::make_pair(std::string("not valid JSON: unexpected end of text at line 1, column 1"),
                       std::optional<uint64_t>(0)));
  CHECK(error_of("{\n  \"a\": [1,\n") ==
        std::make_pair(std::string("not valid JSON: unexpected end of text at line 3, column 1"),
                       std::optional<uint64_t>(13)));
  // Offsets count in the file, not in the text with NaN / Infinity substituted.
  CHECK(error_of("{\"a\": NaN, \"b\": -Infinity,\n \"c\": }") ==
        std::make_pair(std::string("not valid JSON: unexpected '}' at line 2, column 7"),
                       std::optional<uint64_t>(33)));
  CHECK(error_of("[\"a\x01\"]").first == "not valid JSON: unexpected byte 0x01 at line 1, column 4");
  CHECK(error_of("[1e999]") ==
        std::make_pair(std::string("not valid JSON: a number is too large for a double"),
                       std::optional<uint64_t>()));

  // The item error users see names the file, the line and the byte.
  testing::TempDir tmp;
  write_bytes(tmp.path() / "state" / "_METADATA", "{nope");
  const auto item = read_item(tmp.path() / "state", "state");
  REQUIRE(item.error.has_value());
  CHECK(*item.error == (tmp.path() / "state" / "_METADATA").string() +
                           ": not valid JSON: unexpected 'o' at line 1, column 3 (at byte 2)");
}

TEST_CASE("_CHECKPOINT_METADATA: every field optional, unknown keys, NaN metrics") {
  auto m = parse_step_metadata(
      R"({"item_handlers": {"a": "x.Y", "b": null}, "metrics": {"loss": NaN}, "init_timestamp_nsecs": 1778718340383655282, "commit_timestamp_nsecs": null, "custom": {"k": 1}})",
      "f");
  CHECK(m.present);
  const auto& h = std::get<1>(*m.item_handlers);
  CHECK(h.at("a") == "x.Y");
  CHECK_FALSE(h.at("b").has_value());
  CHECK(m.metrics == R"({"loss": NaN})");
  CHECK(m.performance_metrics == "{}");
  CHECK(m.init_timestamp_nsecs == 1778718340383655282);
  CHECK(m.commit_timestamp_null);
  CHECK_FALSE(m.commit_timestamp_nsecs.has_value());
  CHECK(m.custom_metadata == R"({"custom": {"k": 1}})");
  auto empty = parse_step_metadata("{}", "f");
  CHECK_FALSE(empty.item_handlers.has_value());
  CHECK(empty.custom_metadata == "{}");
  CHECK_THROWS_AS(parse_step_metadata(R"({"item_handlers": 3})", "f"), Error);
  CHECK_THROWS_AS(parse_step_metadata(R"({"init_timestamp_nsecs": 1.5e18})", "f"), Error);
  CHECK_THROWS_AS(parse_step_metadata(R"([1])", "f"), Error);
}

TEST_CASE("root metadata: current and legacy forms") {
  auto r = parse_root_metadata(R"({"internal_metadata": {}, "custom_metadata": {"lr": 0.001}, "extra": 1})", "f", false);
  CHECK(r.custom_metadata == R"({"lr": 0.001, "extra": 1})");
  auto legacy = parse_root_metadata(R"({"lr": 0.001})", "f", true);
  CHECK(legacy.legacy);
  CHECK(legacy.custom_metadata == R"({"lr": 0.001})");
}

TEST_CASE("_METADATA: key_metadata, value types, flags, strict-prefix entries") {
  const std::string text =
      R"j({"tree_metadata": {"('opt', '0')": {"key_metadata": [{"key": "opt", "key_type": 2}, {"key": "0", "key_type": 1}], "value_metadata": {"value_type": "None", "skip_deserialize": true}}, )j"
      R"j("('opt',)": {"key_metadata": [{"key": "opt", "key_type": 2}], "value_metadata": {"value_type": "Dict", "skip_deserialize": true}}, )j"
      R"j("('w',)": {"key_metadata": [{"key": "w", "key_type": 2}], "value_metadata": {"value_type": "jax.Array", "skip_deserialize": false, "write_shape": [2, 8]}}, )j"
      R"j("('a.b',)": {"key_metadata": [{"key": "a.b", "key_type": 2}], "value_metadata": {"value_type": "my.Custom", "skip_deserialize": false}}}, )j"
      R"j("use_ocdbt": true, "use_zarr3": false, "custom_metadata": {"note": "x"}, "value_metadata_tree": "{}"})j";
  const auto t = parse_tree_metadata(text, "f");
  REQUIRE(t.entries.size() == 3);  // ('opt',) is a strict prefix of ('opt', '0')
  CHECK(t.dropped_prefix_entries == 1);
  CHECK(t.entries[0].key_path == KeyPath{{"opt", KeyType::kDict}, {"0", KeyType::kSequence}});
  CHECK(t.entries[1].write_shape == Shape{2, 8});
  CHECK(t.entries[2].key_path.size() == 1);  // "a.b" is one key, never split
  CHECK(t.flags.use_ocdbt == true);
  CHECK(t.flags.custom_metadata == R"({"note": "x"})");
  CHECK(t.flags.has_value_metadata_tree);
  CHECK_FALSE(t.flags.store_array_data_equal_to_fill_value.has_value());

  CHECK(leaf_kind("jax.Array", false) == LeafKind::kArray);
  CHECK(leaf_kind("np.ndarray", true) == LeafKind::kBare);
  CHECK(leaf_kind("scalar", false) == LeafKind::kScalar);
  CHECK(leaf_kind("string", false) == LeafKind::kString);
  for (auto e : {"Dict", "List", "Tuple", "None", "NamedTuple"}) CHECK(leaf_kind(e, true) == LeafKind::kEmpty);
  CHECK(leaf_kind("placeholder", true) == LeafKind::kOther);
  CHECK(leaf_kind("my.Custom", false) == LeafKind::kOther);

  CHECK_THROWS_AS(parse_tree_metadata(R"({"use_zarr3": false})", "f"), Error);
  CHECK_THROWS_AS(parse_tree_metadata(R"({"tree_metadata": {"x": {"key_metadata": [{"key": "a", "key_type": 3}], "value_metadata": {"value_type": "x", "skip_deserialize": false}}}})", "f"), Error);
  CHECK_THROWS_AS(parse_tree_metadata(R"({"tree_metadata": {"x": {"key_metadata": [], "value_metadata": {"value_type": "x"}}}})", "f"), Error);
  CHECK_THROWS_AS(parse_tree_metadata("dummy", "f"), Error);
}

TEST_CASE("JSON string bodies: ends found past escaped quotes, decoded as a JSON parser does") {
  CHECK(json_string_end(R"("abc" x)", 1) == 4);
  CHECK(json_string_end(R"("a\"b" x)", 1) == 5);        // \" escapes the quote
  CHECK(json_string_end(R"("a\\" x)", 1) == 4);         // \\ is a backslash: the quote ends it
  CHECK(json_string_end(R"("a\\\"b" x)", 1) == 7);    // three backslashes: escaped again
  CHECK(json_string_end(R"("abc)", 1) == std::string_view::npos);
  CHECK(json_string_end(R"("a\")", 1) == std::string_view::npos);

  CHECK(decode_json_string(R"(a\"b\\c\/d\n\t\u00e9\ud83d\ude00)") ==
        "a\"b\\c/d\n\t\xc3\xa9\xf0\x9f\x98\x80");
  CHECK(decode_json_string("\xc3\xa9\xe6\x97\xa5\xf0\x9f\x98\x80") == "\xc3\xa9\xe6\x97\xa5\xf0\x9f\x98\x80");
  for (std::string bad : {R"(\x)", R"(\u12)", R"(\ud800)", R"(\udc00)", R"(\ud800\u0041)", "a\x01", "\"",
                          "\\", "\xc0\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe6\x97", "\xff"}) {
    CAPTURE(bad);
    CHECK_FALSE(decode_json_string(bad).has_value());
  }

  // Against nlohmann's reading of the same text: random strings of ASCII,
  // escapes and multi-byte characters, dumped as JSON and read back.
  std::mt19937 rng(7);
  const std::vector<std::string> pieces = {"a", "\"", "\\", "/", "\n", "\x01", "\x1f", "\xc3\xa9",
                                           "\xe6\x97\xa5", "\xf0\x9f\x98\x80", " ", "{", "}"};
  for (int i = 0; i < 2000; ++i) {
    std::string original;
    for (int k = std::uniform_int_distribution<int>(0, 12)(rng); k > 0; --k)
      original += pieces[std::uniform_int_distribution<size_t>(0, pieces.size() - 1)(rng)];
    for (const bool ascii : {false, true}) {
      const std::string text = nlohmann::json(original).dump(-1, ' ', ascii);
      const size_t end = json_string_end(text, 1);
      REQUIRE(end == text.size() - 1);
      CHECK(decode_json_string(std::string_view(text).substr(1, end - 1)) == original);
    }
  }
}

TEST_CASE("base64url: Orbax's _sharding keys, both directions") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"a", "YQ=="}, {"b.c", "Yi5j"}, {"params.w", "cGFyYW1zLnc="},
      {"params.dense.kernel", "cGFyYW1zLmRlbnNlLmtlcm5lbA=="}, {"x/y", "eC95"},
      {"\xc3\xa9", "w6k="}, {"", ""}, {"\xfb\xff", "-_8="}};
  for (const auto& [name, key] : cases) {
    CHECK(testing::base64url_encode(name) == key);
    CHECK(decode_base64url(key) == name);
  }
  for (auto bad : {"YQ", "YQ=", "Y===", "a+b/", "YR==", "Y=Q="}) CHECK_FALSE(decode_base64url(bad).has_value());
}

TEST_CASE("zarr dtypes: every dtype of the spec maps to its NumPy name") {
  const std::vector<std::pair<std::string, std::string>> v2 = {
      {"|b1", "bool"}, {"|i1", "int8"}, {"|u1", "uint8"}, {"<i2", "int16"}, {"<u2", "uint16"},
      {"<i4", "int32"}, {"<u4", "uint32"}, {"<i8", "int64"}, {"<u8", "uint64"},
      {"<f2", "float16"}, {"<f4", "float32"}, {"<f8", "float64"}, {"<c8", "complex64"},
      {"<c16", "complex128"}, {">i4", "int32"}, {">f8", "float64"}, {"=u2", "uint16"},
      {"|S5", "bytes40"}, {"|V4", "void32"}};
  for (const auto& [z, n] : v2) CHECK(numpy_dtype_from_zarr2(z) == n);
  const std::vector<std::string> extended = {
      "bfloat16", "float8_e4m3fn", "float8_e4m3fnuz", "float8_e4m3b11fnuz", "float8_e5m2",
      "float8_e5m2fnuz", "float8_e3m4", "float8_e8m0fnu", "float4_e2m1fn", "int4", "int2"};
  for (const auto& e : extended) {
    CHECK(numpy_dtype_from_zarr2(e) == e);
    CHECK(numpy_dtype_from_zarr3(e) == e);
  }
  for (auto s : {"bool", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64",
                 "float16", "float32", "float64", "complex64", "complex128"})
    CHECK(numpy_dtype_from_zarr3(s) == s);
  CHECK(numpy_dtype_from_zarr3("r16") == "void16");
  for (auto bad : {"<i3", "<x4", "i4", "", "<f16", "|b2", "<U5"}) CHECK_FALSE(numpy_dtype_from_zarr2(bad).has_value());
  CHECK_FALSE(numpy_dtype_from_zarr3("r7").has_value());
  CHECK_FALSE(numpy_dtype_from_zarr3("<i4").has_value());
  // The writer's spelling round-trips.
  for (auto s : {"bool", "int8", "uint32", "float64", "complex64", "bfloat16", "int4"})
    CHECK(numpy_dtype_from_zarr2(testing::zarr2_dtype(s)) == s);
}

TEST_CASE("zarr metadata: v2, v3 with and without the sharding codec, errors") {
  const auto z2 = parse_zarr2(R"({"chunks":[8],"compressor":{"id":"zstd","level":1},"dimension_separator":".","dtype":"<i4","fill_value":null,"filters":null,"order":"C","shape":[8],"zarr_format":2})", "f");
  CHECK(z2.shape == Shape{8});
  CHECK(z2.chunk_shape == Shape{8});
  CHECK(z2.dtype == "int32");
  const auto z3 = parse_zarr3(R"({"chunk_grid":{"configuration":{"chunk_shape":[8]},"name":"regular"},"chunk_key_encoding":{"name":"default"},"codecs":[{"configuration":{"chunk_shape":[4],"codecs":[],"index_codecs":[]},"name":"sharding_indexed"}],"data_type":"bfloat16","fill_value":0,"node_type":"array","shape":[8],"zarr_format":3})", "f");
  CHECK(z3.chunk_shape == Shape{4});
  CHECK(z3.dtype == "bfloat16");
  const auto plain = parse_zarr3(R"({"chunk_grid":{"configuration":{"chunk_shape":[2,3]},"name":"regular"},"codecs":[{"name":"bytes"}],"data_type":"bool","shape":[4,6],"zarr_format":3})", "f");
  CHECK(plain.chunk_shape == Shape{2, 3});
  CHECK_THROWS_AS(parse_zarr2(R"({"chunks":[8],"dtype":"<q4","shape":[8]})", "f"), Error);
  CHECK_THROWS_AS(parse_zarr2(R"({"chunks":[8],"dtype":[["a","<i4"]],"shape":[8]})", "f"), Error);
  CHECK_THROWS_AS(parse_zarr2(R"({"dtype":"<i4","shape":[8]})", "f"), Error);
  CHECK_THROWS_AS(parse_zarr3(R"({"data_type":"int32","shape":["x"]})", "f"), Error);
}

TEST_CASE("step names and unfinished names") {
  CHECK(parse_step_name("23") == 23);
  CHECK(parse_step_name("0023") == 23);
  CHECK(parse_step_name("step_23") == 23);
  CHECK(parse_step_name("step_0023") == 23);
  CHECK(parse_step_name("my_run_7") == 7);
  CHECK_FALSE(parse_step_name("best").has_value());
  CHECK_FALSE(parse_step_name("_5").has_value());
  CHECK_FALSE(parse_step_name("step-5").has_value());
  CHECK_FALSE(parse_step_name("99999999999999999999").has_value());
  CHECK(testing::step_folder_name(23, "", 4) == "0023");
  CHECK(testing::step_folder_name(12345, "step", 4) == "step_12345");
  CHECK_FALSE(unfinished_name_reason("100.orbax-checkpoint-tmp").empty());
  CHECK_FALSE(unfinished_name_reason("step_0100.orbax-checkpoint-tmp-1715000000").empty());
  CHECK_FALSE(unfinished_name_reason("7.partial_save").empty());
  CHECK_FALSE(unfinished_name_reason("7.pending_1715000000123_0a1b2c").empty());
  CHECK(unfinished_name_reason("7.pending_x_0a").empty());
  CHECK(unfinished_name_reason("100").empty());
  CHECK(final_name("step_0100.orbax-checkpoint-tmp-17") == "step_0100");
  CHECK(final_name("7.pending_1_ab") == "7");
}

TEST_CASE("Python keypath strings as Orbax writes them") {
  using testing::python_keypath_string;
  CHECK(python_keypath_string({{"a", KeyType::kDict}}) == "('a',)");
  CHECK(python_keypath_string({{"b", KeyType::kDict}, {"c", KeyType::kDict}}) == "('b', 'c')");
  CHECK(python_keypath_string({}) == "()");
  CHECK(python_keypath_string({{"it's", KeyType::kDict}}) == "(\"it's\",)");
  CHECK(python_keypath_string({{"x\"y", KeyType::kDict}, {"z'w", KeyType::kDict}}) == "('x\"y', \"z'w\")");
  CHECK(python_keypath_string({{"tab\t", KeyType::kDict}}) == "('tab\\t',)");
}

TEST_CASE("msgpack legacy file: ext arrays, placeholders, containers, chunked arrays, damage") {
  testing::TempDir tmp;
  // {"a": ext1[[8],"int64",bin8], "b": "PLACEHOLDER://b", "c": {"d": [], "e": nil, "f": 3, "g": 1.5},
  //  "t": ext4[1, ext3[[],"float32",bin4]],
  //  "big": {"__msgpack_chunked_array__": true, "shape": {"0": 2, "1": 3}, "chunks": {"0": ext1[[6],"bfloat16",bin12]}}}
  std::string b;
  auto str = [&](const std::string& s) { b += char(0xa0 | s.size()); b += s; };
  auto ext1 = [&](std::vector<int> shape, const std::string& dtype, int nbytes, int type = 1) {
    std::string p;
    p += char(0x93);
    p += char(0x90 | shape.size());
    for (int d : shape) p += char(d);
    p += char(0xa0 | dtype.size());
    p += dtype;
    p += char(0xc4);
    p += char(nbytes);
    p += std::string(nbytes, '\0');
    b += char(0xc7);
    b += char(p.size());
    b += char(type);
    b += p;
  };
  b += char(0x85);
  str("a"); ext1({8}, "int64", 64);
  str("b"); str("PLACEHOLDER://b");
  str("c"); b += char(0x84); str("d"); b += char(0x90); str("e"); b += char(0xc0); str("f"); b += char(0x03);
  str("g"); b += char(0xcb); b += std::string("\x3f\xf8\0\0\0\0\0\0", 8);
  str("t");
  {
    std::string saved = b;
    b.clear();
    b += char(0x92); b += char(0x01); ext1({}, "float32", 4, 3);
    const std::string payload = b;
    b = saved;
    b += char(0xc7); b += char(payload.size()); b += char(4); b += payload;
  }
  str("big"); b += char(0x83);
  b += char(0xb9); b += "__msgpack_chunked_array__"; b += char(0xc3);
  str("shape"); b += char(0x82); str("0"); b += char(2); str("1"); b += char(3);
  str("chunks"); b += char(0x81); str("0"); ext1({6}, "bfloat16", 12);
  const auto file = tmp.path() / "checkpoint";
  write_bytes(file, b);
  const auto leaves = read_legacy_checkpoint(file);
  std::map<std::string, LegacyLeaf> by;
  for (const auto& l : leaves) by[l.name] = l;
  CHECK(leaves.size() == 9);
  CHECK(by["a"].kind == LegacyLeaf::Kind::kInlineArray);
  CHECK(by["a"].shape == Shape{8});
  CHECK(by["a"].dtype == "int64");
  CHECK(by["b"].kind == LegacyLeaf::Kind::kPlaceholder);
  CHECK(by["b"].placeholder == "b");
  CHECK(by["c.d"].empty_type == "List");
  CHECK(by["c.e"].empty_type == "None");
  CHECK(by["c.f"].dtype == "int64");
  CHECK(by["c.g"].dtype == "float64");
  CHECK(by["t.0"].dtype == "int64");
  CHECK(by["t.1"].shape == Shape{});
  CHECK(by["t.1"].dtype == "float32");
  CHECK(by["t.1"].key_path.back().type == KeyType::kSequence);
  CHECK(by["big"].kind == LegacyLeaf::Kind::kInlineArray);
  CHECK(by["big"].shape == Shape{2, 3});
  CHECK(by["big"].dtype == "bfloat16");

  // Every truncation fails cleanly with the file named.
  for (size_t n = 0; n < b.size(); ++n) {
    write_bytes(file, b.substr(0, n));
    try {
      read_legacy_checkpoint(file);
      FAIL("truncated at " << n << " did not fail");
    } catch (const Error& e) {
      CHECK(e.file() == file.string());
    }
  }
  // Huge counts and lengths are rejected before allocation; deep nesting is bounded.
  for (std::string bad : {std::string("\xdd\xff\xff\xff\xff", 5), std::string("\xdb\xff\xff\xff\xff", 5),
                          std::string("\xc9\xff\xff\xff\xff\x01", 6), std::string(100, '\x91'),
                          std::string("\xc1")}) {
    write_bytes(file, bad);
    CHECK_THROWS_AS(read_legacy_checkpoint(file), Error);
  }
}

SHARED_TEST_CASE("the corpus's legacy msgpack files decode as the spec says") {
  const auto corpus = testing::shared_data_dir() / "corpus";
  const auto all = read_legacy_checkpoint(corpus / "orbax-aggregate/aggregate_all.checkpoint/checkpoint");
  REQUIRE(all.size() == 4);
  CHECK(all[0].name == "a");
  CHECK(all[0].shape == Shape{8});
  CHECK(all[1].shape == Shape{16});
  CHECK(all[2].name == "c.a");
  CHECK(all[2].shape == Shape{2, 4});
  CHECK(all[3].dtype == "int64");
  const auto some = read_legacy_checkpoint(corpus / "orbax-aggregate/aggregate_some.checkpoint/checkpoint");
  CHECK(some[0].kind == LegacyLeaf::Kind::kPlaceholder);
  CHECK(some[0].placeholder == "a");
}

TEST_CASE("read_file_unless_equal: a match is not copied, any difference reads the whole text") {
  testing::TempDir tmp;
  const std::filesystem::path file = tmp.path() / "f";
  std::string text(200000, 'x');  // over three 64 KiB chunks
  for (size_t i = 0; i < text.size(); ++i) text[i] = static_cast<char>('a' + i % 26);
  write_bytes(file, text);
  std::string out = "untouched";
  CHECK(read_file_unless_equal(file, text, out));
  CHECK(out == "untouched");
  // A difference at the start, at a chunk boundary, inside a later chunk, at the end.
  for (const size_t at : {size_t{0}, size_t{65535}, size_t{65536}, size_t{150000}, text.size() - 1}) {
    CAPTURE(at);
    std::string other = text;
    other[at] = '#';
    CHECK_FALSE(read_file_unless_equal(file, other, out));
    CHECK(out == text);
  }
  CHECK_FALSE(read_file_unless_equal(file, text.substr(1), out));  // another size
  CHECK(out == text);
  write_bytes(file, "");
  CHECK(read_file_unless_equal(file, "", out));
  CHECK_FALSE(read_file_unless_equal(file, "a", out));
  CHECK(out.empty());
  CHECK_THROWS_AS(read_file_unless_equal(tmp.path() / "missing", "", out), Error);
  CHECK_THROWS_AS(read_file_unless_equal(tmp.path(), "", out), Error);  // a folder
  write_bytes(file, text);
  CHECK_THROWS_AS(read_file_unless_equal(file, text, out, text.size() - 1), Error);  // over the cap
}

TEST_CASE("bounded file reading and root metadata files") {
  testing::TempDir tmp;
  write_bytes(tmp.path() / "big", std::string(100, ' '));
  CHECK(read_file_bounded(tmp.path() / "big", 100).size() == 100);
  try {
    read_file_bounded(tmp.path() / "big", 99);
    FAIL("no throw");
  } catch (const Error& e) {
    CHECK(e.code() == Error::Code::kInvalid);
    CHECK(e.file() == (tmp.path() / "big").string());
  }
  CHECK_THROWS_AS(read_file_bounded(tmp.path() / "missing"), Error);
  CHECK_THROWS_AS(read_file_bounded(tmp.path()), Error);  // a folder

  CHECK_FALSE(read_root_metadata(tmp.path()).present);
  write_bytes(tmp.path() / "metadata" / "metadata", R"({"lr": NaN})");
  auto legacy = read_root_metadata(tmp.path());
  CHECK(legacy.present);
  CHECK(legacy.legacy);
  CHECK(legacy.custom_metadata == R"({"lr": NaN})");
  write_bytes(tmp.path() / "metadata" / "_ROOT_METADATA", R"({"internal_metadata": {}, "custom": {"x": 1}})");
  auto current = read_root_metadata(tmp.path());
  CHECK_FALSE(current.legacy);
  CHECK(current.custom_metadata == R"({"custom": {"x": 1}})");
  write_bytes(tmp.path() / "metadata" / "_ROOT_METADATA", "{");
  auto broken = read_root_metadata(tmp.path());
  CHECK_FALSE(broken.present);
  REQUIRE(broken.problems.size() == 1);
  CHECK(broken.problems[0].file == (tmp.path() / "metadata" / "_ROOT_METADATA").string());
}

TEST_CASE("items: JSON items, invalid JSON, unknown folders") {
  testing::TempDir tmp;
  write_bytes(tmp.path() / "cfg" / "data.json", R"({"a": Infinity})");
  auto json_item = read_item(tmp.path() / "cfg", "cfg");
  CHECK(json_item.kind == ItemKind::kJson);
  CHECK(json_item.json_content == R"({"a": Infinity})");
  write_bytes(tmp.path() / "bad" / "metadata", "{nope");
  auto bad = read_item(tmp.path() / "bad", "bad");
  CHECK(bad.kind == ItemKind::kJson);
  REQUIRE(bad.error.has_value());
  CHECK(bad.error->find((tmp.path() / "bad" / "metadata").string()) != std::string::npos);
  write_bytes(tmp.path() / "proto" / "thing.pbtxt", "x: 1");
  CHECK(read_item(tmp.path() / "proto", "proto").kind == ItemKind::kOther);
  auto named = read_item(tmp.path() / "proto", "proto",
                         std::string("orbax.checkpoint._src.handlers.json_checkpoint_handler.JsonCheckpointHandler"));
  CHECK(named.kind == ItemKind::kJson);
  CHECK(named.error.has_value());
}
