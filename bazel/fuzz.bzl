"""cc_fuzz_test: one LLVMFuzzerTestOneInput, two ways to run it.

- `<name>`: a cc_test (any compiler, every config) that replays the corpus files and a fixed number of
  deterministic mutations of them through the fuzz function; part of `bazel test //...`.
- `<name>_libfuzzer`: a libFuzzer binary, tagged manual + libfuzzer; build it with `--config=fuzz`
  (clang 14) and run it, e.g. `bazel-bin/<pkg>/<name>_libfuzzer -runs=20000 <corpus dir>`.
  scripts/test.sh runs every such target briefly.
"""

def cc_fuzz_test(name, srcs, deps = [], corpus = [], replay_mutations = 2000, **kwargs):
    native.cc_test(
        name = name,
        srcs = srcs,
        args = ["--mutations=%d" % replay_mutations] + ["$(rootpaths %s)" % c for c in corpus],
        data = corpus,
        deps = deps + ["//bazel:fuzz_replay_main"],
        **kwargs
    )
    native.cc_binary(
        name = name + "_libfuzzer",
        srcs = srcs,
        deps = deps,
        linkopts = ["-fsanitize=fuzzer"],
        tags = ["manual", "libfuzzer"],
        testonly = True,
    )
