#include "lib/cli/events.h"

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/testing/fake_clock.h"
#include "lib/testing/files.h"
#include "nlohmann/json.hpp"

namespace coldstart {
namespace {

using ::coldstart::testing::TestTempDir;
using ::testing::HasSubstr;

std::string Drain(std::FILE* file) {
  std::fflush(file);
  std::rewind(file);
  std::string out;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, file)) > 0) {
    out.append(buffer, n);
  }
  return out;
}

TEST(EventsTest, PlainLinesAndJsonRecords) {
  FakeClock clock;
  std::FILE* err = std::tmpfile();
  const std::string path = TestTempDir() + "/events.jsonl";
  std::remove(path.c_str());
  {
    absl::StatusOr<std::unique_ptr<Events>> events =
        Events::Create({"provision-vms", err, false, path, &clock});
    ASSERT_TRUE(events.ok()) << events.status();
    Events::StepId clone = (*events)->Start("clone", "ctrl-1");
    Events::StepId image = (*events)->Start("image");
    clock.now += absl::Milliseconds(1500);
    (*events)->End(clone, absl::OkStatus());
    clock.now += absl::Seconds(1);
    (*events)->End(image, absl::UnavailableError("factory said \"503\"\n"));
    (*events)->End(image, absl::OkStatus());  // already ended: ignored
    (*events)->Note("3 VMs exist");
  }
  EXPECT_EQ(Drain(err),
            "provision-vms: clone [ctrl-1]: started\n"
            "provision-vms: image: started\n"
            "provision-vms: clone [ctrl-1]: ok (1.5 s)\n"
            "provision-vms: image: failed after 2.5 s: factory said \"503\"\n\n"
            "provision-vms: 3 VMs exist\n");
  std::fclose(err);

  std::ifstream in(path);
  std::vector<nlohmann::json> records;
  for (std::string line; std::getline(in, line);) {
    records.push_back(nlohmann::json::parse(line));
  }
  ASSERT_EQ(records.size(), 5u);
  EXPECT_EQ(records[0]["ts"], "2025-01-01T00:00:00.000Z");
  EXPECT_EQ(records[0]["event"], "start");
  EXPECT_EQ(records[0]["step"], "clone");
  EXPECT_EQ(records[0]["node"], "ctrl-1");
  EXPECT_EQ(records[2]["event"], "end");
  EXPECT_EQ(records[2]["outcome"], "ok");
  EXPECT_EQ(records[2]["duration_ms"], 1500);
  EXPECT_EQ(records[3]["outcome"], "failed");
  EXPECT_EQ(records[3]["message"], "factory said \"503\"\n");
  EXPECT_FALSE(records[3].contains("node"));
  EXPECT_EQ(records[4]["event"], "note");
  EXPECT_EQ(records[4]["tool"], "provision-vms");
}

TEST(EventsTest, TerminalShowsLiveStatusLine) {
  FakeClock clock;
  std::FILE* err = std::tmpfile();
  {
    auto events = Events::Create({"talos-bootstrap", err, true, "", &clock});
    ASSERT_TRUE(events.ok());
    Events::StepId a = (*events)->Start("apply", "ctrl-1");
    (*events)->Start("apply", "ctrl-2");
    (*events)->End(a, absl::OkStatus());
  }
  const std::string out = Drain(err);
  std::fclose(err);
  EXPECT_THAT(out, HasSubstr("\r\033[Ktalos-bootstrap: running apply [ctrl-1], "
                             "apply [ctrl-2]"));
  EXPECT_THAT(out, HasSubstr("\r\033[Ktalos-bootstrap: apply [ctrl-1]: ok "
                             "(0.0 s)\ntalos-bootstrap: running apply "
                             "[ctrl-2]"));
}

TEST(EventsTest, UnwritableEventsFileIsAnError) {
  auto events =
      Events::Create({"t", nullptr, false, "/nonexistent/dir/e", nullptr});
  EXPECT_EQ(events.status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace coldstart
