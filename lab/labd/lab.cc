#include "lab/labd/lab.h"

#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <set>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "lab/listen_address.h"
#include "lab/modules.h"
#include "lab/world/lifecycle.h"
#include "lib/base/status_macros.h"
#include "lib/cli/atomic_file.h"
#include "lib/cli/cluster_textproto.h"
#include "nlohmann/json.hpp"

namespace coldstart::lab {
Lab::Lab(LabOptions options, LatencyModel latency)
    : options_(std::move(options)), latency_(latency) {}

absl::StatusOr<std::unique_ptr<Lab>> Lab::Create(const LabOptions& options) {
  ASSIGN_OR_RETURN(LatencyModel latency,
                   LatencyModel::Create(options.time_scale));
  if (options.workdir.empty()) {
    return absl::InvalidArgumentError("lab: a work directory is required");
  }
  RETURN_IF_ERROR(ParseHostPort(options.admin_address, "--admin").status());
  std::set<std::string> known;
  for (const ModuleRegistration& r : RegisteredModules()) known.insert(r.name);
  for (const std::string& m : options.modules) {
    if (known.count(m) == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("lab: unknown module \"", m, "\""));
    }
  }
  for (const auto& [key, value] : options.module_options) {
    std::string module = key.substr(0, key.find('.'));
    if (key.find('.') == std::string::npos || known.count(module) == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "lab: module option \"", key, "\" is not MODULE.KEY of a module"));
    }
  }

  std::unique_ptr<Lab> lab(new Lab(options, latency));
  ASSIGN_OR_RETURN(ParsedCluster parsed, ReadClusterFile(options.spec_path));
  lab->spec_ = std::move(parsed.cluster);
  FaultFile faults;
  if (!options.faults_path.empty()) {
    ASSIGN_OR_RETURN(faults, ReadFaultFile(options.faults_path));
  }
  ASSIGN_OR_RETURN(lab->faults_, FaultInjector::Create(faults));

  std::error_code error;
  std::filesystem::create_directories(options.workdir + "/requests", error);
  if (error) {
    return absl::FailedPreconditionError(
        absl::StrCat("lab: cannot create ", options.workdir,
                     "/requests: ", error.message()));
  }
  {
    absl::MutexLock lock(&lab->log_mu_);
    lab->log_file_ = std::fopen((options.workdir + "/lab.log").c_str(), "ae");
  }
  Lab* raw = lab.get();
  lab->faults_->set_on_fire(
      [raw](const FaultFiring& f) { raw->Log(Describe(f)); });
  lab->scheduler_ = std::make_unique<ThreadScheduler>();
  lab->world_ =
      std::make_unique<World>([raw] { return raw->scheduler_->Now(); });
  lab->world_->SubscribeAll([raw](const Event& e) {
    raw->Log(absl::StrCat("world #", e.seq, ": ", Describe(e.payload)));
  });
  LifecycleOptions lifecycle;
  for (const coldstart::v1::Node& node : lab->spec_.spec().nodes()) {
    lifecycle.node_ips[node.name()] = node.ip();
  }
  lifecycle.api_vip = lab->spec_.spec().network().api_vip();
  InstallLifecycle(lifecycle, *lab->world_, *lab->scheduler_, lab->latency_);
  lab->processes_ = std::make_unique<Supervisor>(options.workdir);
  return lab;
}

Lab::~Lab() {
  Stop();
  absl::MutexLock lock(&log_mu_);
  if (log_file_ != nullptr) std::fclose(log_file_);
}

void Lab::Log(const std::string& line) {
  std::string stamped = absl::StrCat(
      absl::FormatTime("%H:%M:%E3S", absl::Now(), absl::LocalTimeZone()),
      " labd: ", line, "\n");
  absl::MutexLock lock(&log_mu_);
  std::cerr << stamped << std::flush;
  if (log_file_ != nullptr) {
    std::fputs(stamped.c_str(), log_file_);
    std::fflush(log_file_);
  }
}

RequestLog* Lab::requests(const std::string& module) {
  for (auto& m : modules_) {
    if (m->name == module) return m->requests.get();
  }
  return nullptr;
}

absl::Status Lab::Start() {
  for (const ModuleRegistration& registration : RegisteredModules()) {
    if (!options_.modules.empty() &&
        std::find(options_.modules.begin(), options_.modules.end(),
                  registration.name) == options_.modules.end()) {
      continue;
    }
    auto running = std::make_unique<RunningModule>();
    running->name = registration.name;
    running->requests = std::make_unique<RequestLog>();
    absl::Status status = running->requests->OpenFile(absl::StrCat(
        options_.workdir, "/requests/", registration.name, ".jsonl"));
    ModuleContext& c = running->context;
    c.spec = &spec_;
    c.world = world_.get();
    c.scheduler = scheduler_.get();
    c.latency = &latency_;
    c.faults = faults_.get();
    c.processes = processes_.get();
    c.requests = running->requests.get();
    c.workdir = options_.workdir;
    c.any_port = options_.any_port;
    std::string prefix = registration.name + ".";
    for (const auto& [key, value] : options_.module_options) {
      if (key.rfind(prefix, 0) == 0)
        c.options[key.substr(prefix.size())] = value;
    }
    c.log = [this](const std::string& line) { Log(line); };
    running->module = registration.create();
    if (status.ok()) status = running->module->Start(c);
    if (!status.ok()) {
      running->module->Stop();
      Stop();
      return absl::Status(status.code(),
                          absl::StrCat("lab: module ", registration.name, ": ",
                                       status.message()));
    }
    for (const auto& [listener, address] : running->module->Listeners()) {
      Log(absl::StrCat("module ", registration.name, " ", listener, " on ",
                       address));
    }
    modules_.push_back(std::move(running));
  }

  ASSIGN_OR_RETURN(HostPort admin,
                   ParseHostPort(options_.admin_address, "--admin"));
  admin_ = std::make_unique<ModuleServer>(ModuleServerOptions{
      "lab", admin.host, options_.any_port ? 0 : admin.port});
  StartAdmin();
  absl::Status status = admin_->Start();
  if (!status.ok()) {
    Stop();
    return status;
  }
  Log(absl::StrCat("admin on ", admin_->address(), ", time scale ",
                   latency_.time_scale()));
  if (!options_.ready_file.empty()) {
    status = WriteFileAtomically(options_.ready_file, ReadyJson() + "\n");
    if (!status.ok()) {
      Stop();
      return status;
    }
    Log("ready: " + options_.ready_file);
  }
  return absl::OkStatus();
}

void Lab::StartAdmin() {
  admin_->Get("/_lab/requests",
              [this](const httplib::Request& req, httplib::Response& res,
                     const FaultDecision&) {
                RequestLog* log = requests(req.get_param_value("module"));
                if (log == nullptr) {
                  res.status = 404;
                  res.set_content("no such module running", "text/plain");
                  return;
                }
                nlohmann::json out = nlohmann::json::array();
                for (const RequestRecord& r : log->Records()) {
                  out.push_back(nlohmann::json::parse(ToJsonLine(r)));
                }
                res.set_content(out.dump(), "application/json");
              });
  admin_->Get("/_lab/faults",
              [this](const httplib::Request&, httplib::Response& res,
                     const FaultDecision&) {
                nlohmann::json out = nlohmann::json::array();
                for (const FaultFiring& f : faults_->Firings()) {
                  out.push_back({{"rule", f.rule},
                                 {"kind", f.kind},
                                 {"module", f.module},
                                 {"method", f.method},
                                 {"path", f.path},
                                 {"call", f.call}});
                }
                res.set_content(out.dump(), "application/json");
              });
  admin_->Get("/_lab/world",
              [this](const httplib::Request&, httplib::Response& res,
                     const FaultDecision&) {
                nlohmann::json out = nlohmann::json::array();
                for (const Event& e : world_->History()) {
                  out.push_back({{"seq", e.seq},
                                 {"time", absl::FormatTime(e.time)},
                                 {"event", Describe(e.payload)}});
                }
                res.set_content(out.dump(), "application/json");
              });
  admin_->Get("/_lab/critical-path",
              [this](const httplib::Request&, httplib::Response& res,
                     const FaultDecision&) {
                res.set_content(latency_.FormatCriticalPath(), "text/plain");
              });
}

std::string Lab::ReadyJson() const {
  nlohmann::json modules = nlohmann::json::object();
  for (const auto& m : modules_) {
    nlohmann::json listeners = nlohmann::json::object();
    for (const auto& [name, address] : m->module->Listeners()) {
      listeners[name] = address;
    }
    modules[m->name] = listeners;
  }
  return nlohmann::json{{"pid", getpid()},
                        {"admin", admin_ ? admin_->address() : ""},
                        {"workdir", options_.workdir},
                        {"time_scale", latency_.time_scale()},
                        {"modules", modules}}
      .dump();
}

void Lab::Stop() {
  if (stopped_) return;
  stopped_ = true;
  if (admin_ != nullptr) admin_->Stop();
  for (auto it = modules_.rbegin(); it != modules_.rend(); ++it) {
    (*it)->module->Stop();
  }
  if (scheduler_ != nullptr) scheduler_->Shutdown();
  if (processes_ != nullptr) {
    for (const ChildExit& exit : processes_->StopAll()) {
      Log("child stopped: " + Describe(exit));
    }
  }
  Log("stopped");
}

}  // namespace coldstart::lab
