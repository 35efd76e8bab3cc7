#include "tools/provision-vms/provision_options.h"

#include "absl/strings/str_cat.h"

namespace coldstart {

absl::Status CheckProvisionOptions(const ProvisionOptions& options) {
  if (options.adopt && options.destroy) {
    return absl::InvalidArgumentError(
        "--adopt and --destroy exclude each other");
  }
  if (options.parallelism < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--parallelism ", options.parallelism, ": must be at least 1"));
  }
  return absl::OkStatus();
}

}  // namespace coldstart
