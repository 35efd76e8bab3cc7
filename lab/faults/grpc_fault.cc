#include "lab/faults/grpc_fault.h"

namespace coldstart::lab {

std::optional<grpc::Status> GrpcStatusFor(const FaultDecision& decision) {
  if (!decision.fired() || !decision.rule->has_grpc_status()) {
    return std::nullopt;
  }
  const GrpcStatus& s = decision.rule->grpc_status();
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), s.message());
}

}  // namespace coldstart::lab
