// ParamIndex (see param_index.h).
#include "param_index.h"

#include <algorithm>

namespace ckptcat::orbax {

ParamIndex::ParamIndex(std::vector<std::string> names) : names_(std::move(names)) {
  std::sort(names_.begin(), names_.end());
  names_.erase(std::unique(names_.begin(), names_.end()), names_.end());
  // Views into names_, which no longer changes.
  by_name_.reserve(names_.size());
  for (size_t i = 0; i < names_.size(); ++i) by_name_.emplace(names_[i], i);
}

}  // namespace ckptcat::orbax
