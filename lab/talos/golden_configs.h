// Tests: the golden machine configs of talos-bootstrap
// (tools/talos-bootstrap/testdata/{ctrl-1,worker-1}.yaml, valid for Talos
// 1.9.1) read from the runfiles. Empty when a file is missing.
#ifndef COLDSTART_LAB_TALOS_GOLDEN_CONFIGS_H_
#define COLDSTART_LAB_TALOS_GOLDEN_CONFIGS_H_

#include <string>

namespace coldstart::lab {

const std::string& GoldenControlPlaneConfig();
const std::string& GoldenWorkerConfig();

}  // namespace coldstart::lab

#endif  // COLDSTART_LAB_TALOS_GOLDEN_CONFIGS_H_
