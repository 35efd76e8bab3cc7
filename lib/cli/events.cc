#include "lib/cli/events.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "lib/base/time_format.h"
#include "nlohmann/json.hpp"

namespace coldstart {
namespace {

std::string Seconds(absl::Duration duration) {
  return absl::StrFormat("%.1f s", absl::ToDoubleSeconds(duration));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Events>> Events::Create(EventsOptions options) {
  std::FILE* file = nullptr;
  if (!options.events_path.empty()) {
    file = std::fopen(options.events_path.c_str(), "a");
    if (file == nullptr) {
      const int error = errno;
      std::string message = absl::StrCat(
          "open events file ", options.events_path, ": ", std::strerror(error));
      if (error == ENOENT) return absl::NotFoundError(message);
      if (error == EACCES) return absl::PermissionDeniedError(message);
      return absl::InternalError(message);
    }
  }
  return std::unique_ptr<Events>(new Events(std::move(options), file));
}

Events::Events(EventsOptions options, std::FILE* events_file)
    : options_(std::move(options)),
      terminal_(options_.stderr_ostream != nullptr ? false
                : options_.terminal.has_value()
                    ? *options_.terminal
                    : (options_.stderr_stream != nullptr &&
                       isatty(fileno(options_.stderr_stream)))),
      clock_(options_.clock != nullptr ? options_.clock : Clock::Real()),
      events_file_(events_file) {}

Events::~Events() {
  absl::MutexLock lock(&mu_);
  if (terminal_ && status_line_shown_ && options_.stderr_stream != nullptr) {
    std::fputs("\r\033[K", options_.stderr_stream);
    std::fflush(options_.stderr_stream);
  }
  if (events_file_ != nullptr) std::fclose(events_file_);
}

std::string Events::Label(const Running& running) const {
  if (running.node.empty()) return running.step;
  return absl::StrCat(running.step, " [", running.node, "]");
}

void Events::PrintLine(absl::string_view line) {
  if (options_.stderr_ostream != nullptr) {
    *options_.stderr_ostream << options_.tool << ": " << line << "\n";
    options_.stderr_ostream->flush();
    return;
  }
  std::FILE* out = options_.stderr_stream;
  if (out == nullptr) return;
  if (!terminal_) {
    std::fprintf(out, "%s: %.*s\n", options_.tool.c_str(),
                 static_cast<int>(line.size()), line.data());
    std::fflush(out);
    return;
  }
  // Erase the status line, print the event, redraw the running steps.
  std::fputs("\r\033[K", out);
  if (!line.empty()) {
    std::fprintf(out, "%s: %.*s\n", options_.tool.c_str(),
                 static_cast<int>(line.size()), line.data());
  }
  status_line_shown_ = !running_.empty();
  if (status_line_shown_) {
    std::vector<std::string> labels;
    for (const auto& [id, running] : running_) {
      if (!running.quiet) labels.push_back(Label(running));
    }
    std::fprintf(out, "%s: running %s", options_.tool.c_str(),
                 absl::StrJoin(labels, ", ").c_str());
  }
  std::fflush(out);
}

void Events::WriteRecord(absl::string_view event, const Running& running,
                         absl::Time now, const absl::Status* outcome,
                         absl::string_view message) {
  if (events_file_ == nullptr) return;
  nlohmann::json record;
  record["ts"] = Rfc3339Millis(now);
  record["tool"] = options_.tool;
  if (!running.step.empty()) record["step"] = running.step;
  if (!running.node.empty()) record["node"] = running.node;
  record["event"] = event;
  if (outcome != nullptr) {
    record["outcome"] = outcome->ok() ? "ok" : "failed";
    record["duration_ms"] = absl::ToInt64Milliseconds(now - running.started);
  }
  if (!message.empty()) record["message"] = message;
  const std::string line =
      record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::fprintf(events_file_, "%s\n", line.c_str());
  std::fflush(events_file_);
}

Events::StepId Events::Start(absl::string_view step, absl::string_view node) {
  absl::MutexLock lock(&mu_);
  const absl::Time now = clock_->Now();
  const StepId id = next_id_++;
  Running running{std::string(step), std::string(node), now};
  WriteRecord("start", running, now, nullptr, "");
  running_.emplace(id, running);
  PrintLine(terminal_ ? "" : absl::StrCat(Label(running), ": started"));
  return id;
}

Events::StepId Events::StartRecordOnly(absl::string_view step) {
  absl::MutexLock lock(&mu_);
  const absl::Time now = clock_->Now();
  const StepId id = next_id_++;
  Running running{std::string(step), "", now, /*quiet=*/true};
  WriteRecord("start", running, now, nullptr, "");
  running_.emplace(id, running);
  return id;
}

void Events::End(StepId id, const absl::Status& outcome) {
  absl::MutexLock lock(&mu_);
  auto it = running_.find(id);
  if (it == running_.end()) return;
  const Running running = std::move(it->second);
  running_.erase(it);
  const absl::Time now = clock_->Now();
  WriteRecord("end", running, now, &outcome,
              outcome.ok() ? "" : outcome.message());
  if (running.quiet) return;
  const std::string took = Seconds(now - running.started);
  PrintLine(outcome.ok() ? absl::StrCat(Label(running), ": ok (", took, ")")
                         : absl::StrCat(Label(running), ": failed after ", took,
                                        ": ", outcome.message()));
}

void Events::Note(absl::string_view message, absl::string_view node) {
  absl::MutexLock lock(&mu_);
  const absl::Time now = clock_->Now();
  Running note{"", std::string(node), now};
  WriteRecord("note", note, now, nullptr, message);
  PrintLine(node.empty() ? std::string(message)
                         : absl::StrCat("[", node, "] ", message));
}

}  // namespace coldstart
