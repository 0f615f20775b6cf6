// Shared<T>: an immutable value whose copies share one object. A 4,096-device
// pod repeats one ~90 KB sharding string and one 4,096-entry device mesh for
// every array of a step; leaves holding them as Shared values cost a pointer
// each instead of a copy each, and code that meets the same object twice can
// tell in constant time (same_object) before comparing contents.
//
// It reads like a const T: `*s`, `s->`, and begin/end/size/empty/operator[]
// and data for containers; it converts to const T&. Equality compares
// contents (identical objects first), never addresses. The value is immutable
// and its count atomic, so copies may be read and dropped from any thread.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <memory>
#include <ostream>
#include <string>
#include <type_traits>
#include <utility>

namespace ckptcat {

namespace shared_detail {
// What a braced list of a T holds: its value_type, when it has one.
template <class T>
struct ListElement {
  struct None {};
  using type = None;
};
template <class T>
  requires requires { typename T::value_type; }
struct ListElement<T> {
  using type = typename T::value_type;
};
}  // namespace shared_detail

template <class T>
class Shared {
  using ListElement = typename shared_detail::ListElement<T>::type;

 public:
  Shared() : value_(empty_value()) {}
  // From anything a T is made of, implicitly, as the T it replaces was:
  // `leaf.sharding_string = "..."`, `mesh.device_ids = ids`, `DeviceMesh{{0, 1}}`.
  template <class U>
    requires(std::is_constructible_v<T, U &&> && !std::is_same_v<std::remove_cvref_t<U>, Shared>)
  Shared(U&& value) : value_(std::make_shared<const T>(std::forward<U>(value))) {}  // NOLINT
  Shared(std::initializer_list<ListElement> list)
    requires std::is_constructible_v<T, std::initializer_list<ListElement>>
      : value_(std::make_shared<const T>(list)) {}
  // Takes part in ownership of `value` (an empty pointer reads as T{}).
  explicit Shared(std::shared_ptr<const T> value)
      : value_(value ? std::move(value) : empty_value()) {}

  const T& get() const { return *value_; }
  const T& operator*() const { return *value_; }
  const T* operator->() const { return value_.get(); }
  operator const T&() const { return *value_; }  // NOLINT: implicit by design

  auto begin() const { return value_->begin(); }
  auto end() const { return value_->end(); }
  auto size() const { return value_->size(); }
  bool empty() const { return value_->empty(); }
  auto data() const { return value_->data(); }
  decltype(auto) operator[](std::size_t i) const { return (*value_)[i]; }

  // Whether both hold the very same object (then they are equal without a look).
  bool same_object(const Shared& other) const { return value_ == other.value_; }

  friend bool operator==(const Shared& a, const Shared& b) {
    return a.value_ == b.value_ || *a.value_ == *b.value_;
  }
  // Against a plain value: a T, or for strings a literal.
  friend bool operator==(const Shared& a, const T& b) { return *a.value_ == b; }
  friend bool operator==(const Shared& a, const char* b)
    requires std::is_same_v<T, std::string>
  {
    return *a.value_ == b;
  }
  friend std::ostream& operator<<(std::ostream& out, const Shared& s) { return out << *s.value_; }

 private:
  // One empty T for every default-constructed Shared<T>: no allocation each.
  static const std::shared_ptr<const T>& empty_value() {
    static const auto empty = std::make_shared<const T>();
    return empty;
  }

  std::shared_ptr<const T> value_;
};

}  // namespace ckptcat
