// Kubernetes label and field selectors as the API server parses them:
// `k=v`, `k==v`, `k!=v`, `k`, `!k`, `k in (a,b)`, `k notin (a,b)`, comma
// separated (commas inside parentheses belong to the set).
#ifndef COLDSTART_LAB_KUBE_SELECTOR_H_
#define COLDSTART_LAB_KUBE_SELECTOR_H_

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace coldstart::lab {

struct Requirement {
  std::string key;
  enum { kEq, kNe, kExists, kNotExists, kIn, kNotIn } op;
  std::set<std::string> values;
};

// The requirements of `selector` (empty selector: none). InvalidArgument
// "unable to parse requirement: ..." for a malformed set.
absl::StatusOr<std::vector<Requirement>> ParseSelector(
    absl::string_view selector);

// True when every requirement holds; `lookup` gives a key's value, nullopt
// when the key is absent.
bool Matches(
    const std::vector<Requirement>& requirements,
    const std::function<std::optional<std::string>(const std::string&)>&
        lookup);

}  // namespace coldstart::lab

#endif  // COLDSTART_LAB_KUBE_SELECTOR_H_
