// Step names (see step_name.h and ckptcat/reader.h parse_step_name).
//
// Accepted step names, covering Orbax's standard NameFormat and the legacy
// helper (§1.2): all digits, with or without zero padding ("23", "0023"), or
// "<prefix>_<digits>" ("step_23", "step_0023", "ckpt_7"). Anything else
// ("best", "final") is a checkpoint without a step number.
#include "step_name.h"

#include <charconv>

#include "ckptcat/reader.h"

namespace ckptcat::orbax {
namespace {

constexpr std::string_view kTmp = ".orbax-checkpoint-tmp";
constexpr std::string_view kPartial = ".partial_save";
constexpr std::string_view kPending = ".pending_";

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) if (c < '0' || c > '9') return false;
  return true;
}

bool is_hex(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) return false;
  return true;
}

// Position of a ".pending_<digits>_<hex>" suffix, or npos.
size_t pending_suffix(std::string_view name) {
  const size_t pos = name.rfind(kPending);
  if (pos == std::string_view::npos) return pos;
  const std::string_view rest = name.substr(pos + kPending.size());
  const size_t underscore = rest.find('_');
  if (underscore == std::string_view::npos || !all_digits(rest.substr(0, underscore)) ||
      !is_hex(rest.substr(underscore + 1)))
    return std::string_view::npos;
  return pos;
}

}  // namespace

std::string unfinished_name_reason(std::string_view name) {
  if (name.find(kTmp) != std::string_view::npos)
    return "temporary folder (.orbax-checkpoint-tmp): save in progress or interrupted";
  if (name.size() > kPartial.size() && name.substr(name.size() - kPartial.size()) == kPartial)
    return "partial save in progress (.partial_save)";
  if (pending_suffix(name) != std::string_view::npos)
    return "pending partial save (.pending_<ns>_<hex>)";
  return "";
}

std::string_view final_name(std::string_view name) {
  if (const size_t pos = name.find(kTmp); pos != std::string_view::npos) return name.substr(0, pos);
  if (name.size() > kPartial.size() && name.substr(name.size() - kPartial.size()) == kPartial)
    return name.substr(0, name.size() - kPartial.size());
  if (const size_t pos = pending_suffix(name); pos != std::string_view::npos)
    return name.substr(0, pos);
  return name;
}

std::optional<int64_t> parse_step_name(std::string_view name) {
  std::string_view digits = name;
  if (!all_digits(name)) {
    const size_t underscore = name.rfind('_');
    if (underscore == std::string_view::npos || underscore == 0) return std::nullopt;
    digits = name.substr(underscore + 1);
    if (!all_digits(digits)) return std::nullopt;
  }
  int64_t step = 0;
  const auto r = std::from_chars(digits.data(), digits.data() + digits.size(), step);
  if (r.ec != std::errc() || r.ptr != digits.data() + digits.size()) return std::nullopt;
  return step;
}

}  // namespace ckptcat::orbax
