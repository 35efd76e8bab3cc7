// Sealing 1,000 Secrets (parse-free: SealSecret + kubeseal YAML per Secret)
// against the raw primitives it is made of, measured in the same run:
// RSA-OAEP-4096 encryption of a 32-byte session key + AES-256-GCM of the
// value, 1,000 times. Prints both and their ratio (overhead of our code).
// Run with scripts/bench.sh (-c opt).
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "lib/secrets/crypto.h"
#include "lib/secrets/secret.h"
#include "tools/seal-keystore/sealed_secret.h"

namespace coldstart {
namespace {

constexpr int kSecrets = 1000;
constexpr int kRounds = 3;

template <typename F>
absl::Duration Best(F&& body) {
  absl::Duration best = absl::InfiniteDuration();
  for (int round = 0; round < kRounds; ++round) {
    const absl::Time start = absl::Now();
    body();
    best = std::min(best, absl::Now() - start);
  }
  return best;
}

int Main() {
  absl::StatusOr<PrivateKey> key = PrivateKey::GenerateRsa(4096);
  if (!key.ok()) return 1;
  const PublicKey public_key = key->public_key();
  const std::string value(
      "clusters:\n- url: https://pve.example:8006/api2/json\n  token_id: "
      "kubernetes-csi@pve!csi\n  token_secret: "
      "00000000-1111-2222-3333-444444444444\n  region: lab\n");
  std::vector<SecretObject> secrets(kSecrets);
  for (int i = 0; i < kSecrets; ++i) {
    secrets[i].metadata.name = absl::StrCat("secret-", i);
    secrets[i].metadata.namespace_ = "bench";
    secrets[i].data["config.yaml"] = Secret::FromView(value);
  }
  size_t bytes = 0;
  const absl::Duration ours = Best([&] {
    for (const SecretObject& secret : secrets) {
      absl::StatusOr<SealResult> result = SealSecret(secret, public_key);
      if (!result.ok()) std::abort();
      bytes += FormatSealedSecretYaml(result->sealed).size();
    }
  });
  const std::string zero_nonce(12, '\0');
  const absl::Duration raw = Best([&] {
    for (int i = 0; i < kSecrets; ++i) {
      const Secret session_key(RandomBytes(32));
      absl::StatusOr<std::string> wrapped =
          public_key.OaepEncrypt(session_key.Reveal(), "bench/secret");
      absl::StatusOr<std::string> sealed =
          Aes256GcmSeal(session_key, zero_nonce, value);
      if (!wrapped.ok() || !sealed.ok()) std::abort();
      bytes += wrapped->size() + sealed->size();
    }
  });
  std::printf(
      "seal_bench: %d Secrets (1 value of %zu bytes each), best of %d\n"
      "  seal-keystore SealSecret + YAML : %8.2f ms  (%6.1f us/Secret)\n"
      "  raw RSA-OAEP-4096 + AES-256-GCM : %8.2f ms  (%6.1f us/Secret)\n"
      "  ratio ours/raw                  : %8.3f\n",
      kSecrets, value.size(), kRounds, absl::ToDoubleMilliseconds(ours),
      absl::ToDoubleMicroseconds(ours) / kSecrets,
      absl::ToDoubleMilliseconds(raw),
      absl::ToDoubleMicroseconds(raw) / kSecrets,
      absl::FDivDuration(ours, raw));
  return bytes > 0 ? 0 : 1;
}

}  // namespace
}  // namespace coldstart

int main() { return coldstart::Main(); }
