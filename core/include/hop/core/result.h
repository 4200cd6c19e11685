// Result<T>: a value or an Error (error_code + context). No exceptions on the data path.
#pragma once

#include <string>
#include <system_error>
#include <utility>
#include <variant>

namespace hop::core {

// An error code from a per-module category plus what was being done when it happened.
struct Error {
  std::error_code code;
  std::string context;

  // "context: message" — what a user or a log line sees.
  std::string message() const {
    if (context.empty()) return code.message();
    return context + ": " + code.message();
  }
  // Adds an outer context ("loading identity: reading /x: permission denied").
  Error wrap(const std::string& outer) const { return {code, outer + ": " + context}; }
};

inline Error make_error(std::error_code code, std::string context = {}) {
  return {code, std::move(context)};
}

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

// Result<void>: success or an Error.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)), failed_(true) {}  // NOLINT

  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  const Error& error() const { return error_; }

 private:
  Error error_;
  bool failed_ = false;
};

inline Status ok_status() { return {}; }

}  // namespace hop::core
