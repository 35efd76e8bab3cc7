#include "lab/http/request_log.h"

#include <fstream>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace coldstart::lab {

bool IsWrite(absl::string_view method) {
  return method != "GET" && method != "HEAD" && method != "OPTIONS";
}

std::string ToJsonLine(const RequestRecord& r) {
  nlohmann::json j = {
      {"module", r.module},
      {"method", r.method},
      {"path", r.path},
      {"status", r.status},
      {"time",
       absl::FormatTime("%Y-%m-%d%ET%H:%M:%E3SZ", r.time, absl::UTCTimeZone())},
      {"fault", r.fault},
  };
  // Paths are client input: replace invalid UTF-8 rather than throw.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

absl::StatusOr<RequestRecord> ParseJsonLine(absl::string_view line) {
  nlohmann::json j =
      nlohmann::json::parse(line.begin(), line.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError("not a JSON object");
  }
  RequestRecord r;
  try {
    r.module = j.at("module").get<std::string>();
    r.method = j.at("method").get<std::string>();
    r.path = j.at("path").get<std::string>();
    r.status = j.at("status").get<int>();
    r.fault = j.value("fault", "");
    std::string time = j.at("time").get<std::string>();
    std::string err;
    if (!absl::ParseTime("%Y-%m-%d%ET%H:%M:%E*SZ", time, absl::UTCTimeZone(),
                         &r.time, &err)) {
      return absl::InvalidArgumentError(absl::StrCat("bad time: ", err));
    }
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(e.what());
  }
  return r;
}

absl::StatusOr<std::vector<RequestRecord>> ReadRequestLogFile(
    const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(absl::StrCat(path, ": cannot be read"));
  }
  std::vector<RequestRecord> records;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    absl::StatusOr<RequestRecord> r = ParseJsonLine(line);
    if (!r.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ":", number, ": ", r.status().message()));
    }
    records.push_back(*std::move(r));
  }
  return records;
}

RequestLog::~RequestLog() {
  absl::MutexLock lock(&mu_);
  if (file_ != nullptr) std::fclose(file_);
}

absl::Status RequestLog::OpenFile(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "we");
  if (f == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("request log ", path, ": cannot be created"));
  }
  absl::MutexLock lock(&mu_);
  if (file_ != nullptr) std::fclose(file_);
  file_ = f;
  return absl::OkStatus();
}

void RequestLog::Append(const RequestRecord& record) {
  std::string line = ToJsonLine(record) + "\n";
  absl::MutexLock lock(&mu_);
  records_.push_back(record);
  if (file_ != nullptr) {
    std::fwrite(line.data(), 1, line.size(), file_);
    std::fflush(file_);
  }
}

std::vector<RequestRecord> RequestLog::Records() const {
  absl::MutexLock lock(&mu_);
  return records_;
}

int RequestLog::CountWrites() const {
  absl::MutexLock lock(&mu_);
  int n = 0;
  for (const RequestRecord& r : records_) n += IsWrite(r.method);
  return n;
}

int RequestLog::Count(absl::string_view method, absl::string_view path) const {
  absl::MutexLock lock(&mu_);
  int n = 0;
  for (const RequestRecord& r : records_) {
    n += r.method == method && r.path == path;
  }
  return n;
}

}  // namespace coldstart::lab
