// Test support: the records of an --events file (lib/cli/events.h), to
// assert which steps ran, for which node, in which order, with what outcome.
#ifndef COLDSTART_TOOLS_TALOS_BOOTSTRAP_EVENT_RECORDS_H_
#define COLDSTART_TOOLS_TALOS_BOOTSTRAP_EVENT_RECORDS_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace coldstart::testing {

struct EventRecord {
  std::string step;
  std::string node;
  // "start", "end" or "note".
  std::string event;
  // End records: "ok" or "failed".
  std::string outcome;
  std::string message;
};

// Every record of the JSON-lines file at `path`, in order; a line that is
// not a JSON object fails the current test.
std::vector<EventRecord> ReadEventRecords(absl::string_view path);

// The index of the first record of `step`, `node` and `event`; -1 if none.
int FindEventRecord(const std::vector<EventRecord>& records,
                    absl::string_view step, absl::string_view node,
                    absl::string_view event);

}  // namespace coldstart::testing

#endif  // COLDSTART_TOOLS_TALOS_BOOTSTRAP_EVENT_RECORDS_H_
