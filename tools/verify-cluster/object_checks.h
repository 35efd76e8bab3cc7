// The checks of the flux, vault, eso, authentik and services gates: named
// objects that Flux and the operators create (tools/verify-cluster README
// "Gates and checks"). Each evaluates once against the API and never fails
// as a call: API errors become failures of the check. `outcome` arrives with
// name and gate set.
#ifndef COLDSTART_TOOLS_VERIFY_CLUSTER_OBJECT_CHECKS_H_
#define COLDSTART_TOOLS_VERIFY_CLUSTER_OBJECT_CHECKS_H_

#include "lib/kube/kube_client.h"
#include "proto/coldstart/v1/cluster.pb.h"
#include "tools/verify-cluster/check_support.h"

namespace coldstart {

// Every GitRepository, Kustomization and HelmRelease Ready; at least one
// Kustomization.
CheckOutcome CheckFluxReady(kube::KubeClient& client,
                            const v1::FluxReadyCheck& check,
                            CheckOutcome outcome);

// The Secret exists (with the listed data keys).
CheckOutcome CheckSecretExists(kube::KubeClient& client,
                               const v1::SecretExistsCheck& check,
                               CheckOutcome outcome);

CheckOutcome CheckClusterSecretStoreReady(
    kube::KubeClient& client, const v1::ClusterSecretStoreReadyCheck& check,
    CheckOutcome outcome);

// At least one ExternalSecret per listed namespace, every one Ready.
CheckOutcome CheckExternalSecretsReady(
    kube::KubeClient& client, const v1::ExternalSecretsReadyCheck& check,
    CheckOutcome outcome);

// The Service exists (with the LoadBalancer IP, when given).
CheckOutcome CheckService(kube::KubeClient& client,
                          const v1::ServiceCheck& check, CheckOutcome outcome);

}  // namespace coldstart

#endif  // COLDSTART_TOOLS_VERIFY_CLUSTER_OBJECT_CHECKS_H_
