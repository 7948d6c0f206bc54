#pragma once
// Result<T> and Status: berth's error values (g++ 12 has no std::expected).
//
// An Error carries a kind (which decides the HTTP status and lets callers branch) and the exact
// AWS error code a client expects (`ClientException`, `ParameterNotFound`, ...). Services build
// errors through factories in their `<svc>_errors.h`; only `api` turns them into wire envelopes.

#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

#include "core/assert.h"

namespace berth {

enum class ErrorKind : uint8_t {
  InvalidArgument,  // 400: the request is wrong; nothing changed.
  NotFound,         // 400 (AWS JSON services answer 400 for missing resources).
  AlreadyExists,    // 400
  Conflict,         // 400: the resource is in a state that forbids the call.
  LimitExceeded,    // 400
  AccessDenied,     // 400 or 403 depending on the protocol.
  Unauthenticated,  // 403: missing, unknown or wrongly signed credentials.
  PayloadTooLarge,  // 413
  Throttled,        // 400
  Unavailable,      // 503
  Internal,         // 500: a bug or an environment failure; the message is never sent out.
};

struct Error {
  ErrorKind kind = ErrorKind::Internal;
  std::string aws_code;  // exact `__type` / `<Code>` AWS sends
  std::string message;   // text shown to the client (except for Internal)
};

inline Error MakeError(ErrorKind kind, std::string aws_code, std::string message) {
  return Error{kind, std::move(aws_code), std::move(message)};
}
inline Error InternalError(std::string message) {
  return Error{ErrorKind::Internal, "InternalFailure", std::move(message)};
}

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}  // NOLINT
  // From any value that converts to T (one user conversion, as if T had been written).
  template <typename U, typename = std::enable_if_t<!std::is_same_v<std::decay_t<U>, T> &&
                                                    !std::is_same_v<std::decay_t<U>, Error> &&
                                                    std::is_constructible_v<T, U&&>>>
  Result(U&& value) : v_(T(std::forward<U>(value))) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    BERTH_ASSERT(ok(), "value() on an error Result");
    return std::get<0>(v_);
  }
  const T& value() const& {
    BERTH_ASSERT(ok(), "value() on an error Result");
    return std::get<0>(v_);
  }
  T&& value() && {
    BERTH_ASSERT(ok(), "value() on an error Result");
    return std::get<0>(std::move(v_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const {
    BERTH_ASSERT(!ok(), "error() on an ok Result");
    return std::get<1>(v_);
  }
  Error&& take_error() && { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

// Status is a Result without a value; OkStatus() is success.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)) {}  // NOLINT
  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& error() const {
    BERTH_ASSERT(!ok(), "error() on an ok Status");
    return *error_;
  }
  Error&& take_error() && { return std::move(*error_); }

 private:
  std::optional<Error> error_;
};

inline Status OkStatus() { return Status(); }

}  // namespace berth

// BERTH_TRY(var, expr): evaluates a Result-returning expr; returns its error from the enclosing
// function, or binds the value to `var`.
#define BERTH_CONCAT_INNER(a, b) a##b
#define BERTH_CONCAT(a, b) BERTH_CONCAT_INNER(a, b)
#define BERTH_TRY(var, expr)                                      \
  auto BERTH_CONCAT(berth_try_, __LINE__) = (expr);               \
  if (!BERTH_CONCAT(berth_try_, __LINE__).ok()) {                 \
    return std::move(BERTH_CONCAT(berth_try_, __LINE__)).take_error(); \
  }                                                               \
  var = std::move(BERTH_CONCAT(berth_try_, __LINE__)).value()

// BERTH_RETURN_IF_ERROR(status_expr): returns the error of a Status or Result.
#define BERTH_RETURN_IF_ERROR(expr)                               \
  do {                                                            \
    auto berth_status_ = (expr);                                  \
    if (!berth_status_.ok()) {                                    \
      return std::move(berth_status_).take_error();               \
    }                                                             \
  } while (0)
