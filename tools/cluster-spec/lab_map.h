// cluster-spec lab-map: the same cluster on loopback, for a lab rehearsal
// (scheme documented in proto/coldstart/v1/cluster.proto and README.md).
#ifndef COLDSTART_TOOLS_CLUSTER_SPEC_LAB_MAP_H_
#define COLDSTART_TOOLS_CLUSTER_SPEC_LAB_MAP_H_

#include <string>

#include "absl/status/statusor.h"
#include "proto/coldstart/v1/cluster.pb.h"

namespace coldstart {

// Precondition: `cluster` validates. Status is dropped (it describes the
// real cluster). Errors: InvalidArgument when the node subnet is wider than
// /8 or a mapped address lands on one of the lab's fixed endpoint addresses.
absl::StatusOr<coldstart::v1::Cluster> LabMap(
    const coldstart::v1::Cluster& cluster, const std::string& lab_ca_file);

}  // namespace coldstart

#endif  // COLDSTART_TOOLS_CLUSTER_SPEC_LAB_MAP_H_
