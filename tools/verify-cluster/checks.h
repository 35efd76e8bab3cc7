// verify-cluster's checks: which exist (the spec's, else the playbook's
// list), which --gate selects, and running one (tools/verify-cluster
// README "Gates and checks").
#ifndef COLDSTART_TOOLS_VERIFY_CLUSTER_CHECKS_H_
#define COLDSTART_TOOLS_VERIFY_CLUSTER_CHECKS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "lib/kube/kube_client.h"
#include "proto/coldstart/v1/cluster.pb.h"
#include "tools/verify-cluster/check_support.h"

namespace coldstart {

// The gates, in run order.
const std::vector<std::string>& KnownGates();

// The checks of `spec`: spec.verify.checks, or DefaultChecks(spec) when it
// lists none.
std::vector<v1::Check> EffectiveChecks(const v1::ClusterSpec& spec);

// The playbook's list with parameters from the spec (VIPs, versions).
std::vector<v1::Check> DefaultChecks(const v1::ClusterSpec& spec);

// The gate a check runs under: Check.gate when set, else from its kind
// (nodes, pods, flux, storage, vault, eso, authentik, services).
std::string GateOf(const v1::Check& check);

// Whether `check` is selected by --gate tokens (a token matches the check's
// gate, its name, or the gate derived from its kind). Empty: all.
bool Selected(const v1::Check& check, const std::vector<std::string>& gates);

// The effective checks `gates` selects, in order. InvalidArgument when they
// select none (the message lists the known gates and checks).
absl::StatusOr<std::vector<v1::Check>> SelectChecks(
    const v1::ClusterSpec& spec, const std::vector<std::string>& gates);

// Evaluates one check against the API once. Never fails as a call: API
// errors become failures of the check.
CheckOutcome RunCheck(kube::KubeClient& client, const v1::ClusterSpec& spec,
                      const v1::Check& check);

}  // namespace coldstart

#endif  // COLDSTART_TOOLS_VERIFY_CLUSTER_CHECKS_H_
