// Checks a Cluster spec for every problem a person can make that the proto
// schema cannot express, and reports each with the path of the field
// ("spec.nodes[2].vmid") so it can be shown as FILE:LINE:COL.
//
// Checked: required fields per layer (name, versions, network, nodes,
// proxmox, image and talos always; mesh, sealed_secrets, gitops, dns and
// verify when present); version formats; unique node names, IPs and VMIDs;
// node IPs, gateway and VIPs inside the node subnet; VIPs distinct from node
// IPs, the gateway and each other; bootstrap endpoint = a control-plane IP;
// an odd control-plane count; pod/service CIDRs not overlapping the node
// subnet or each other; SecretRefs that are present name a key. Addresses
// may be anywhere in IPv4, including 127.0.0.0/8 (the lab).
#ifndef COLDSTART_LIB_CLI_SPEC_VALIDATION_H_
#define COLDSTART_LIB_CLI_SPEC_VALIDATION_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "lib/cli/cluster_textproto.h"
#include "lib/cli/field_path.h"
#include "proto/coldstart/v1/cluster.pb.h"

namespace coldstart {

struct SpecProblem {
  FieldPath path;       // from the Cluster root, e.g. spec.network.api_vip
  std::string message;  // what is wrong, e.g. "10.1.3.1 is outside …"
};

// Every problem of `cluster.spec` (and schema_version), in a deterministic
// order (the order of the spec's fields). Empty when valid. Status is not
// checked.
std::vector<SpecProblem> ValidateCluster(const coldstart::v1::Cluster& cluster);

// One line per problem: "FILE:LINE:COL: PATH: MESSAGE" (location of the
// field, or of its nearest ancestor present in the text; "FILE: PATH:
// MESSAGE" when none), joined by newlines, no trailing newline.
std::string FormatProblems(const ParsedCluster& parsed,
                           const std::vector<SpecProblem>& problems);

// OK, or InvalidArgument whose message is FormatProblems of every problem.
absl::Status ValidateParsedCluster(const ParsedCluster& parsed);

}  // namespace coldstart

#endif  // COLDSTART_LIB_CLI_SPEC_VALIDATION_H_
