// Step folder names (orbax-format.md §1.2-§1.3).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace ckptcat::orbax {

// Why a folder name marks an unfinished save ("" when it does not):
// ".orbax-checkpoint-tmp" anywhere (with or without "-<timestamp>"),
// a ".partial_save" suffix, or a ".pending_<ns>_<hex>" suffix (v1 partial saves).
std::string unfinished_name_reason(std::string_view name);

// The name the save will get once finished: the part before the tmp,
// partial or pending suffix ("step_0100" for "step_0100.orbax-checkpoint-tmp-17").
std::string_view final_name(std::string_view name);

}  // namespace ckptcat::orbax
