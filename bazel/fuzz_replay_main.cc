// A main() for fuzz targets outside libFuzzer: feeds every file named on the
// command line (or every file of a named directory) to LLVMFuzzerTestOneInput,
// then --mutations=N deterministic mutations of them (byte flips, truncations,
// insertions, splices; fixed seed, so a failure reproduces). A crash or
// sanitizer report fails the test; the input is written to
// $TEST_UNDECLARED_OUTPUTS_DIR.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

namespace {

std::string ReadFile(const std::filesystem::path &path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void Run(const std::string &input) {
  if (const char *dir = std::getenv("TEST_UNDECLARED_OUTPUTS_DIR")) {
    std::ofstream(std::filesystem::path(dir) / "last_input", std::ios::binary)
        << input;
  }
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t *>(input.data()),
                         input.size());
}

std::string Mutate(const std::vector<std::string> &corpus,
                   std::mt19937_64 &rng) {
  std::string input = corpus[rng() % corpus.size()];
  const int edits = 1 + static_cast<int>(rng() % 4);
  static const char kInteresting[] = "{}[]:<>\"'\\\n #0-19.e+/_";
  for (int i = 0; i < edits; ++i) {
    const size_t pos = input.empty() ? 0 : rng() % (input.size() + 1);
    switch (rng() % 5) {
      case 0:
        if (!input.empty() && pos < input.size())
          input[pos] ^= 1 << (rng() % 8);
        break;
      case 1:
        input.resize(pos);
        break;
      case 2:
        input.insert(pos, 1, kInteresting[rng() % (sizeof(kInteresting) - 1)]);
        break;
      case 3:
        if (pos < input.size()) input.erase(pos, 1 + rng() % 8);
        break;
      default: {
        const std::string &other = corpus[rng() % corpus.size()];
        const size_t from = other.empty() ? 0 : rng() % other.size();
        input.insert(pos, other.substr(from, 1 + rng() % 64));
      }
    }
  }
  return input;
}

}  // namespace

int main(int argc, char **argv) {
  long mutations = 0;
  std::vector<std::string> corpus;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--mutations=", 0) == 0) {
      mutations = std::strtol(arg.c_str() + 12, nullptr, 10);
      continue;
    }
    const std::filesystem::path path(arg);
    if (std::filesystem::is_directory(path)) {
      for (const auto &entry :
           std::filesystem::recursive_directory_iterator(path)) {
        if (entry.is_regular_file()) corpus.push_back(ReadFile(entry.path()));
      }
    } else {
      corpus.push_back(ReadFile(path));
    }
  }
  if (corpus.empty()) corpus.push_back("");
  for (const std::string &input : corpus) Run(input);
  std::mt19937_64 rng(0x5eed);
  for (long i = 0; i < mutations; ++i) Run(Mutate(corpus, rng));
  std::printf("replayed %zu corpus inputs and %ld mutations\n", corpus.size(),
              mutations);
  return 0;
}
