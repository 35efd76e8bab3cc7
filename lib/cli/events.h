// Progress of a tool run: one human line per event on stderr (a live status
// line of the running steps when stderr is a terminal) and, optionally, a
// JSON-lines file of step start/end records for timelines and benchmarks:
//
//   {"ts":"2025-01-01T00:00:00.000Z","tool":"provision-vms","step":"clone",
//    "node":"ctrl-1","event":"start"}
//   {"ts":"…","tool":"provision-vms","step":"clone","node":"ctrl-1",
//    "event":"end","outcome":"ok","duration_ms":1234}
//   {"ts":"…","tool":"…","step":"…","event":"end","outcome":"failed",
//    "message":"…","duration_ms":…}
//
// Thread-safe: per-node work running in parallel may report concurrently.
#ifndef COLDSTART_LIB_CLI_EVENTS_H_
#define COLDSTART_LIB_CLI_EVENTS_H_

#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "lib/base/clock.h"

namespace coldstart {

struct EventsOptions {
  // Tool name, the prefix of every line and the "tool" of every record.
  std::string tool;
  // Where human lines go; nullptr means no human output.
  std::FILE* stderr_stream = stderr;
  // Whether stderr_stream is a terminal (live status line). Unset: isatty.
  std::optional<bool> terminal;
  // JSON-lines file, opened for append; empty means none.
  std::string events_path;
  // nullptr means Clock::Real().
  Clock* clock = nullptr;
  // When set, human lines go to this stream instead of stderr_stream (never
  // a terminal): for tools that take their stderr as a std::ostream.
  std::ostream* stderr_ostream = nullptr;
};

class Events {
 public:
  using StepId = uint64_t;

  // Errors: the events file cannot be opened (code from errno, e.g.
  // PermissionDenied / NotFound).
  static absl::StatusOr<std::unique_ptr<Events>> Create(EventsOptions options);
  ~Events();

  // A step begins; `node` may be empty for cluster-wide steps.
  StepId Start(absl::string_view step, absl::string_view node = "");
  // A step recorded in the events file only (no stderr lines at its start
  // and end): a tool's whole run, whose failure the tool reports itself.
  StepId StartRecordOnly(absl::string_view step);
  // The step ends with `outcome` (OK → "ok", else "failed" with the status
  // message). Ending an unknown or already ended id does nothing.
  void End(StepId id, const absl::Status& outcome);
  // A free-form progress line (not a step); also recorded as event "note".
  void Note(absl::string_view message, absl::string_view node = "");

 private:
  struct Running {
    std::string step;
    std::string node;
    absl::Time started;
    bool quiet = false;
  };
  explicit Events(EventsOptions options, std::FILE* events_file);
  void WriteRecord(absl::string_view event, const Running& running,
                   absl::Time now, const absl::Status* outcome,
                   absl::string_view message)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void PrintLine(absl::string_view line) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string Label(const Running& running) const;

  const EventsOptions options_;
  const bool terminal_;
  Clock* const clock_;
  absl::Mutex mu_;
  std::FILE* events_file_ ABSL_GUARDED_BY(mu_);
  StepId next_id_ ABSL_GUARDED_BY(mu_) = 1;
  std::map<StepId, Running> running_ ABSL_GUARDED_BY(mu_);
  bool status_line_shown_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace coldstart

#endif  // COLDSTART_LIB_CLI_EVENTS_H_
