#include "lab/echo/echo_module.h"

#include <cstdlib>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "lab/listen_address.h"
#include "lib/base/status_macros.h"
#include "nlohmann/json.hpp"

namespace coldstart::lab {
namespace {

constexpr absl::Duration kTaskDuration = absl::Seconds(1);

void Json(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

}  // namespace

EchoModule::~EchoModule() { Stop(); }

absl::Status EchoModule::Start(ModuleContext& context) {
  context_ = &context;
  ASSIGN_OR_RETURN(
      HostPort host_port,
      ModuleListenAddress(context, "echo", "", kEchoDefaultAddress));
  server_ = std::make_unique<ModuleServer>(ModuleServerOptions{
      "echo", host_port.host, context.any_port ? 0 : host_port.port,
      context.faults, context.requests});

  server_->Get("/echo", [](const httplib::Request& req, httplib::Response& res,
                           const FaultDecision&) {
    res.set_content(req.get_param_value("msg"), "text/plain");
  });

  server_->Post("/things", [this](const httplib::Request& req,
                                  httplib::Response& res,
                                  const FaultDecision& fault) {
    int vmid = 0;
    if (!absl::SimpleAtoi(req.get_param_value("vmid"), &vmid) || vmid <= 0) {
      Json(res, 400,
           {{"data", nullptr}, {"errors", {{"vmid", "a positive integer"}}}});
      return;
    }
    std::string name = req.get_param_value("name");
    std::string error = fault.TaskErrorText(vmid);
    std::string upid;
    {
      absl::MutexLock lock(&mu_);
      upid = absl::StrCat("UPID:lab:", next_task_++, ":echo:", vmid, ":");
      tasks_[upid] = Task{};
    }
    context_->scheduler->ScheduleAfter(
        context_->latency->Scale(kTaskDuration),
        [this, upid, vmid, name, error] {
          {
            absl::MutexLock lock(&mu_);
            tasks_[upid] = Task{true, error.empty() ? "OK" : error};
          }
          if (error.empty()) context_->world->Publish(VmCreated{vmid, name});
        });
    Json(res, 200, {{"data", upid}});
  });

  server_->Get("/tasks/(.+)", [this](const httplib::Request& req,
                                     httplib::Response& res,
                                     const FaultDecision&) {
    absl::MutexLock lock(&mu_);
    auto it = tasks_.find(req.matches[1].str());
    if (it == tasks_.end()) {
      Json(res, 404, {{"data", nullptr}, {"message", "no such task"}});
      return;
    }
    nlohmann::json data = {{"status", it->second.done ? "stopped" : "running"}};
    if (it->second.done) data["exitstatus"] = it->second.exitstatus;
    Json(res, 200, {{"data", data}});
  });

  server_->Get("/vms", [this](const httplib::Request&, httplib::Response& res,
                              const FaultDecision&) {
    nlohmann::json vms = nlohmann::json::array();
    for (const auto& [vmid, vm] : context_->world->State().vms) {
      vms.push_back(
          {{"vmid", vmid}, {"name", vm.name}, {"running", vm.running}});
    }
    Json(res, 200, {{"data", vms}});
  });

  RETURN_IF_ERROR(server_->Start());

  auto child = context.options.find("child");
  if (child != context.options.end()) {
    ChildSpec spec;
    spec.name = "echo-child";
    spec.argv = {child->second};
    // The secret comes from labd's environment, never from argv.
    auto secret_env = context.options.find("child_secret_env");
    if (secret_env != context.options.end()) {
      const char* value = std::getenv(secret_env->second.c_str());
      if (value == nullptr) {
        return absl::InvalidArgumentError(absl::StrCat(
            "echo: environment variable ", secret_env->second, " is not set"));
      }
      spec.stdin_data = absl::StrCat(value, "\n");
    }
    RETURN_IF_ERROR(context.processes->Start(spec).status());
    child_started_ = true;
    context.log(absl::StrCat("echo: started child echo-child (", child->second,
                             "), log ",
                             context.processes->LogPath("echo-child")));
  }
  return absl::OkStatus();
}

std::map<std::string, std::string> EchoModule::Listeners() const {
  if (server_ == nullptr) return {};
  return {{"http", server_->address()}};
}

void EchoModule::Stop() {
  if (server_ != nullptr) server_->Stop();
  if (child_started_) {
    child_started_ = false;
    absl::StatusOr<ChildExit> exit = context_->processes->Stop("echo-child");
    if (exit.ok()) context_->log("echo: stopped " + Describe(*exit));
  }
}

}  // namespace coldstart::lab
