#include "lab/faults/grpc_fault.h"

namespace coldstart::lab {

std::optional<grpc::Status> GrpcStatusFor(const FaultDecision& decision) {
  if (!decision.fired() || !decision.rule->has_grpc_status()) {
    return std::nullopt;
  }
  const GrpcStatus& s = decision.rule->grpc_status();
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), s.message());
}

grpc::Status RunWithGrpcFault(const FaultDecision& decision,
                              const std::function<grpc::Status()>& method) {
  if (std::optional<grpc::Status> fault = GrpcStatusFor(decision)) {
    return *fault;
  }
  grpc::Status status = method();
  if (decision.fired() && decision.rule->has_drop_reply()) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "Socket closed");
  }
  return status;
}

}  // namespace coldstart::lab
