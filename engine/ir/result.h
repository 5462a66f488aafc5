// Result<T>: the engine's error channel. No exception crosses the engine's public API;
// every fallible call returns a Result holding either a value or an Error that names
// the thing (file, node, layer) and the problem in words a person can act on.
#pragma once

#include <cassert>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

namespace prunelab::engine {

enum class ErrorCode {
    InvalidArgument,  // the caller passed something malformed (wrong shape, bad option)
    NotFound,         // a file, input name, initializer or attribute is missing
    Unsupported,      // well-formed, but an op / attribute / dtype we do not handle
    Corrupt,          // a file that does not parse or is internally inconsistent
    ShapeMismatch,    // shapes that do not fit together
    OutOfRange,       // a size over the engine's limits (e.g. a 2^40-element tensor)
    Io,               // the OS refused a read or write
    Cancelled,        // the user asked to stop
    Internal,         // a bug in PruneLab: please report
};

const char* errorCodeName(ErrorCode code);

struct Error {
    ErrorCode code = ErrorCode::Internal;
    std::string message;  // what went wrong, e.g. "initializer has 12 bytes, expected 36"
    std::string context;  // where: "model.onnx: node 'conv1' (Conv)"; outermost first

    // "model.onnx: node 'conv1' (Conv): initializer has 12 bytes, expected 36"
    std::string toString() const;
    // Returns a copy with `where` prepended to the context (callers add outer context).
    Error within(const std::string& where) const;
};

inline Error makeError(ErrorCode code, std::string message, std::string context = {}) {
    return Error{code, std::move(message), std::move(context)};
}

// A value or an Error. Deliberately small: ok(), value(), error(), and the PL_TRY macros.
template <class T>
class [[nodiscard]] Result {
  public:
    Result(T value) : m_state(std::in_place_index<0>, std::move(value)) {}
    Result(Error error) : m_state(std::in_place_index<1>, std::move(error)) {}

    bool ok() const { return m_state.index() == 0; }
    explicit operator bool() const { return ok(); }

    T& value() & {
        assert(ok());
        return std::get<0>(m_state);
    }
    const T& value() const& {
        assert(ok());
        return std::get<0>(m_state);
    }
    T&& value() && {
        assert(ok());
        return std::get<0>(std::move(m_state));
    }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }

    const Error& error() const {
        assert(!ok());
        return std::get<1>(m_state);
    }

  private:
    std::variant<T, Error> m_state;
};

template <>
class [[nodiscard]] Result<void> {
  public:
    Result() = default;
    Result(Error error) : m_error(std::move(error)), m_ok(false) {}

    bool ok() const { return m_ok; }
    explicit operator bool() const { return m_ok; }
    const Error& error() const {
        assert(!m_ok);
        return m_error;
    }

  private:
    Error m_error;
    bool m_ok = true;
};

using Status = Result<void>;

}  // namespace prunelab::engine

// Propagate an error: PL_TRY(status_expr); or PL_TRY_ASSIGN(auto x, result_expr);
// PL_TRY_ASSIGN expands to several statements (it declares `x` in the enclosing scope): never
// use it as the body of an unbraced if/for; write `if (c) { PL_TRY_ASSIGN(...); }`.
#define PL_CONCAT_INNER(a, b) a##b
#define PL_CONCAT(a, b) PL_CONCAT_INNER(a, b)

#define PL_TRY(expr)                                             \
    do {                                                         \
        auto&& pl_try_result_ = (expr);                          \
        if (!pl_try_result_.ok()) return pl_try_result_.error(); \
    } while (0)

#define PL_TRY_ASSIGN_IMPL(tmp, lhs, expr) \
    auto tmp = (expr);                     \
    if (!tmp.ok()) return tmp.error();     \
    lhs = std::move(tmp).value()

#define PL_TRY_ASSIGN(lhs, expr) PL_TRY_ASSIGN_IMPL(PL_CONCAT(pl_try_tmp_, __LINE__), lhs, expr)
