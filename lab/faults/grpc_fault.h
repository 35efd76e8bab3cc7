// The gRPC face of a fault decision, for gRPC simulator modules (talos):
//
//   FaultDecision d = faults.Decide("talos", "GRPC", context->method());
//   if (auto status = GrpcStatusFor(d)) return *status;
#ifndef COLDSTART_LAB_FAULTS_GRPC_FAULT_H_
#define COLDSTART_LAB_FAULTS_GRPC_FAULT_H_

#include <optional>

#include "grpcpp/support/status.h"
#include "lab/faults/fault_injector.h"

namespace coldstart::lab {

// The status a gRPC call must end with when `decision` fired a grpc_status
// rule; nullopt otherwise (no fault, or a kind that is not a gRPC status).
std::optional<grpc::Status> GrpcStatusFor(const FaultDecision& decision);

}  // namespace coldstart::lab

#endif  // COLDSTART_LAB_FAULTS_GRPC_FAULT_H_
