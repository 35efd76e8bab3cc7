// Fuzzes protobuf's TextFormat parser on the toolchain's EchoRequest: whatever
// parses must print and re-parse to an equal message.
#include <google/protobuf/text_format.h>
#include <google/protobuf/util/message_differencer.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "tests/toolchain/echo.pb.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  google::protobuf::TextFormat::Parser parser;
  parser.AllowPartialMessage(false);
  coldstart::toolchain::EchoRequest request;
  const std::string input(reinterpret_cast<const char*>(data), size);
  google::protobuf::io::ArrayInputStream stream(input.data(), input.size());
  if (!parser.Parse(&stream, &request)) return 0;
  std::string printed;
  if (!google::protobuf::TextFormat::PrintToString(request, &printed)) abort();
  coldstart::toolchain::EchoRequest again;
  if (!google::protobuf::TextFormat::ParseFromString(printed, &again)) abort();
  if (!google::protobuf::util::MessageDifferencer::Equals(request, again)) {
    abort();
  }
  return 0;
}
