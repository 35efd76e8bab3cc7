// verify-cluster's results as the run reports them: the stderr table, JUnit
// XML, status.verify of the Cluster, and the run's verdict.
#ifndef COLDSTART_TOOLS_VERIFY_CLUSTER_REPORT_H_
#define COLDSTART_TOOLS_VERIFY_CLUSTER_REPORT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "proto/coldstart/v1/cluster.pb.h"
#include "tools/verify-cluster/check_support.h"

namespace coldstart {

// The outcome of the last round of checks (one per selected check, in
// order) and when each of them ran.
struct VerifyReport {
  std::vector<CheckOutcome> outcomes;
  std::vector<absl::Time> started;
  std::vector<absl::Time> finished;
  // Rounds run (1 without --wait).
  uint32_t rounds = 0;
  // From the first round's start to the last round's end.
  absl::Duration elapsed;
};

// The stderr table: one line per passing check, one per failing object.
std::string FormatTable(const std::vector<CheckOutcome>& outcomes);

// JUnit XML (one testsuite "verify-cluster", one testcase per check,
// classname = gate, <failure> with the failures).
std::string FormatJunit(const std::vector<CheckOutcome>& outcomes,
                        absl::Duration elapsed);

// Replaces `status` with the report (results, passed, updated_at = `now`).
void RecordResults(const VerifyReport& report, absl::Time now,
                   v1::VerifyStatus& status);

// OK when every check passed; FailedPrecondition naming every failing check
// (and how long it waited for them, when `wait` is positive) otherwise.
absl::Status Verdict(const VerifyReport& report, absl::Duration wait);

}  // namespace coldstart

#endif  // COLDSTART_TOOLS_VERIFY_CLUSTER_REPORT_H_
