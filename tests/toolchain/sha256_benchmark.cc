// Google Benchmark wiring check and a baseline: BoringSSL SHA-256 throughput
// (bazel run -c opt).
#include <openssl/sha.h>

#include <string>

#include "benchmark/benchmark.h"

static void BM_Sha256(benchmark::State& state) {
  const std::string input(state.range(0), 'x');
  uint8_t digest[SHA256_DIGEST_LENGTH];
  for (auto _ : state) {
    SHA256(reinterpret_cast<const uint8_t*>(input.data()), input.size(),
           digest);
    benchmark::DoNotOptimize(digest);
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Sha256)->Arg(64)->Arg(4096)->Arg(1 << 20);
