// Bounded reading of the small JSON files Orbax writes, parsed the way Python's
// json module reads them: the non-standard tokens NaN, Infinity and -Infinity
// are accepted (json.dumps writes them for non-finite floats, orbax-format.md
// §2.5) and become doubles, so pyjson::dumps re-emits them unchanged. Nesting
// depth and file size are capped so hostile files cannot exhaust memory.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "ckptcat/error.h"
#include "posix_file.h"
#include "store.h"

namespace ckptcat::orbax {

// Largest JSON file read into memory (a _METADATA of a million leaves is ~150 MiB).
inline constexpr uint64_t kMaxJsonFileBytes = 256ull << 20;
// Deepest JSON nesting accepted (Orbax's own files nest at most ~6 levels;
// user metadata gets generous room).
inline constexpr int kMaxJsonDepth = 512;

// Every function below takes local paths and object URLs alike: a URL is
// served by the store mounted for it (storage/mounts.h), from its kept
// listings where they answer.

// Whether `path` names an entry of its folder: an existing file or folder, or
// a symbolic link even when its target is missing (reading it then reports the
// dangling link instead of the file passing for absent).
bool entry_exists(const std::filesystem::path& path);
// Whether `path` names an entry that is not a folder (links not followed): a
// file, or a FIFO or link that reading then reports for what it is.
bool file_entry_exists(const std::filesystem::path& path);

// Opens a file of a checkpoint for reading (storage/posix_file.h: never blocks,
// regular files only): a symbolic link is followed only while it stays inside
// the file's folder (storage/item_path.h). Throws Error kNotFound when it does
// not exist (naming a dangling link), kInvalid when it is larger than
// `max_bytes`, not a regular file, or a link leading out of its folder, kIO
// when the system refuses.
storage::PosixFile open_metadata_file(const std::filesystem::path& file, uint64_t max_bytes);
// The same for a local file or an object: reads at offsets.
std::unique_ptr<storage::RandomAccessFile> open_checkpoint_file(const std::filesystem::path& file,
                                                                uint64_t max_bytes);
// Whether `path` exists (links followed), or an object URL is listed.
bool entry_or_object_exists(const std::filesystem::path& path);
// Whether `path` is a regular file (links followed) or an object.
bool regular_file_exists(const std::filesystem::path& path);

// Reads a whole regular file of at most `max_bytes`. Throws Error kNotFound when
// it does not exist, kInvalid when it is too large or not a regular file, kIO
// when reading fails.
std::string read_file_bounded(const std::filesystem::path& file,
                              uint64_t max_bytes = kMaxJsonFileBytes);
// The same into `out`, reusing its capacity: a reader of many large files
// keeps one buffer, because glibc consolidates its heap on every free of a
// large block (a 400 KB _METADATA per step made that a tenth of read time).
void read_file_bounded(const std::filesystem::path& file, std::string& out,
                       uint64_t max_bytes = kMaxJsonFileBytes);
// Reads `file` as read_file_bounded does, unless its bytes equal `expected`:
// then returns true, `out` left as it was. The file is compared chunk by chunk
// as it is read, so a match costs one pass over data that stays in cache
// instead of a copy and a compare of the whole text. Otherwise returns false
// with the text in `out`.
bool read_file_unless_equal(const std::filesystem::path& file, std::string_view expected,
                            std::string& out, uint64_t max_bytes = kMaxJsonFileBytes);

// Parses `text` (see above). The only place the reader parses JSON: every
// parser failure becomes Error kInvalid naming `file`, with a plain message for
// users ("not valid JSON: unexpected '}' at line 3, column 7") and the byte
// offset in `text` as Error::offset(); no nlohmann exception escapes.
nlohmann::ordered_json parse_json(std::string_view text, const std::string& file);

// read_file_bounded + parse_json.
nlohmann::ordered_json read_json_file(const std::filesystem::path& file,
                                      uint64_t max_bytes = kMaxJsonFileBytes);

// An integer member without going through double: nullopt when absent or null;
// Error kInvalid (naming `file` and `key`) when present with another type or
// outside int64.
std::optional<int64_t> get_int64(const nlohmann::ordered_json& object, const char* key,
                                 const std::string& file);

// A JSON list of integers (a shape); Error kInvalid when it is something else.
std::vector<int64_t> to_shape(const nlohmann::ordered_json& value, const std::string& file,
                              const std::string& what);

// Python-json.dumps text of a parsed value (NaN/Infinity kept as tokens).
std::string to_python_json(const nlohmann::ordered_json& value);

}  // namespace ckptcat::orbax
