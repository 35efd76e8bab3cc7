// RETURN_IF_ERROR and ASSIGN_OR_RETURN, with the names and meaning later Abseil
// releases give them. Abseil 20220623 (Debian 12) ships neither.
//
//   RETURN_IF_ERROR(DoThing());                 // returns the status if it is
//   not OK ASSIGN_OR_RETURN(Cluster cluster, Read());  // declares/assigns, or
//   returns the error
#ifndef COLDSTART_LIB_BASE_STATUS_MACROS_H_
#define COLDSTART_LIB_BASE_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define COLDSTART_STATUS_CONCAT_INNER(a, b) a##b
#define COLDSTART_STATUS_CONCAT(a, b) COLDSTART_STATUS_CONCAT_INNER(a, b)

// Evaluates `expr` (an absl::Status) once; returns it from the enclosing
// function if not OK.
#define RETURN_IF_ERROR(expr)                              \
  do {                                                     \
    ::absl::Status coldstart_status_macro_status = (expr); \
    if (!coldstart_status_macro_status.ok()) {             \
      return coldstart_status_macro_status;                \
    }                                                      \
  } while (false)

// Evaluates `rexpr` (an absl::StatusOr<T>) once; on error returns its status
// from the enclosing function, otherwise moves the value into `lhs` (a
// declaration or an existing lvalue).
#define ASSIGN_OR_RETURN(lhs, rexpr)                                           \
  COLDSTART_ASSIGN_OR_RETURN_IMPL(                                             \
      COLDSTART_STATUS_CONCAT(coldstart_statusor_macro_value_, __LINE__), lhs, \
      rexpr)

#define COLDSTART_ASSIGN_OR_RETURN_IMPL(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                    \
  if (!statusor.ok()) {                                       \
    return std::move(statusor).status();                      \
  }                                                           \
  lhs = *std::move(statusor)

#endif  // COLDSTART_LIB_BASE_STATUS_MACROS_H_
