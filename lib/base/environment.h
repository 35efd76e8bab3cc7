// Reading environment variables through one injectable function, so tests
// can give a tool an environment without setenv races.
#ifndef COLDSTART_LIB_BASE_ENVIRONMENT_H_
#define COLDSTART_LIB_BASE_ENVIRONMENT_H_

#include <functional>
#include <map>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace coldstart {

// The value of a variable, or nullopt when it is unset. Set-but-empty is "".
using Environment =
    std::function<std::optional<std::string>(absl::string_view name)>;

// The process environment (getenv).
Environment ProcessEnvironment();

// A fixed environment for tests.
Environment FixedEnvironment(std::map<std::string, std::string> variables);

// The value when set and non-empty, else nullopt: the rule every coldstart
// lookup uses (an exported but empty variable counts as unset).
std::optional<std::string> NonEmpty(const Environment& environment,
                                    absl::string_view name);

}  // namespace coldstart

#endif  // COLDSTART_LIB_BASE_ENVIRONMENT_H_
