#include "lab/http/request_log.h"

#include <cstdlib>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace coldstart::lab {
namespace {

RequestRecord Record(std::string method, std::string path, int status) {
  RequestRecord r;
  r.module = "pve";
  r.method = std::move(method);
  r.path = std::move(path);
  r.status = status;
  r.time = absl::FromUnixMillis(1735689600123);
  return r;
}

TEST(RequestLogTest, JsonLineRoundTrips) {
  RequestRecord r = Record("POST", "/api2/json/nodes/pve/qemu", 500);
  r.fault = "lock";
  std::string line = ToJsonLine(r);
  EXPECT_EQ(line, R"({"fault":"lock","method":"POST","module":"pve",)"
                  R"("path":"/api2/json/nodes/pve/qemu","status":500,)"
                  R"("time":"2025-01-01T00:00:00.123Z"})");
  absl::StatusOr<RequestRecord> back = ParseJsonLine(line);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->module, "pve");
  EXPECT_EQ(back->method, "POST");
  EXPECT_EQ(back->path, r.path);
  EXPECT_EQ(back->status, 500);
  EXPECT_EQ(back->time, r.time);
  EXPECT_EQ(back->fault, "lock");
  EXPECT_FALSE(ParseJsonLine("{").ok());
  EXPECT_FALSE(ParseJsonLine(R"({"module":"x"})").ok());
}

TEST(RequestLogTest, CountsWritesAndCalls) {
  RequestLog log;
  log.Append(Record("GET", "/a", 200));
  log.Append(Record("GET", "/a", 200));
  log.Append(Record("HEAD", "/a", 200));
  log.Append(Record("POST", "/b", 200));
  log.Append(Record("DELETE", "/b", 500));
  EXPECT_EQ(log.Records().size(), 5u);
  EXPECT_EQ(log.CountWrites(), 2);
  EXPECT_EQ(log.Count("GET", "/a"), 2);
  EXPECT_EQ(log.Count("POST", "/a"), 0);
}

TEST(RequestLogTest, FileHasEveryRecordInOrder) {
  std::string path = std::string(std::getenv("TEST_TMPDIR")) + "/pve.jsonl";
  {
    RequestLog log;
    ASSERT_TRUE(log.OpenFile(path).ok());
    log.Append(Record("GET", "/one", 200));
    log.Append(Record("PUT", "/two", 400));
    // Readable while the log is still open (flushed per record).
    absl::StatusOr<std::vector<RequestRecord>> now = ReadRequestLogFile(path);
    ASSERT_TRUE(now.ok()) << now.status();
    EXPECT_EQ(now->size(), 2u);
  }
  absl::StatusOr<std::vector<RequestRecord>> records = ReadRequestLogFile(path);
  ASSERT_TRUE(records.ok()) << records.status();
  ASSERT_EQ(records->size(), 2u);
  EXPECT_EQ((*records)[0].path, "/one");
  EXPECT_EQ((*records)[1].method, "PUT");
  EXPECT_EQ((*records)[1].status, 400);
  EXPECT_EQ(ReadRequestLogFile("/nonexistent.jsonl").status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace coldstart::lab
