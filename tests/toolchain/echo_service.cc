#include "tests/toolchain/echo_service.h"

#include <google/protobuf/util/time_util.h>

#include <ctime>

namespace coldstart::toolchain {
namespace {

void FillReply(const EchoRequest& request, int index, EchoReply* reply) {
  reply->set_text(request.text());
  reply->set_index(index);
  *reply->mutable_sent() =
      google::protobuf::util::TimeUtil::SecondsToTimestamp(std::time(nullptr));
  *reply->mutable_labels() = request.labels();
}

}  // namespace

grpc::Status EchoService::Say(grpc::ServerContext* /*context*/,
                              const EchoRequest* request, EchoReply* reply) {
  if (request->text().empty()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "text is empty");
  }
  FillReply(*request, 0, reply);
  return grpc::Status::OK;
}

grpc::Status EchoService::SayStream(grpc::ServerContext* /*context*/,
                                    const EchoRequest* request,
                                    grpc::ServerWriter<EchoReply>* writer) {
  if (request->repeat() < 0 || request->repeat() > 100) {
    return grpc::Status(grpc::StatusCode::OUT_OF_RANGE,
                        "repeat must be 0..100");
  }
  for (int i = 0; i < request->repeat(); ++i) {
    EchoReply reply;
    FillReply(*request, i, &reply);
    if (!writer->Write(reply)) break;
  }
  return grpc::Status::OK;
}

}  // namespace coldstart::toolchain
