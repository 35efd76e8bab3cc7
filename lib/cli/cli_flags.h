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

// Parses a tool's command line the coldstart way and returns the positional
// arguments, argv[0] first:
// - the documented spellings with dashes parse ("--dry-run", see
//   NormalizeFlagNames in lib/cli.h);
// - --help prints `usage` and the flags defined in the tool's *_main.cc and
//   in this file, then exits 0;
// - an unknown flag or a bad flag value prints "TOOL: ..." to stderr and
//   exits 2 (bad usage) before anything else happens.
std::vector<std::string> ParseToolCommandLine(int argc, char** argv,
                                              absl::string_view tool,
                                              absl::string_view usage);

}  // namespace coldstart

#endif  // COLDSTART_LIB_CLI_FLAGS_H_
