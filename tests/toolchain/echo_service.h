// The Echo service of echo.proto, used by the toolchain tests.
#ifndef COLDSTART_TESTS_TOOLCHAIN_ECHO_SERVICE_H_
#define COLDSTART_TESTS_TOOLCHAIN_ECHO_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include "tests/toolchain/echo.grpc.pb.h"

namespace coldstart::toolchain {

// Say echoes the text (INVALID_ARGUMENT when empty); SayStream sends `repeat`
// replies (at most 100) numbered from 0.
class EchoService final : public Echo::Service {
 public:
  grpc::Status Say(grpc::ServerContext* context, const EchoRequest* request,
                   EchoReply* reply) override;
  grpc::Status SayStream(grpc::ServerContext* context,
                         const EchoRequest* request,
                         grpc::ServerWriter<EchoReply>* writer) override;
};

}  // namespace coldstart::toolchain

#endif  // COLDSTART_TESTS_TOOLCHAIN_ECHO_SERVICE_H_
