#ifndef COLDSTART_LIB_TESTING_SECRET_TESTING_H_
#define COLDSTART_LIB_TESTING_SECRET_TESTING_H_

// Test support for code that handles secrets and keys: running real client
// programs (openssl, secret-tool) and a private Secret Service (D-Bus session
// bus + gnome-keyring-daemon). testonly.

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace coldstart {

struct ProcessResult {
  int exit_code = -1;  // -1 when killed by a signal.
  std::string out;     // stdout
  std::string err;     // stderr
};

// Runs argv[0] (a path) with `argv`, feeding `stdin_data` and capturing
// stdout and stderr. Inherits the environment. Internal error if it cannot
// start.
absl::StatusOr<ProcessResult> RunProcess(const std::vector<std::string>& argv,
                                         absl::string_view stdin_data = {});

// A private D-Bus session bus with an unlocked gnome-keyring Secret Service
// on it, started in Start() and stopped (every process waited for) in Stop()
// or the destructor. Start() points this process's environment
// (DBUS_SESSION_BUS_ADDRESS, HOME, XDG_RUNTIME_DIR, ...) at it, so it must
// run before anything in the process connects to the session bus. The bus
// has no service activation, so nothing else gets started behind our back.
// Sockets live in a fresh short directory under /tmp, removed by Stop().
class PrivateSecretService {
 public:
  explicit PrivateSecretService(std::string work_dir)
      : work_dir_(std::move(work_dir)) {}
  PrivateSecretService(const PrivateSecretService&) = delete;
  PrivateSecretService& operator=(const PrivateSecretService&) = delete;
  ~PrivateSecretService() { Stop(); }

  // FailedPrecondition with the daemons' output when either cannot start or
  // the secrets service does not appear on the bus within 30 s.
  absl::Status Start();
  // Terminates and reaps both daemons. Idempotent.
  void Stop();

  const std::string& bus_address() const { return bus_address_; }
  pid_t dbus_pid() const { return dbus_pid_; }
  pid_t keyring_pid() const { return keyring_pid_; }

 private:
  std::string work_dir_;
  std::string socket_dir_;
  std::string bus_address_;
  pid_t dbus_pid_ = -1;
  pid_t keyring_pid_ = -1;
};

}  // namespace coldstart

#endif  // COLDSTART_LIB_TESTING_SECRET_TESTING_H_
