// Command-line parsing the coldstart way, for every program (tools and labd).
// Link the shared flag sets separately (lib/cli/cli_flags, kube_flags).
#ifndef COLDSTART_LIB_CLI_COMMAND_LINE_H_
#define COLDSTART_LIB_CLI_COMMAND_LINE_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace coldstart {

// The exit-code paragraph of a tool's --help.
inline constexpr absl::string_view kToolExitCodes =
    "Exit codes: 0 done (or nothing to do), 1 the world said no (state written "
    "so far is valid; re-run to resume), 2 bad input or usage (nothing "
    "changed).";

// Parses a tool's command line the coldstart way and returns the positional
// arguments, argv[0] first:
// - the documented spellings with dashes parse ("--dry-run", see
//   NormalizeFlagNames in lib/cli.h);
// - --help (also -h) prints `usage`, the flags defined in the program's
//   *_main.cc and in the lib/cli/*_flags.cc it links, and `exit_codes`, then
//   exits 0;
// - an unknown flag or a bad flag value prints "TOOL: ..." to stderr and
//   exits 2 (bad usage) before anything else happens.
std::vector<std::string> ParseToolCommandLine(
    int argc, char** argv, absl::string_view tool, absl::string_view usage,
    absl::string_view exit_codes = kToolExitCodes);

}  // namespace coldstart

#endif  // COLDSTART_LIB_CLI_COMMAND_LINE_H_
