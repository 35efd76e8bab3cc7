// Files in tests: the test's scratch directory, runfiles, and whole-file
// read/write that fail the test (not crash it) when something is wrong.
#ifndef COLDSTART_LIB_TESTING_FILES_H_
#define COLDSTART_LIB_TESTING_FILES_H_

#include <string>

#include "absl/strings/string_view.h"

namespace coldstart::testing {

// $TEST_TMPDIR (Bazel's per-test scratch directory), else /tmp.
std::string TestTempDir();

// A fresh directory under TestTempDir() whose name starts with `prefix`.
std::string MakeTempDir(absl::string_view prefix);

// The path of a workspace file among the test's runfiles
// ("testdata/lab.txtpb" → "$TEST_SRCDIR/coldstart/testdata/lab.txtpb").
std::string RunfilePath(absl::string_view workspace_relative_path);

// The whole file; an unreadable file fails the current test (ADD_FAILURE)
// and returns "".
std::string ReadTestFile(absl::string_view path);

// Writes `contents` to `path` with `mode`; failure fails the current test.
void WriteTestFile(absl::string_view path, absl::string_view contents,
                   int mode = 0644);

}  // namespace coldstart::testing

#endif  // COLDSTART_LIB_TESTING_FILES_H_
