// cluster-spec: check, show and transform a Cluster spec (see README.md).
#ifndef COLDSTART_TOOLS_CLUSTER_SPEC_CLUSTER_SPEC_H_
#define COLDSTART_TOOLS_CLUSTER_SPEC_CLUSTER_SPEC_H_

#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "lib/cli/cli.h"
#include "proto/coldstart/v1/cluster.pb.h"

namespace coldstart {

struct ClusterSpecOptions {
  // "validate", "plan" or "lab-map".
  std::string command;
  // Spec file; "-" (or empty) is standard input.
  std::string input;
  OutputFormat output = OutputFormat::kTextproto;
  // lab-map: the lab CA every mapped https endpoint trusts.
  std::string lab_ca_file = "lab-ca.pem";
};

// Runs one command; its result goes to `out` (the normalized Cluster for
// validate and lab-map, a table for plan). Errors: InvalidArgument for an
// unknown command and for an input that does not parse or validate (message:
// one FILE:LINE:COL line per problem).
absl::Status RunClusterSpec(const ClusterSpecOptions& options,
                            std::ostream& out);

// A readable table of a valid spec: nodes, VMIDs, IPs, roles, VIPs,
// endpoints.
std::string RenderPlan(const coldstart::v1::Cluster& cluster);

// The same cluster on loopback, for a lab rehearsal (scheme documented in
// proto/coldstart/v1/cluster.proto and README.md). Precondition: `cluster`
// validates. Status is dropped (it describes the real cluster). Errors:
// InvalidArgument when the node subnet is wider than /8 or a mapped address
// lands on one of the lab's fixed endpoint addresses.
absl::StatusOr<coldstart::v1::Cluster> LabMap(
    const coldstart::v1::Cluster& cluster, const std::string& lab_ca_file);

}  // namespace coldstart

#endif  // COLDSTART_TOOLS_CLUSTER_SPEC_CLUSTER_SPEC_H_
