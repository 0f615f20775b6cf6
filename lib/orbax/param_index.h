// ParamIndex: an item's param names, by name and by position (in name order).
//
// Built once per distinct _METADATA and shared by everything that resolves a
// name against the item: the keys of its _sharding file and the array store
// of every step that repeats the tree.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace ckptcat::orbax {

class ParamIndex {
 public:
  // Each distinct name once, sorted.
  explicit ParamIndex(std::vector<std::string> names);
  ParamIndex(const ParamIndex&) = delete;  // by_name_ views into names_
  ParamIndex& operator=(const ParamIndex&) = delete;

  std::optional<size_t> find(std::string_view name) const {
    const auto it = by_name_.find(name);
    return it == by_name_.end() ? std::nullopt : std::optional<size_t>(it->second);
  }
  bool contains(std::string_view name) const { return by_name_.count(name) != 0; }
  const std::string& name(size_t position) const { return names_[position]; }
  size_t size() const { return names_.size(); }

 private:
  std::vector<std::string> names_;
  std::unordered_map<std::string_view, size_t> by_name_;
};

}  // namespace ckptcat::orbax
