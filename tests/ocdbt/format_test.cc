// Unit tests of the pure format codecs in lib/ocdbt/format/, on bytes from the
// spec's worked examples and hand-built items.
#include <doctest/doctest.h>

#include <string>

#include "ckptcat/error.h"
#include "format/btree.h"
#include "format/byte_reader.h"
#include "format/crc32c.h"
#include "format/data_file_table.h"
#include "format/envelope.h"
#include "format/manifest.h"
#include "ocdbt_writer.h"

using namespace ckptcat::ocdbt::format;
using ckptcat::Error;

namespace {

std::string unhex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size();) {
    if (hex[i] == ' ' || hex[i] == '\n') {
      ++i;
      continue;
    }
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
    i += 2;
  }
  return out;
}

Error::Code code_of(auto&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.code();
  }
  FAIL("no ckptcat::Error thrown");
  return Error::Code::kIO;
}

// Spec §10.1: a real top-level manifest.ocdbt (113 bytes).
const std::string kRealManifest = unhex(
    "0cdb3a2a7100000000000000000128b5"
    "2ffd2056b10200023329 70f7c85c9b53"
    "731e740d635f150080 0880c2d72f0401"
    "000000000122 00642f3966353164 3962"
    "3737633063373731333533633537 3762"
    "363564633762626135 0101000000f001"
    "04f00100eeb72329e846af18006f93c9"
    "a3");

}  // namespace

TEST_CASE("varints decode the spec's examples and reject overlong or out-of-range forms") {
  auto v64 = [](std::string_view hex) {
    std::string bytes = unhex(hex);
    ByteReader in(bytes);
    const uint64_t v = in.varint64("x");
    CHECK(in.at_end());
    return v;
  };
  CHECK(v64("8008") == 1024);
  CHECK(v64("80c2d72f") == 100000000);
  CHECK(v64("f001") == 240);
  CHECK(v64("ffffffffffffffffff01") == ~uint64_t{0});
  CHECK(code_of([&] { v64("ffffffffffffffffff02"); }) == Error::Code::kCorruption);
  CHECK(code_of([&] { v64("ffffffffffffffffffff01"); }) == Error::Code::kCorruption);
  CHECK(code_of([&] { v64("80"); }) == Error::Code::kCorruption);
  std::string five = unhex("ffffffff0f"), six = unhex("ffffffff8f01"), big16 = unhex("808004");
  CHECK(ByteReader(five).varint32("x") == 0xffffffffu);
  CHECK(code_of([&] { ByteReader(six).varint32("x"); }) == Error::Code::kCorruption);
  CHECK(code_of([&] { ByteReader(big16).varint16("x"); }) == Error::Code::kCorruption);
  std::string fixed = unhex("0cdb3a2a 0100000000000000 feffffff");
  ByteReader in(fixed);
  CHECK(in.u32be("m") == 0x0CDB3A2Au);
  CHECK(in.u64le("l") == 1);
  CHECK(in.i32le("i") == -2);
  CHECK(code_of([&] { in.u8("past the end"); }) == Error::Code::kCorruption);
  ByteReader counts(fixed);
  CHECK(code_of([&] { counts.check_count(1000, 2, "n"); }) == Error::Code::kCorruption);
}

TEST_CASE("CRC-32C check value; the fast path equals Boost.CRC") {
  CHECK(crc32c("123456789") == 0xE3069283u);
  CHECK(crc32c_portable("123456789") == 0xE3069283u);
  CHECK(crc32c("") == 0u);
  std::string bytes(3000, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 131 + (i >> 3));
  for (size_t start : {0, 1, 3, 7})
    for (size_t len : {0, 1, 7, 8, 9, 63, 64, 65, 2990})
      CHECK(crc32c(std::string_view(bytes).substr(start, len)) ==
            crc32c_portable(std::string_view(bytes).substr(start, len)));
}

TEST_CASE("the spec's real manifest decodes field by field") {
  REQUIRE(kRealManifest.size() == 113);
  std::string scratch;
  std::string_view body = open_envelope(kRealManifest, kManifestMagic, 1 << 20, scratch);
  CHECK(body.size() == 86);
  Manifest m = decode_manifest(body);
  CHECK(m.config.uuid[0] == 0x02);
  CHECK(m.config.uuid[15] == 0x15);
  CHECK(m.config.manifest_kind == ManifestKind::kSingle);
  CHECK(m.config.max_inline_value_bytes == 1024);
  CHECK(m.config.max_decoded_node_bytes == 100000000);
  CHECK(m.config.version_tree_arity_log2 == 4);
  CHECK(m.config.compression_method == 1);
  CHECK(m.config.zstd_level == 0);
  REQUIRE(m.table.size() == 1);
  CHECK(m.table[0].base_path == "");
  CHECK(m.table[0].relative_path == "d/9f51d9b77c0c771353c577b65dc7bba5");
  REQUIRE(m.versions.size() == 1);
  const auto& v = m.latest();
  CHECK(v.generation == 1);
  CHECK(v.root_height == 0);
  CHECK(v.root.file_id == 0);
  CHECK(v.root.offset == 0);
  CHECK(v.root.length == 240);
  CHECK(v.num_keys == 4);
  CHECK(v.num_tree_bytes == 240);
  CHECK(v.num_indirect_value_bytes == 0);
  CHECK(v.commit_time == 1778718340771198958ull);
  CHECK(m.version_nodes.empty());
}

TEST_CASE("envelope checks magic, length, CRC, version and compression") {
  std::string scratch;
  CHECK(code_of([&] { open_envelope(kRealManifest, kBtreeNodeMagic, 1 << 20, scratch); }) ==
        Error::Code::kCorruption);
  CHECK(code_of([&] { open_envelope(kRealManifest.substr(0, 112), kManifestMagic, 1 << 20, scratch); }) ==
        Error::Code::kCorruption);
  CHECK(code_of([&] { open_envelope("", kManifestMagic, 1 << 20, scratch); }) == Error::Code::kCorruption);
  // Decoded size cap.
  CHECK(code_of([&] { open_envelope(kRealManifest, kManifestMagic, 50, scratch); }) ==
        Error::Code::kCorruption);

  // Version 1 and compression 7 with a valid CRC: unsupported.
  auto with_header = [](int version, int compression) {
    std::string item = unhex("0cdb20de 1200000000000000");
    item.push_back(static_cast<char>(version));
    item.push_back(static_cast<char>(compression));
    const uint32_t crc = crc32c(item);
    for (int i = 0; i < 4; ++i) item.push_back(static_cast<char>((crc >> (8 * i)) & 0xff));
    return item;
  };
  CHECK(open_envelope(with_header(0, 0), kBtreeNodeMagic, 100, scratch).empty());
  CHECK(code_of([&] { open_envelope(with_header(1, 0), kBtreeNodeMagic, 100, scratch); }) ==
        Error::Code::kUnsupported);
  CHECK(code_of([&] { open_envelope(with_header(0, 7), kBtreeNodeMagic, 100, scratch); }) ==
        Error::Code::kUnsupported);

  // Zstd: several frames, frames without content size, and a decompression bomb.
  std::string body(100000, 'x');
  for (size_t i = 0; i < body.size(); i += 7) body[i] = static_cast<char>(i);
  for (int frames : {1, 3}) {
    for (bool content_size : {true, false}) {
      std::string item = ckptcat::testing::encode_ocdbt_envelope(kBtreeNodeMagic, body, true, frames, content_size);
      CHECK(open_envelope(item, kBtreeNodeMagic, 1 << 20, scratch) == body);
      CHECK(code_of([&] { open_envelope(item, kBtreeNodeMagic, 99999, scratch); }) == Error::Code::kCorruption);
    }
  }
  // A zstd stream cut short (with a valid CRC) is corrupt.
  std::string item = ckptcat::testing::encode_ocdbt_envelope(kBtreeNodeMagic, body, true);
  std::string cut = item.substr(0, item.size() - 10);
  const uint64_t len = cut.size() + 4;
  for (int i = 0; i < 8; ++i) cut[4 + i] = static_cast<char>((len >> (8 * i)) & 0xff);
  const uint32_t crc = crc32c(cut);
  for (int i = 0; i < 4; ++i) cut.push_back(static_cast<char>((crc >> (8 * i)) & 0xff));
  CHECK(code_of([&] { open_envelope(cut, kBtreeNodeMagic, 1 << 20, scratch); }) == Error::Code::kCorruption);
}

TEST_CASE("data file table: prefix compression, base paths, transitive paths, constraints") {
  // Two paths sharing "d/a", read inside a node reached through ocdbt.process_0/.
  std::string t = unhex("02 03 04 01 00 00") + "d/aab";
  ByteReader in(t);
  DataFileTable table = decode_data_file_table(in, "ocdbt.process_0/");
  CHECK(in.at_end());
  REQUIRE(table.size() == 2);
  CHECK(table[0].base_path == "ocdbt.process_0/");
  CHECK(table[0].relative_path == "d/aa");
  CHECK(table[1].path() == "ocdbt.process_0/d/ab");

  // A base path: "ocdbt.process_1/" + "d/x".
  std::string b = unhex("01 13 10") + "ocdbt.process_1/d/x";
  ByteReader in2(b);
  DataFileTable t2 = decode_data_file_table(in2, "");
  CHECK(t2[0].base_path == "ocdbt.process_1/");
  CHECK(t2[0].relative_path == "d/x");

  // Violations: prefix beyond the previous path, base longer than the path,
  // sharing into a relative path across different bases, huge counts.
  std::string bad_prefix = unhex("02 09 02 02 00 00") + "abcd";
  ByteReader r1(bad_prefix);
  CHECK(code_of([&] { decode_data_file_table(r1, ""); }) == Error::Code::kCorruption);
  std::string bad_base = unhex("01 02 05") + "ab";
  ByteReader r2(bad_base);
  CHECK(code_of([&] { decode_data_file_table(r2, ""); }) == Error::Code::kCorruption);
  std::string cross = unhex("02 03 03 03 01 00") + "a/bcde";
  ByteReader r3(cross);
  CHECK(code_of([&] { decode_data_file_table(r3, ""); }) == Error::Code::kCorruption);
  std::string huge = unhex("ffffffffffffffff7f");
  ByteReader r4(huge);
  CHECK(code_of([&] { decode_data_file_table(r4, ""); }) == Error::Code::kCorruption);
}

TEST_CASE("B+tree leaf from spec §10.2 and interior node columns") {
  // Leaf: keys a/.zarray, a/0, b.c/.zarray, b.c/0 with small inline values.
  std::string leaf = unhex("00 00 04 020004 09010b01") + "a/.zarray" + "0" + "b.c/.zarray" + "0" +
                     unhex("02 01 02 03 00000000") + "AAB" + "BBCCC";
  BtreeNode node;
  decode_btree_node(leaf, "", node);
  REQUIRE(node.size() == 4);
  CHECK(node.key(0) == "a/.zarray");
  CHECK(node.key(1) == "a/0");
  CHECK(node.key(2) == "b.c/.zarray");
  CHECK(node.key(3) == "b.c/0");
  CHECK(node.inline_value(0) == "AA");
  CHECK(node.inline_value(1) == "B");
  CHECK(node.inline_value(3) == "CCC");

  // Interior: two children in file 0, subtree common prefixes 2 and 1.
  std::string interior = unhex("01 01 03 00") + "d/x" + unhex("02 00 02 01 02 01") + "ab" + "b" +
                         unhex("00 00 00 20 10 10 05 05 00 00 00 00");
  decode_btree_node(interior, "ocdbt.process_0/", node);
  CHECK(node.height == 1);
  CHECK(node.table[0].path() == "ocdbt.process_0/d/x");
  CHECK(node.key(0) == "ab");
  CHECK(node.key(1) == "b");
  CHECK(node.subtree_common_prefix[0] == 2);
  CHECK(node.children[1].ref.offset == 0x20);
  CHECK(node.children[1].ref.length == 0x10);

  // Keys out of order, a prefix longer than the previous key, an entry count of
  // zero, a huge count, value kind 2, a bad file id, trailing bytes.
  auto bad = [&](std::string bytes) {
    return code_of([&] { decode_btree_node(bytes, "", node); });
  };
  CHECK(bad(unhex("00 00 02 00 01 01") + "ba" + unhex("00 00 00 00")) == Error::Code::kCorruption);
  CHECK(bad(unhex("00 00 02 05 01 01") + "ab" + unhex("00 00 00 00")) == Error::Code::kCorruption);
  CHECK(bad(unhex("00 00 00")) == Error::Code::kCorruption);
  CHECK(bad(unhex("00 00 ffffffff0f")) == Error::Code::kCorruption);
  CHECK(bad(unhex("00 00 01 01") + "a" + unhex("00 02")) == Error::Code::kCorruption);
  CHECK(bad(unhex("00 00 01 01") + "a" + unhex("05 01 00 00")) == Error::Code::kCorruption);
  CHECK(bad(unhex("00 00 01 01") + "a" + unhex("00 00 ff")) == Error::Code::kCorruption);
  // subtree_common_prefix_length longer than the key.
  CHECK(bad(unhex("01 01 03 00") + "d/x" + unhex("01 02 05") + "ab" + unhex("00 00 10 01 10 00")) ==
        Error::Code::kCorruption);
}
