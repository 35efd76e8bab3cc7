#include "lib/cli/cli_flags.h"

#include <string>

#include "absl/flags/flag.h"
#include "absl/status/statusor.h"
#include "lib/base/status_macros.h"
#include "lib/cli/cli.h"

ABSL_FLAG(std::string, in, "",
          "Read the Cluster from FILE ('-' or unset: standard input).");
ABSL_FLAG(std::string, state, "",
          "Read the Cluster from FILE and write the result back into it "
          "(atomic, locked).");
ABSL_FLAG(std::string, o, "textproto",
          "Output format of the Cluster on stdout: textproto or json.");
ABSL_FLAG(bool, dry_run, false,
          "Validate, check credentials and reachability, print the plan; "
          "change nothing.");
ABSL_FLAG(std::string, events, "",
          "Append JSON-lines progress events (step, node, start/end, "
          "outcome) to FILE.");
ABSL_FLAG(std::string, keystore, "",
          "Keystore: secret-service or file:DIR (default: "
          "$COLDSTART_KEYSTORE, then the spec).");

namespace coldstart {

absl::StatusOr<CommonOptions> CommonOptionsFromFlags() {
  CommonOptions options;
  options.in = absl::GetFlag(FLAGS_in);
  options.state = absl::GetFlag(FLAGS_state);
  ASSIGN_OR_RETURN(options.output, ParseOutputFormat(absl::GetFlag(FLAGS_o)));
  options.dry_run = absl::GetFlag(FLAGS_dry_run);
  options.events = absl::GetFlag(FLAGS_events);
  options.keystore = absl::GetFlag(FLAGS_keystore);
  RETURN_IF_ERROR(CheckCommonOptions(options));
  return options;
}

}  // namespace coldstart
