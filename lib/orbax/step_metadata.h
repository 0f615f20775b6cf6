// _CHECKPOINT_METADATA (step metadata, orbax-format.md §2) and the root
// metadata of a CheckpointManager folder (§2.6).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "ckptcat/checkpoint.h"
#include "ckptcat/reader.h"

namespace ckptcat::orbax {

// Parses the text of a _CHECKPOINT_METADATA file the way Orbax reads it
// (§2.3): every field optional, `item_handlers` a string or an object, unknown
// keys moved into custom_metadata (when custom_metadata is empty), timestamps as
// exact int64. Wrong field types throw Error kInvalid naming `file`.
StepMetadata parse_step_metadata(std::string_view text, const std::string& file);

// Reads <dir>/_CHECKPOINT_METADATA. A missing file gives `present == false`;
// an unreadable or invalid one also gives defaults (as Orbax does) plus a
// warning in `problems`.
StepMetadata read_step_metadata(const std::filesystem::path& dir, std::vector<Problem>& problems);

// Parses _ROOT_METADATA (`legacy == false`) or the legacy metadata/metadata
// dict (`legacy == true`, every key is custom metadata).
RootMetadata parse_root_metadata(std::string_view text, const std::string& file, bool legacy);

}  // namespace ckptcat::orbax
