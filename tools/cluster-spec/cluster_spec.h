// cluster-spec: check, show and transform a Cluster spec (see README.md).
// The plan is in plan.h, the lab mapping in lab_map.h.
#ifndef COLDSTART_TOOLS_CLUSTER_SPEC_CLUSTER_SPEC_H_
#define COLDSTART_TOOLS_CLUSTER_SPEC_CLUSTER_SPEC_H_

#include <string>

#include "absl/status/status.h"
#include "lib/cli/cli.h"
#include "lib/cli/tool_run.h"

namespace coldstart {

struct ClusterSpecOptions {
  // "validate", "plan" or "lab-map".
  std::string command;
  // The spec: --in FILE (or the FILE argument; "-" or empty is standard
  // input) or --state FILE; -o; --dry-run; --events. --keystore is unused.
  CommonOptions common;
  // lab-map: the lab CA every mapped https endpoint trusts.
  std::string lab_ca_file = "lab-ca.pem";
};

// Runs one command on the spec, read and validated as every tool reads it
// (lib/cli/cli.h ClusterSession). Output to io.out:
// - validate: the normalized Cluster (-o textproto|json); with --state it
//   is written back into the file instead (never in a dry run);
// - plan: a table, or JSON with -o json; the input is never written;
// - lab-map: the mapped Cluster; --state is refused (it would replace the
//   spec with its lab copy).
// With --events, one step named after the command. Nothing on io.err.
// Errors: InvalidArgument for an unknown command, bad options, and an input
// that does not read, parse or validate (one FILE:LINE:COL line per
// problem); FailedPrecondition when another run holds the state lock;
// Unavailable when stdout cannot be written.
absl::Status RealMain(const ClusterSpecOptions& options, ToolIo& io);

}  // namespace coldstart

#endif  // COLDSTART_TOOLS_CLUSTER_SPEC_CLUSTER_SPEC_H_
