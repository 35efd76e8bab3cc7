#include "lab/talos/golden_configs.h"

#include <fstream>
#include <sstream>

namespace coldstart::lab {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

const std::string& GoldenControlPlaneConfig() {
  static const std::string* s =
      new std::string(ReadFile("tools/talos-bootstrap/testdata/ctrl-1.yaml"));
  return *s;
}

const std::string& GoldenWorkerConfig() {
  static const std::string* s =
      new std::string(ReadFile("tools/talos-bootstrap/testdata/worker-1.yaml"));
  return *s;
}

}  // namespace coldstart::lab
