// The common flags of every coldstart tool, defined once. Link this only into
// a tool's main (*_main.cc); libraries take CommonOptions instead.
//
//   --in FILE  --state FILE  -o textproto|json  --dry-run  --events FILE
//   --keystore SPEC
//
// Parse argv through NormalizeFlagNames (lib/cli.h) so "--dry-run" works.
#ifndef COLDSTART_LIB_CLI_FLAGS_H_
#define COLDSTART_LIB_CLI_FLAGS_H_

#include <string>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lib/cli/cli.h"
#include "lib/cli/command_line.h"  // IWYU pragma: export

ABSL_DECLARE_FLAG(std::string, in);
ABSL_DECLARE_FLAG(std::string, state);
ABSL_DECLARE_FLAG(std::string, o);
ABSL_DECLARE_FLAG(bool, dry_run);
ABSL_DECLARE_FLAG(std::string, events);
ABSL_DECLARE_FLAG(std::string, keystore);

namespace coldstart {

// The parsed common flags. InvalidArgument for a bad -o value or
// contradictory flags.
absl::StatusOr<CommonOptions> CommonOptionsFromFlags();

}  // namespace coldstart

#endif  // COLDSTART_LIB_CLI_FLAGS_H_
