// Item paths: the one place where a name taken from a checkpoint's metadata (a
// leaf's param name, an OCDBT data-file path, a name in _sharding or
// array_metadatas) becomes a location inside the item it belongs to.
//
// A checkpoint handed over by someone else is untrusted input: Orbax joins a
// param name to the item folder to find its zarr folder, so a name such as
// "../outside/secret" or "/etc/x" would make a reader open files elsewhere on
// the importing machine (the same class as the public proof of concept against
// Orbax restore through `key_metadata`). ckptcat refuses such names here, for
// local folders and object-store prefixes alike, and resolves local paths
// component by component so that a symbolic link inside the item cannot lead
// outside either. Nothing outside the item is opened, listed or stat'ed.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace ckptcat::storage {

// Why `name` cannot name a location inside an item, or nullopt when it can.
// A valid name is relative, and each of its "/"-separated components is
// non-empty, neither "." nor "..", without a backslash (a separator on other
// systems and in some object-store gateways) and without a NUL or other control
// byte. The empty name is valid: it is the item itself (a top-level leaf).
std::optional<std::string> relative_name_problem(std::string_view name);

// The message for a refused name: `what` ("name", "data file path") quoted,
// "escapes the item folder", and why.
std::string escape_message(std::string_view what, std::string_view name, std::string_view why);

// A local item folder, resolved once; or an item under an object-store URL
// (mounts.h), where there are no links: names are checked, then joined. Paths under it are resolved inside it:
// a symbolic link met on the way is followed only while its target stays inside
// the item (relative or absolute, through further links, at most 40 of them),
// and nothing outside the item is looked at to decide. Not thread-safe to share
// while it is being assigned; const methods may run concurrently.
class LocalItemRoot {
 public:
  // `item_dir` must exist; its own path may hold symbolic links (a scanned tree
  // reached through a link), which are resolved once here.
  explicit LocalItemRoot(const std::filesystem::path& item_dir);

  // The folder as given (absolute, lexically normal), for messages.
  const std::filesystem::path& path() const { return given_; }

  // `relative` (see relative_name_problem) resolved to a path inside the item,
  // or nullopt with `why` set when it names or leads to a place outside it.
  // A component that does not exist ends the resolution: the rest is appended
  // as is (opening it then fails as "not found").
  std::optional<std::filesystem::path> resolve(std::string_view relative, std::string& why) const;

  // `path`, an absolute path lexically under path() (as readers build them),
  // resolved as above; nullopt with `why` when it is not under the item.
  std::optional<std::filesystem::path> resolve_absolute(const std::string& path, std::string& why) const;

 private:
  std::filesystem::path given_;  // absolute, lexically normal
  std::string given_prefix_;     // given_ + "/"
  std::string real_;             // the canonical folder, every link resolved
};

}  // namespace ckptcat::storage
