// Test fixture: runs the real labd binary as a child on free loopback ports
// and stops it, asserting nothing is left behind.
//
//   // BUILD: data = ["//lab/labd", "//testdata:lab.txtpb"],
//   //        deps = ["//lab/testing:lab_fixture"]
//   ASSERT_OK_AND_ASSIGN(auto lab, LabProcess::Start({}));
//   httplib::Client pve("https://" + lab->ModuleAddress("pve"));
//   ...
//   LabExit exit = *lab->Stop();   // SIGTERM, wait, look for leftovers
//   EXPECT_EQ(exit.exit_code, 0);  EXPECT_FALSE(exit.leftovers);
//
// labd binds port 0 everywhere (--any-port) and reports the real ports in its
// ready file, so parallel tests never race for ports. The test process
// becomes a child subreaper, so anything labd leaves running is reparented
// to it and found.
#ifndef COLDSTART_LAB_TESTING_LAB_FIXTURE_H_
#define COLDSTART_LAB_TESTING_LAB_FIXTURE_H_

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "lab/http/request_log.h"
#include "lib/testing/files.h"

namespace coldstart::lab {

struct LabProcessOptions {
  double time_scale = 0.01;
  // Fault file content (text format); empty: no --faults.
  std::string faults;
  // --module-opt values, "echo.child=/path" (no commas in values).
  std::vector<std::string> module_options;
  // Extra environment for labd (how secrets reach it: never argv).
  std::vector<std::pair<std::string, std::string>> env;
  // Spec; empty: testdata/lab.txtpb from the runfiles.
  std::string spec_path;
  // How long to wait for the ready file.
  absl::Duration ready_timeout = absl::Seconds(30);
};

struct LabExit {
  // labd's exit code (-1 if killed by a signal).
  int exit_code = -1;
  // Some process labd started was still alive (or unreaped) after it exited.
  bool leftovers = false;
  // Descriptions of the leftovers, for failure messages.
  std::vector<std::string> leftover_processes;
};

class LabProcess {
 public:
  // Starts labd and waits for its ready file. FailedPrecondition with labd's
  // stderr if it exits first (e.g. "exited with code 2"), DeadlineExceeded
  // if it is not ready in time.
  static absl::StatusOr<std::unique_ptr<LabProcess>> Start(
      const LabProcessOptions& options);
  // Stops labd if still running.
  ~LabProcess();

  // SIGTERM, wait for exit, then look for leftover descendants.
  absl::StatusOr<LabExit> Stop();

  // "host:port" of a module's listener (from the ready file); empty if none.
  std::string ModuleAddress(const std::string& module,
                            const std::string& listener = "http") const;
  const std::string& admin_address() const { return admin_; }
  const std::string& workdir() const { return workdir_; }
  pid_t pid() const { return pid_; }
  // The module's request log file (<workdir>/requests/<module>.jsonl).
  absl::StatusOr<std::vector<RequestRecord>> Requests(
      const std::string& module) const;
  // labd's stderr so far.
  std::string Stderr() const;

 private:
  LabProcess() = default;

  pid_t pid_ = 0;
  std::string workdir_;
  std::string admin_;
  std::map<std::string, std::map<std::string, std::string>> modules_;
};

// Path of a file in the test's runfiles ("lab/labd/labd"); the one of
// lib/testing/files.h, kept here for the tests that call lab::RunfilePath.
using ::coldstart::testing::RunfilePath;

}  // namespace coldstart::lab

#endif  // COLDSTART_LAB_TESTING_LAB_FIXTURE_H_
