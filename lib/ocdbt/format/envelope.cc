#include "envelope.h"

#include <zstd.h>

#include <algorithm>
#include <memory>

#include "byte_reader.h"
#include "ckptcat/error.h"
#include "crc32c.h"

namespace ckptcat::ocdbt::format {
namespace {

[[noreturn]] void corrupt(const std::string& message, uint64_t offset) {
  throw Error(Error::Code::kCorruption, message, {}, offset);
}

std::string hex32(uint32_t v) {
  static const char* digits = "0123456789abcdef";
  std::string out = "0x";
  for (int shift = 28; shift >= 0; shift -= 4) out += digits[(v >> shift) & 0xf];
  return out;
}

struct DctxDeleter {
  void operator()(ZSTD_DCtx* ctx) const { ZSTD_freeDCtx(ctx); }
};

// One decompression context per thread, reset before each use.
ZSTD_DCtx* thread_dctx() {
  thread_local std::unique_ptr<ZSTD_DCtx, DctxDeleter> ctx(ZSTD_createDCtx());
  if (!ctx) throw Error(Error::Code::kIO, "cannot allocate a zstd decompression context");
  ZSTD_DCtx_reset(ctx.get(), ZSTD_reset_session_only);
  return ctx.get();
}

// Decodes the zstd stream `payload` (which starts at `payload_offset` in the
// item) and returns the decoded bytes: a prefix of `out`, which only grows
// (geometrically, up to `cap` bytes). Shrinking it to the result would make
// the next call fill it with zeros again.
std::string_view zstd_decode(std::string_view payload, uint64_t payload_offset, uint64_t cap,
                             std::string& out) {
  ZSTD_DCtx* dctx = thread_dctx();
  const auto too_big = [&](uint64_t at) {
    corrupt("zstd body decodes to more than the cap of " + std::to_string(cap) + " bytes", at);
  };
  // A single frame that declares its size (TensorStore writes those) decodes
  // in one call, straight into place; anything else goes through the stream.
  const size_t first_frame = ZSTD_findFrameCompressedSize(payload.data(), payload.size());
  const unsigned long long declared = ZSTD_getFrameContentSize(payload.data(), payload.size());
  if (!ZSTD_isError(first_frame) && first_frame == payload.size() &&
      declared != ZSTD_CONTENTSIZE_UNKNOWN && declared != ZSTD_CONTENTSIZE_ERROR) {
    if (declared > cap) too_big(payload_offset);
    if (out.size() < declared) out.resize(declared);
    const size_t n = ZSTD_decompressDCtx(dctx, out.data(), declared, payload.data(), payload.size());
    if (ZSTD_isError(n))
      corrupt(std::string("bad zstd stream: ") + ZSTD_getErrorName(n), payload_offset);
    return {out.data(), n};
  }
  ZSTD_inBuffer in{payload.data(), payload.size(), 0};
  // Start from a guess (or the buffer left by the previous item), never above the cap.
  const uint64_t guess = std::max<uint64_t>({uint64_t{4096}, uint64_t{payload.size()} * 4, uint64_t{out.size()}});
  if (out.size() < std::min<uint64_t>(cap, guess)) out.resize(std::min<uint64_t>(cap, guess));
  size_t produced = 0;
  size_t last = 0;  // ZSTD_decompressStream's hint: 0 once every frame is complete and flushed
  // Feed all input, then keep draining while the decoder still holds output.
  while (in.pos < in.size || last != 0) {
    // `out` may be larger than this item's cap (left so by an earlier item).
    if (produced == std::min<uint64_t>(out.size(), cap)) {
      if (produced >= cap) too_big(payload_offset + in.pos);
      out.resize(std::min<uint64_t>(cap, uint64_t{out.size()} * 2));
    }
    const size_t room = std::min<uint64_t>(out.size(), cap);
    ZSTD_outBuffer buf{out.data(), room, produced};
    const size_t input_before = in.pos;
    const size_t output_before = produced;
    last = ZSTD_decompressStream(dctx, &buf, &in);
    if (ZSTD_isError(last))
      corrupt(std::string("bad zstd stream: ") + ZSTD_getErrorName(last), payload_offset + in.pos);
    produced = buf.pos;
    // No progress with room to write: the last frame lacks bytes.
    if (last != 0 && in.pos == input_before && produced == output_before && produced < room)
      corrupt("zstd stream is truncated (last frame incomplete)", payload_offset + in.pos);
  }
  return {out.data(), produced};
}

}  // namespace

const char* magic_name(uint32_t magic) {
  switch (magic) {
    case kManifestMagic: return "manifest";
    case kVersionNodeMagic: return "version-tree node";
    case kBtreeNodeMagic: return "B+tree node";
  }
  return "unknown item";
}

std::string_view open_envelope(std::string_view item, uint32_t expected_magic,
                               uint64_t max_decoded_bytes, std::string& scratch) {
  if (item.size() < kMinEnvelopeSize)
    corrupt(std::string(magic_name(expected_magic)) + " of " + std::to_string(item.size()) +
                " bytes is shorter than the 16-byte minimum",
            0);
  ByteReader header(item.substr(0, item.size() - 4));
  const uint32_t magic = header.u32be("magic");
  if (magic != expected_magic)
    corrupt("bad magic " + hex32(magic) + ", expected " + hex32(expected_magic) + " (" +
                magic_name(expected_magic) + ")",
            0);
  const uint64_t length = header.u64le("length");
  if (length != item.size())
    corrupt(std::string(magic_name(expected_magic)) + " header length " + std::to_string(length) +
                " differs from the " + std::to_string(item.size()) + " bytes stored",
            4);
  const size_t crc_offset = item.size() - 4;
  ByteReader crc_reader(item.substr(crc_offset));
  const uint32_t stored_crc = crc_reader.u32le("crc32c");
  const uint32_t actual_crc = crc32c(item.substr(0, crc_offset));
  if (stored_crc != actual_crc)
    corrupt("CRC-32C mismatch: stored " + hex32(stored_crc) + ", computed " + hex32(actual_crc),
            crc_offset);
  const uint32_t version = header.varint32("format version");
  if (version != 0)
    throw Error(Error::Code::kUnsupported,
                "format version " + std::to_string(version) + " (only 0 is supported)", {}, 12);
  const size_t compression_offset = header.position();
  const uint32_t compression = header.varint32("compression format");
  const size_t body_offset = header.position();
  std::string_view payload = item.substr(body_offset, crc_offset - body_offset);
  switch (compression) {
    case 0:
      if (payload.size() > max_decoded_bytes)
        corrupt("raw body of " + std::to_string(payload.size()) + " bytes exceeds the cap of " +
                    std::to_string(max_decoded_bytes),
                body_offset);
      return payload;
    case 1:
      return zstd_decode(payload, body_offset, max_decoded_bytes, scratch);
    default:
      throw Error(Error::Code::kUnsupported,
                  "compression format " + std::to_string(compression) +
                      " (0 = raw and 1 = zstd are supported)",
                  {}, compression_offset);
  }
}

}  // namespace ckptcat::ocdbt::format
