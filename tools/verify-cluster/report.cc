#include "tools/verify-cluster/report.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "lib/base/time_format.h"

namespace coldstart {
namespace {

std::string XmlEscape(absl::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::string Rounded(absl::Duration duration, absl::Duration unit) {
  return absl::FormatDuration(absl::Trunc(duration, unit));
}

}  // namespace

std::string FormatTable(const std::vector<CheckOutcome>& outcomes) {
  size_t name_width = 5, gate_width = 4;
  for (const CheckOutcome& outcome : outcomes) {
    name_width = std::max(name_width, outcome.name.size());
    gate_width = std::max(gate_width, outcome.gate.size());
  }
  auto line = [&](absl::string_view name, absl::string_view gate,
                  absl::string_view result, absl::string_view detail) {
    return absl::StrFormat("%-*s  %-*s  %-6s  %s\n", name_width, name,
                           gate_width, gate, result, detail);
  };
  std::string out = line("CHECK", "GATE", "RESULT", "DETAIL");
  for (const CheckOutcome& outcome : outcomes) {
    if (outcome.passed) {
      absl::StrAppend(&out,
                      line(outcome.name, outcome.gate, "ok", outcome.message));
      continue;
    }
    for (size_t i = 0; i < outcome.failures.size(); ++i) {
      const bool first = i == 0;
      absl::StrAppend(&out,
                      line(first ? outcome.name : "", first ? outcome.gate : "",
                           first ? "FAILED" : "", outcome.failures[i]));
    }
  }
  return out;
}

std::string FormatJunit(const std::vector<CheckOutcome>& outcomes,
                        absl::Duration elapsed) {
  size_t failures = 0;
  for (const CheckOutcome& outcome : outcomes)
    failures += outcome.passed ? 0 : 1;
  std::string out = absl::StrFormat(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<testsuites>\n<testsuite name=\"verify-cluster\" tests=\"%d\" "
      "failures=\"%d\" time=\"%.3f\">\n",
      outcomes.size(), failures, absl::ToDoubleSeconds(elapsed));
  for (const CheckOutcome& outcome : outcomes) {
    absl::StrAppend(&out, "  <testcase classname=\"", XmlEscape(outcome.gate),
                    "\" name=\"", XmlEscape(outcome.name), "\"");
    if (outcome.passed) {
      absl::StrAppend(&out, "/>\n");
      continue;
    }
    absl::StrAppend(&out, ">\n    <failure message=\"",
                    XmlEscape(outcome.message), "\">",
                    XmlEscape(absl::StrJoin(outcome.failures, "\n")),
                    "</failure>\n  </testcase>\n");
  }
  absl::StrAppend(&out, "</testsuite>\n</testsuites>\n");
  return out;
}

void RecordResults(const VerifyReport& report, absl::Time now,
                   v1::VerifyStatus& status) {
  status.Clear();
  bool passed = true;
  for (size_t i = 0; i < report.outcomes.size(); ++i) {
    const CheckOutcome& outcome = report.outcomes[i];
    v1::CheckResult* result = status.add_results();
    result->set_name(outcome.name);
    result->set_gate(outcome.gate);
    result->set_outcome(outcome.passed ? v1::OUTCOME_OK : v1::OUTCOME_FAILED);
    result->set_message(outcome.message);
    for (const std::string& failure : outcome.failures) {
      result->add_failures(failure);
    }
    result->set_attempts(report.rounds);
    *result->mutable_started_at() = ToTimestamp(report.started[i]);
    *result->mutable_finished_at() = ToTimestamp(report.finished[i]);
    passed = passed && outcome.passed;
  }
  status.set_passed(passed);
  *status.mutable_updated_at() = ToTimestamp(now);
}

absl::Status Verdict(const VerifyReport& report, absl::Duration wait) {
  std::vector<std::string> failed;
  for (const CheckOutcome& outcome : report.outcomes) {
    if (!outcome.passed) {
      failed.push_back(absl::StrCat(outcome.name, ": ", outcome.message));
    }
  }
  if (failed.empty()) return absl::OkStatus();
  const std::string waited =
      wait > absl::ZeroDuration()
          ? absl::StrCat(" after waiting ",
                         Rounded(report.elapsed, absl::Milliseconds(100)),
                         " (--wait ", Rounded(wait, absl::Seconds(1)), ")")
          : "";
  return absl::FailedPreconditionError(absl::StrCat(
      failed.size(), " of ", report.outcomes.size(), " checks failed", waited,
      ": ", absl::StrJoin(failed, "; ")));
}

}  // namespace coldstart
