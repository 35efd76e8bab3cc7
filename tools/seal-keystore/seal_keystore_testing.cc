#include "tools/seal-keystore/seal_keystore_testing.h"

#include <sstream>
#include <string>
#include <utility>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/environment.h"
#include "lib/cli/tool_run.h"
#include "lib/testing/files.h"
#include "tools/seal-keystore/seal_keystore.h"

namespace coldstart::testing {

SealKeystoreOutcome RunSealKeystore(
    const SealKeystoreOptions& options, Clock* clock,
    std::map<std::string, std::string> environment) {
  std::ostringstream out;
  std::ostringstream err;
  ToolIo io{out, err};
  io.clock = clock;
  io.environment = FixedEnvironment(std::move(environment));
  SealKeystoreOutcome outcome;
  outcome.status = RealMain(options, io);
  outcome.out = out.str();
  outcome.err = err.str();
  using ::testing::HasSubstr;
  using ::testing::Not;
  EXPECT_THAT(outcome.out, Not(HasSubstr("PRIVATE KEY")));
  EXPECT_THAT(outcome.err, Not(HasSubstr("PRIVATE KEY")));
  EXPECT_THAT(std::string(outcome.status.message()),
              Not(HasSubstr("PRIVATE KEY")));
  return outcome;
}

std::string Vector(const std::string& name) {
  return ReadTestFile(RunfilePath("tools/seal-keystore/testdata/" + name));
}

}  // namespace coldstart::testing
