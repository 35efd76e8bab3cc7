// Running seal-keystore in-process in tests: RealMain with string streams,
// a given clock and a fixed environment, and the vectors of testdata/.
#ifndef COLDSTART_TOOLS_SEAL_KEYSTORE_SEAL_KEYSTORE_TESTING_H_
#define COLDSTART_TOOLS_SEAL_KEYSTORE_SEAL_KEYSTORE_TESTING_H_

#include <map>
#include <string>

#include "absl/status/status.h"
#include "lib/base/clock.h"
#include "tools/seal-keystore/seal_keystore_options.h"

namespace coldstart::testing {

struct SealKeystoreOutcome {
  absl::Status status;
  std::string out;  // stdout
  std::string err;  // stderr (progress and plan lines)
};

// RealMain(options) with stdout/stderr captured, `clock` (nullptr: real)
// and only `environment` as the environment. Fails the test if a private
// key reaches stdout, stderr or the status message (unseal excepted: it
// prints Secrets, never keys).
SealKeystoreOutcome RunSealKeystore(
    const SealKeystoreOptions& options, Clock* clock = nullptr,
    std::map<std::string, std::string> environment = {});

// tools/seal-keystore/testdata/NAME.
std::string Vector(const std::string& name);

}  // namespace coldstart::testing

#endif  // COLDSTART_TOOLS_SEAL_KEYSTORE_SEAL_KEYSTORE_TESTING_H_
