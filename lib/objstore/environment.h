// Where settings come from: a lookup of environment variables, so tests can
// give a fixed set instead of the process's own.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>

namespace ckptcat::objstore {

// Returns a variable's value; nullopt when unset. Empty values count as unset,
// as the AWS and Google tools treat them.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

EnvLookup process_environment();
EnvLookup fixed_environment(std::map<std::string, std::string> variables);

}  // namespace ckptcat::objstore
