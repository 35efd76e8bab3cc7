// Where a lab module listens: parsing "HOST:PORT" and the host:port of a
// spec endpoint URL, the same way for every module.
#ifndef COLDSTART_LAB_LISTEN_ADDRESS_H_
#define COLDSTART_LAB_LISTEN_ADDRESS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lab/module.h"

namespace coldstart::lab {

struct HostPort {
  std::string host;
  int port = 0;
};

// "HOST:PORT" with a port in 0..65535. InvalidArgument, prefixed with
// "`what`: ", otherwise.
absl::StatusOr<HostPort> ParseHostPort(absl::string_view address,
                                       absl::string_view what);

// The address a module listens on: its "address" module option if given,
// else the host and port of `url` (an https:// endpoint from the spec; the
// port defaults to 443) when `url` is not empty, else `default_address`.
// InvalidArgument naming `module` when the chosen value does not parse.
absl::StatusOr<HostPort> ModuleListenAddress(const ModuleContext& context,
                                             absl::string_view module,
                                             absl::string_view url,
                                             absl::string_view default_address);

}  // namespace coldstart::lab

#endif  // COLDSTART_LAB_LISTEN_ADDRESS_H_
