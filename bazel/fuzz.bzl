"""cc_fuzz_test: one LLVMFuzzerTestOneInput, two ways to run it.

- `<name>`: a cc_test (any compiler, every config) that replays the corpus files and a fixed number of
  deterministic mutations of them through the fuzz function; part of `bazel test //...`.
- `<name>_libfuzzer`: a libFuzzer binary, tagged manual + libfuzzer; build it with `--config=fuzz`
  (clang 14) and run it, e.g. `bazel-bin/<pkg>/<name>_libfuzzer -runs=20000 <corpus dir>`.
  scripts/test.sh runs every such target briefly.
"""

def cc_fuzz_test(name, srcs, deps = [], corpus = [], replay_mutations = 2000, **kwargs):
    """A replay cc_test `name` and a libFuzzer binary `name`_libfuzzer for one fuzz function.

    Args:
      name: the cc_test; the libFuzzer binary is `name` + "_libfuzzer".
      srcs: sources defining LLVMFuzzerTestOneInput.
      deps: their dependencies.
      corpus: seed input files.
      replay_mutations: deterministic mutations the cc_test feeds after the corpus.
      **kwargs: passed to the cc_test (size, tags, ...).
    """
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
