// The gRPC face of a fault decision, for gRPC simulator modules (talos):
//
//   FaultDecision d = faults.Decide(
//       "talos", "GRPC", "/machine.MachineService/ApplyConfiguration");
//   return RunWithGrpcFault(d, [&] { return ApplyConfiguration(...); });
#ifndef COLDSTART_LAB_FAULTS_GRPC_FAULT_H_
#define COLDSTART_LAB_FAULTS_GRPC_FAULT_H_

#include <functional>
#include <optional>

#include "grpcpp/support/status.h"
#include "lab/faults/fault_injector.h"

namespace coldstart::lab {

// The status a gRPC call must end with when `decision` fired a grpc_status
// rule; nullopt otherwise (no fault, or a kind that is not a gRPC status).
std::optional<grpc::Status> GrpcStatusFor(const FaultDecision& decision);

// Runs the RPC body `method` as `decision` says and returns the status the
// call must end with:
//   grpc_status: that status; `method` does not run.
//   drop_reply:  `method` runs (its effect and any response it filled stay
//                on the server), then UNAVAILABLE "Socket closed" — what a
//                client sees when the connection dies before the reply —
//                so gRPC sends no response message.
//   otherwise:   `method`'s own status.
grpc::Status RunWithGrpcFault(const FaultDecision& decision,
                              const std::function<grpc::Status()>& method);

}  // namespace coldstart::lab

#endif  // COLDSTART_LAB_FAULTS_GRPC_FAULT_H_
