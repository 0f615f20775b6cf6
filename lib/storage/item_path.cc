// Item paths (item_path.h).
#include "item_path.h"

#include "mounts.h"

#include <sys/stat.h>
#include <unistd.h>

#include <vector>

namespace ckptcat::storage {
namespace {

namespace fs = std::filesystem;

constexpr unsigned kMaxLinks = 40;  // as the kernel's path walk (ELOOP)

// Pushes the "/"-separated components of `path` onto `stack` so that the first
// component is on top.
void push_components(std::string_view path, std::vector<std::string>& stack) {
  std::vector<std::string> parts;
  for (size_t start = 0; start <= path.size();) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    parts.emplace_back(path.substr(start, end - start));
    start = end + 1;
  }
  stack.insert(stack.end(), parts.rbegin(), parts.rend());
}

std::string lexically_absolute(const fs::path& dir) {
  std::string s = fs::absolute(dir).lexically_normal().string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

// `path` with the folder `dir` (no trailing "/") stripped, when it is `dir`
// itself or lies under it.
std::optional<std::string_view> under(std::string_view path, std::string_view dir) {
  if (path == dir) return std::string_view();
  if (dir == "/") return path.substr(1);
  if (path.size() > dir.size() && path.substr(0, dir.size()) == dir && path[dir.size()] == '/')
    return path.substr(dir.size() + 1);
  return std::nullopt;
}

}  // namespace

std::optional<std::string> relative_name_problem(std::string_view name) {
  if (name.empty()) return std::nullopt;
  if (name.front() == '/') return "absolute path";
  if (name.find('\0') != std::string_view::npos) return "NUL byte";
  if (name.find('\\') != std::string_view::npos) return "backslash";
  for (size_t start = 0; start <= name.size();) {
    size_t end = name.find('/', start);
    if (end == std::string_view::npos) end = name.size();
    const std::string_view part = name.substr(start, end - start);
    if (part.empty()) return "empty path component";
    if (part == ".") return "'.' path component";
    if (part == "..") return "'..' path component";
    start = end + 1;
  }
  return std::nullopt;
}

std::string escape_message(std::string_view what, std::string_view name, std::string_view why) {
  std::string printable;
  for (const char c : name) {
    if (c == '\0') printable += "\\0";
    else printable += c;
  }
  return std::string(what) + " \"" + printable + "\" escapes the item folder (" + std::string(why) + ")";
}

LocalItemRoot::LocalItemRoot(const fs::path& item_dir) {
  if (is_url(item_dir.native())) {  // no links: names are checked, nothing resolved
    given_ = item_dir;
    real_.clear();
    return;
  }
  given_ = lexically_absolute(item_dir);
  given_prefix_ = given_.string() + "/";
  if (given_prefix_ == "//") given_prefix_ = "/";
  std::error_code ec;
  const fs::path real = fs::canonical(given_, ec);
  real_ = ec ? given_.string() : lexically_absolute(real);
}

std::optional<fs::path> LocalItemRoot::resolve(std::string_view relative, std::string& why) const {
  if (auto problem = relative_name_problem(relative)) {
    why = *problem;
    return std::nullopt;
  }
  if (real_.empty()) return relative.empty() ? given_ : given_ / relative;  // an object-store prefix
  // `current` is always real_ followed by components that exist as real
  // folders (no links), so a ".." from a link target is undone lexically.
  std::vector<std::string> pending;
  push_components(relative, pending);
  std::vector<size_t> lengths;  // current's length before each component added
  std::string current = real_;
  unsigned links = 0;
  bool exists = true;
  while (!pending.empty()) {
    const std::string part = std::move(pending.back());
    pending.pop_back();
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (lengths.empty()) {
        why = "a symbolic link leads above the item folder";
        return std::nullopt;
      }
      current.resize(lengths.back());
      lengths.pop_back();
      continue;
    }
    std::string next = current == "/" ? "/" + part : current + "/" + part;
    struct stat st {};
    if (exists && ::lstat(next.c_str(), &st) != 0) exists = false;
    if (exists && S_ISLNK(st.st_mode)) {
      if (++links > kMaxLinks) {
        why = "too many symbolic links";
        return std::nullopt;
      }
      std::string target(static_cast<size_t>(st.st_size > 0 ? st.st_size : 255) + 1, '\0');
      const ssize_t n = ::readlink(next.c_str(), target.data(), target.size());
      if (n < 0 || static_cast<size_t>(n) >= target.size()) {
        why = "unreadable symbolic link";
        return std::nullopt;
      }
      target.resize(static_cast<size_t>(n));
      if (!target.empty() && target.front() == '/') {
        // An absolute target must name the item (by its real or given path);
        // it is then walked from the item folder, never from "/".
        const std::string normal = fs::path(target).lexically_normal().string();
        auto rest = under(normal, real_);
        if (!rest) rest = under(normal, given_.string());
        if (!rest) {
          why = "symbolic link to \"" + target + "\" outside the item folder";
          return std::nullopt;
        }
        current = real_;
        lengths.clear();
        push_components(*rest, pending);
      } else {
        push_components(target, pending);
      }
      continue;
    }
    lengths.push_back(current.size());
    current = std::move(next);
  }
  return fs::path(current);
}

std::optional<fs::path> LocalItemRoot::resolve_absolute(const std::string& path, std::string& why) const {
  const auto rest = under(path, given_.string());
  if (!rest) {
    why = "not under the item folder";
    return std::nullopt;
  }
  return resolve(*rest, why);
}

}  // namespace ckptcat::storage
