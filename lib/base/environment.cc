#include "lib/base/environment.h"

#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <utility>

namespace coldstart {

Environment ProcessEnvironment() {
  return [](absl::string_view name) -> std::optional<std::string> {
    const char* value = std::getenv(std::string(name).c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

Environment FixedEnvironment(std::map<std::string, std::string> variables) {
  return [variables = std::move(variables)](
             absl::string_view name) -> std::optional<std::string> {
    auto it = variables.find(std::string(name));
    if (it == variables.end()) return std::nullopt;
    return it->second;
  };
}

std::optional<std::string> NonEmpty(const Environment& environment,
                                    absl::string_view name) {
  std::optional<std::string> value = environment(name);
  if (!value.has_value() || value->empty()) return std::nullopt;
  return value;
}

}  // namespace coldstart
