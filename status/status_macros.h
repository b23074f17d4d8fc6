// Status propagation macros for absl::Status / absl::StatusOr.
//
// Abseil 20220623 (Debian bookworm) ships neither absl/log nor a public
// RETURN_IF_ERROR, so the project keeps its own two macros here. Header-only,
// no state: safe from any thread.
#ifndef LOADTEST_STATUS_STATUS_MACROS_H_
#define LOADTEST_STATUS_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// Evaluates `expr` (an absl::Status) and returns it from the enclosing
// function when it is not OK.
#define RETURN_IF_ERROR(expr)                              \
  do {                                                     \
    ::absl::Status loadtest_status_ = (expr);              \
    if (!loadtest_status_.ok()) return loadtest_status_;   \
  } while (0)

#define LOADTEST_STATUS_CONCAT_INNER_(a, b) a##b
#define LOADTEST_STATUS_CONCAT_(a, b) LOADTEST_STATUS_CONCAT_INNER_(a, b)

// `ASSIGN_OR_RETURN(auto x, StatusOrExpr());` declares/assigns `x` from the
// value, or returns the error status from the enclosing function.
#define ASSIGN_OR_RETURN(lhs, expr)                                      \
  LOADTEST_ASSIGN_OR_RETURN_IMPL_(                                       \
      LOADTEST_STATUS_CONCAT_(loadtest_statusor_, __LINE__), lhs, expr)

#define LOADTEST_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                                    \
  if (!statusor.ok()) return std::move(statusor).status();   \
  lhs = std::move(statusor).value()

#endif  // LOADTEST_STATUS_STATUS_MACROS_H_
