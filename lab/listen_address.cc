#include "lab/listen_address.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace coldstart::lab {

absl::StatusOr<HostPort> ParseHostPort(absl::string_view address,
                                       absl::string_view what) {
  std::pair<std::string, std::string> parts =
      absl::StrSplit(address, absl::MaxSplits(':', 1));
  HostPort result{parts.first, 0};
  if (result.host.empty() || !absl::SimpleAtoi(parts.second, &result.port) ||
      result.port < 0 || result.port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": address \"", address, "\" is not HOST:PORT"));
  }
  return result;
}

absl::StatusOr<HostPort> ModuleListenAddress(
    const ModuleContext& context, absl::string_view module,
    absl::string_view url, absl::string_view default_address) {
  auto option = context.options.find("address");
  if (option != context.options.end()) {
    return ParseHostPort(option->second, module);
  }
  if (url.empty()) return ParseHostPort(default_address, module);
  absl::string_view rest = url;
  if (!absl::ConsumePrefix(&rest, "https://")) {
    return absl::InvalidArgumentError(
        absl::StrCat(module, ": endpoint \"", url, "\" is not an https URL"));
  }
  rest = rest.substr(0, rest.find('/'));
  if (!absl::StrContains(rest, ':')) {
    return ParseHostPort(absl::StrCat(rest, ":443"), module);
  }
  return ParseHostPort(rest, module);
}

}  // namespace coldstart::lab
