// Child processes of the lab (PowerDNS, nginx, a D-Bus session, ...): started
// with an argv that holds no secrets, output captured in
// <workdir>/logs/<name>.log, each in its own process group, stopped by
// signalling that whole group, reaped, and reported. No restarts.
//
// Secrets reach a child through `env` or `stdin_data` (or a 0600 file the
// caller writes), never argv: argv is logged and visible in /proc to every
// user. The supervisor never logs env values or stdin.
//
// The constructor makes this process a child subreaper
// (PR_SET_CHILD_SUBREAPER), so a child's orphaned descendants are reparented
// here and can be reaped and counted as leftovers.
#ifndef COLDSTART_LAB_PROCESS_SUPERVISOR_H_
#define COLDSTART_LAB_PROCESS_SUPERVISOR_H_

#include <sys/types.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace coldstart::lab {

struct ChildSpec {
  // Unique among running children; names the log file. [A-Za-z0-9_.-]+.
  std::string name;
  // argv[0] is the program (a path, or a name looked up in PATH). Must not
  // contain secrets.
  std::vector<std::string> argv;
  // Added to (or replacing in) the lab's environment.
  std::vector<std::pair<std::string, std::string>> env;
  // Written to the child's stdin, which is then closed (at most 64 KiB).
  // Empty: stdin is /dev/null.
  std::string stdin_data;
};

struct ChildExit {
  std::string name;
  pid_t pid = 0;
  // Exit code, or -1 when killed by a signal.
  int exit_code = -1;
  // Terminating signal, or 0.
  int signal = 0;
  // The group had to be killed with SIGKILL after the grace period.
  bool killed = false;
  // Processes of the child's group still present after the stop.
  bool leftovers = false;
};

// "name pid=N exit=0" / "name pid=N signal=15 (killed) LEFTOVERS".
std::string Describe(const ChildExit& exit);

class Supervisor {
 public:
  // Logs go to <workdir>/logs/ (created).
  explicit Supervisor(std::string workdir);
  // Stops every child still running.
  ~Supervisor();
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // Starts the child. InvalidArgument for a bad spec, AlreadyExists for a
  // running name, Internal if fork/exec setup fails (an exec failure shows
  // as exit code 127 and a line in the log).
  absl::StatusOr<pid_t> Start(const ChildSpec& spec);

  // True while the child has not exited (reaps it if it has).
  bool IsRunning(const std::string& name);

  // SIGTERM to the child's process group; after `grace`, SIGKILL to the
  // group; reaps the child and any reparented descendants. NotFound for an
  // unknown name. The child is forgotten afterwards.
  absl::StatusOr<ChildExit> Stop(const std::string& name,
                                 absl::Duration grace = absl::Seconds(5));
  // Stops every child, most recently started first.
  std::vector<ChildExit> StopAll(absl::Duration grace = absl::Seconds(5));

  std::string LogPath(const std::string& name) const;
  std::vector<std::string> Running() const;

 private:
  struct Child {
    std::string name;
    pid_t pid = 0;
    bool exited = false;
    int status = 0;
  };

  const std::string workdir_;
  mutable absl::Mutex mu_;
  std::vector<Child> children_ ABSL_GUARDED_BY(mu_);
};

}  // namespace coldstart::lab

#endif  // COLDSTART_LAB_PROCESS_SUPERVISOR_H_
