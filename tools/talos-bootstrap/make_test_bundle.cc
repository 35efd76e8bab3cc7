// Prints a fresh secrets bundle (talosctl YAML) on stdout: the fixture
// testdata/test-secrets-bundle.yaml of the golden tests. Test data only; its
// keys protect nothing. See regenerate_testdata.sh.
#include <iostream>

#include "absl/time/clock.h"
#include "tools/talos-bootstrap/secrets_bundle.h"

int main() {
  auto bundle = coldstart::GenerateSecretsBundle(absl::Now());
  if (!bundle.ok()) {
    std::cerr << bundle.status() << "\n";
    return 1;
  }
  std::cout << coldstart::SerializeSecretsBundle(*bundle).Reveal();
  return 0;
}
