// labd: the lab daemon. Flags only here; the logic is lab/labd/lab.h.
//
//   labd --spec testdata/lab.txtpb --workdir /tmp/lab [--time-scale 0.01]
//        [--faults FILE] [--ready-file FILE] [--admin HOST:PORT] [--any-port]
//        [--modules echo,pve] [--module-opt echo.child=/path,echo.k=v]
//   labd --print-critical-path [--time-scale X]
//   labd --list-modules
//
// Runs until SIGTERM or SIGINT, then stops everything and exits 0. Exit 2 for
// bad input, 1 if the lab cannot start.
#include <signal.h>

#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "lab/labd/lab.h"
#include "lab/modules.h"
#include "lib/base/status_macros.h"
#include "lib/cli/cli.h"
#include "lib/cli/command_line.h"

ABSL_FLAG(std::string, spec, "", "Cluster spec with loopback addresses");
ABSL_FLAG(std::string, workdir, "", "Work directory (logs, request logs)");
ABSL_FLAG(double, time_scale, 1.0, "Multiplies every simulated latency");
ABSL_FLAG(std::string, faults, "", "Fault file (lab/faults/faults.proto)");
ABSL_FLAG(std::string, ready_file, "",
          "Written with every listener once all are up");
ABSL_FLAG(std::string, admin, coldstart::lab::kDefaultAdminAddress,
          "HOST:PORT of the admin endpoint");
ABSL_FLAG(bool, any_port, false, "Bind every listener to a free port");
ABSL_FLAG(std::vector<std::string>, modules, {},
          "Modules to run (default: all)");
ABSL_FLAG(std::vector<std::string>, module_opt, {},
          "Comma-separated MODULE.KEY=VALUE options for modules (values "
          "without commas; the last --module-opt wins)");
ABSL_FLAG(bool, print_critical_path, false,
          "Print the ideal cold-start critical path and exit");
ABSL_FLAG(bool, list_modules, false, "Print the registered modules and exit");

namespace coldstart::lab {
namespace {

constexpr absl::string_view kUsage =
    "labd: the lab daemon (simulated Proxmox, Talos, Kubernetes, Headscale, "
    "Image Factory, and real DNS servers on loopback).\n\n"
    "  labd --spec FILE --workdir DIR [--time-scale X] [--faults FILE]\n"
    "       [--ready-file FILE] [--admin HOST:PORT] [--any-port]\n"
    "       [--modules echo,pve] [--module-opt MODULE.KEY=VALUE,...]\n"
    "  labd --print-critical-path [--time-scale X]\n"
    "  labd --list-modules\n\n"
    "Runs until SIGTERM or SIGINT, then stops everything and exits 0.";
constexpr absl::string_view kExitCodes =
    "Exit codes: 0 stopped by a signal (or a listing printed), 1 the lab "
    "could not start, 2 bad input or usage.";

absl::Status RealMain(const LabOptions& options, const sigset_t& stop_signals) {
  ASSIGN_OR_RETURN(std::unique_ptr<Lab> lab, Lab::Create(options));
  RETURN_IF_ERROR(lab->Start());
  int signal = 0;
  sigwait(&stop_signals, &signal);
  lab->Log(std::string("signal ") + strsignal(signal) + ", stopping");
  lab->Stop();
  return absl::OkStatus();
}

}  // namespace
}  // namespace coldstart::lab

int main(int argc, char** argv) {
  const std::vector<std::string> positional = coldstart::ParseToolCommandLine(
      argc, argv, "labd", coldstart::lab::kUsage, coldstart::lab::kExitCodes);
  if (positional.size() > 1) {
    std::cerr << "labd: unexpected argument '" << positional[1]
              << "' (see --help)\n";
    return coldstart::kExitBadInput;
  }

  if (absl::GetFlag(FLAGS_list_modules)) {
    for (const auto& m : coldstart::lab::RegisteredModules()) {
      std::cout << m.name << "\t" << m.summary << "\n";
    }
    return 0;
  }
  if (absl::GetFlag(FLAGS_print_critical_path)) {
    auto latency =
        coldstart::lab::LatencyModel::Create(absl::GetFlag(FLAGS_time_scale));
    if (!latency.ok()) {
      std::cerr << "labd: " << latency.status().message() << "\n";
      return coldstart::kExitBadInput;
    }
    std::cout << latency->FormatCriticalPath();
    return 0;
  }

  coldstart::lab::LabOptions options;
  options.spec_path = absl::GetFlag(FLAGS_spec);
  options.workdir = absl::GetFlag(FLAGS_workdir);
  options.time_scale = absl::GetFlag(FLAGS_time_scale);
  options.faults_path = absl::GetFlag(FLAGS_faults);
  options.ready_file = absl::GetFlag(FLAGS_ready_file);
  options.admin_address = absl::GetFlag(FLAGS_admin);
  options.any_port = absl::GetFlag(FLAGS_any_port);
  options.modules = absl::GetFlag(FLAGS_modules);
  for (const std::string& opt : absl::GetFlag(FLAGS_module_opt)) {
    size_t eq = opt.find('=');
    if (eq == std::string::npos) {
      std::cerr << "labd: --module-opt " << opt
                << ": expected MODULE.KEY=VALUE\n";
      return coldstart::kExitBadInput;
    }
    options.module_options[opt.substr(0, eq)] = opt.substr(eq + 1);
  }

  // Blocked in every thread (all are started later), taken by sigwait.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  absl::Status status = coldstart::lab::RealMain(options, stop_signals);
  if (!status.ok()) std::cerr << "labd: " << status.message() << "\n";
  return coldstart::ExitCodeForStatus(status);
}
