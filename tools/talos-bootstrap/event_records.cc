#include "tools/talos-bootstrap/event_records.h"

#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "lib/testing/files.h"
#include "nlohmann/json.hpp"

namespace coldstart::testing {

std::vector<EventRecord> ReadEventRecords(absl::string_view path) {
  std::vector<EventRecord> records;
  for (absl::string_view line :
       absl::StrSplit(ReadTestFile(path), '\n', absl::SkipEmpty())) {
    const nlohmann::json json = nlohmann::json::parse(line, nullptr, false);
    if (!json.is_object()) {
      ADD_FAILURE() << "not a JSON object: " << line;
      continue;
    }
    records.push_back({json.value("step", ""), json.value("node", ""),
                       json.value("event", ""), json.value("outcome", ""),
                       json.value("message", "")});
  }
  return records;
}

int FindEventRecord(const std::vector<EventRecord>& records,
                    absl::string_view step, absl::string_view node,
                    absl::string_view event) {
  for (int i = 0; i < static_cast<int>(records.size()); ++i) {
    if (records[i].step == step && records[i].node == node &&
        records[i].event == event) {
      return i;
    }
  }
  return -1;
}

}  // namespace coldstart::testing
