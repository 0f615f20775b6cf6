// TextMemo: parses remembered by the exact bytes they were parsed from.
//
// The steps of one training run repeat their metadata files byte for byte
// (_METADATA, _sharding, array_metadatas/process_N, every zarr metadata value),
// so a reader that walks a thousand steps would otherwise parse the same JSON
// a thousand times. A memo maps a file's text to its parse; equal bytes give
// an equal parse, so a hit is exact, never a guess.
//
// Only parses that are pure functions of the text belong here: a result whose
// messages name the file it came from (problems, errors) must not be reused
// for another file, which is what `get`'s `keep` predicate is for. Memory is
// bounded by a count of texts and a total of their bytes (a parse takes a few
// times its text): a text over the byte limit is never kept, and when one
// more would pass either limit, everything is forgotten first. Readers go
// through checkpoints run by run, so a few entries hold a run's working set.
#pragma once

#include <array>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>

#include "json_file.h"

namespace ckptcat::orbax {

template <typename T>
class TextMemo {
 public:
  TextMemo(size_t max_texts, size_t max_bytes) : max_texts_(max_texts), max_bytes_(max_bytes) {}
  // Moving keeps the map's nodes, so recent_ stays valid; a copy would not.
  TextMemo(TextMemo&&) noexcept = default;
  TextMemo& operator=(TextMemo&&) noexcept = default;
  TextMemo(const TextMemo&) = delete;
  TextMemo& operator=(const TextMemo&) = delete;

  // The parse kept for `text`, or null. The few texts found last are
  // compared first: consecutive steps repeat a file, and a big tree cycles
  // through a handful of zarr texts; comparing a text costs a fraction of
  // hashing it (a 400 KB _METADATA, or 500 bytes per leaf).
  std::shared_ptr<const T> find(const std::string& text) const {
    for (size_t i = 0; i < kRecent && recent_[i]; ++i)
      if (recent_[i]->first == text) {
        const auto* hit = recent_[i];
        note_recent(hit, i);
        return hit->second;
      }
    const auto it = parses_.find(text);
    if (it == parses_.end()) return nullptr;
    note_recent(&*it, kRecent - 1);
    return it->second;
  }

  // `text` is copied, or moved in when the caller gives it up.
  void put(std::string text, std::shared_ptr<const T> parse) {
    if (text.size() > max_bytes_) return;
    if (!parses_.count(text) &&
        (parses_.size() >= max_texts_ || bytes_ + text.size() > max_bytes_)) {
      parses_.clear();
      recent_ = {};
      bytes_ = 0;
    }
    const size_t size = text.size();
    const auto [it, added] = parses_.insert_or_assign(std::move(text), std::move(parse));
    if (added) bytes_ += size;
    note_recent(&*it, kRecent - 1);
  }

  // The kept parse of `text`, else parse() (whose exceptions pass through),
  // kept when keep(result) says it does not depend on anything but the text.
  template <typename Parse, typename Keep>
  std::shared_ptr<const T> get(const std::string& text, Parse&& parse, Keep&& keep) {
    return find_or_parse(text, std::forward<Parse>(parse), std::forward<Keep>(keep));
  }

  template <typename Parse>
  std::shared_ptr<const T> get(const std::string& text, Parse&& parse) {
    return get(text, std::forward<Parse>(parse), [](const T&) { return true; });
  }

  // get() for the text of `file` (json_file.h errors pass through), which
  // `parse` receives. A file repeating the last text found or put (the next
  // step of a run) is compared while read and never copied; any other text
  // is read into `buffer`. A text of kMoveAbove bytes or more that is kept
  // moves from `buffer` into the memo (a pod's 64 MB _sharding is held once,
  // not twice), leaving `buffer` empty.
  template <typename Parse, typename Keep>
  std::shared_ptr<const T> get_file(const std::filesystem::path& file, std::string& buffer,
                                    Parse&& parse, Keep&& keep) {
    const auto* last = recent_[0];
    if (last && read_file_unless_equal(file, last->first, buffer)) return last->second;
    if (!last) read_file_bounded(file, buffer);
    auto parse_buffer = [&] { return parse(buffer); };
    if (buffer.size() < kMoveAbove) return find_or_parse(buffer, parse_buffer, keep);
    auto parsed = find_or_parse(std::move(buffer), parse_buffer, keep);
    buffer.clear();  // moved into the memo, or not kept: a scratch buffer either way
    return parsed;
  }

  template <typename Parse>
  std::shared_ptr<const T> get_file(const std::filesystem::path& file, std::string& buffer,
                                    Parse&& parse) {
    return get_file(file, buffer, std::forward<Parse>(parse), [](const T&) { return true; });
  }

 private:
  // find(text), else parse() kept when keep(result) allows; an rvalue `text`
  // moves into the memo (only after parse() is done with it).
  template <typename Text, typename Parse, typename Keep>
  std::shared_ptr<const T> find_or_parse(Text&& text, Parse&& parse, Keep&& keep) {
    if (auto hit = find(text)) return hit;
    auto parsed = std::make_shared<const T>(parse());
    if (keep(*parsed)) put(std::forward<Text>(text), parsed);
    return parsed;
  }

  size_t max_texts_, max_bytes_;
  using Parses = std::unordered_map<std::string, std::shared_ptr<const T>>;
  Parses parses_;
  // Moves `node` to the front of recent_, shifting those before `from` down.
  void note_recent(const typename Parses::value_type* node, size_t from) const {
    for (size_t i = from; i > 0; --i) recent_[i] = recent_[i - 1];
    recent_[0] = node;
  }

  static constexpr size_t kRecent = 4;
  static constexpr size_t kMoveAbove = size_t{1} << 20;
  // The texts found or put last, most recent first (map nodes stay put when
  // the map rehashes or moves).
  mutable std::array<const typename Parses::value_type*, kRecent> recent_{};
  size_t bytes_ = 0;  // of the kept texts
};

// The parse of `file`'s text: through `memo` when there is one, else read
// into `buffer` (or a buffer of its own) and parsed afresh.
template <typename T, typename Parse, typename Keep>
std::shared_ptr<const T> parse_file(TextMemo<T>* memo, const std::filesystem::path& file,
                                    std::string* buffer, Parse&& parse, Keep&& keep) {
  std::string own_buffer;
  std::string& text = buffer ? *buffer : own_buffer;
  if (memo) return memo->get_file(file, text, std::forward<Parse>(parse), std::forward<Keep>(keep));
  read_file_bounded(file, text);
  return std::make_shared<const T>(parse(text));
}

template <typename T, typename Parse>
std::shared_ptr<const T> parse_file(TextMemo<T>* memo, const std::filesystem::path& file,
                                    std::string* buffer, Parse&& parse) {
  return parse_file(memo, file, buffer, std::forward<Parse>(parse), [](const T&) { return true; });
}

}  // namespace ckptcat::orbax
