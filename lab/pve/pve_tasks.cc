// Tasks: UPIDs, their end (exit status, log, world events), status and log
// calls, the node's task list.
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "lab/pve/pve_api.h"
#include "lab/pve/pve_api_internal.h"
#include "nlohmann/json.hpp"

namespace coldstart::lab {

using json = nlohmann::json;
using pve_internal::Data;
using pve_internal::Forbidden;
using pve_internal::Param;
using pve_internal::ParamError;
using pve_internal::UriUnescape;

std::string PveApi::StartTask(const std::string& node, const std::string& type,
                              const std::string& id, const Caller& c,
                              absl::Duration duration, std::string fault,
                              std::function<TaskEnd(bool)> finish) {
  Task task;
  task.node = node;
  task.type = type;
  task.id = id;
  task.user = c.userid;
  task.tokenid = c.tokenid;
  task.pid = next_pid_++;
  task.pstart = 0x1b2c3d4 + task.pid;
  task.starttime = NowSeconds();
  std::string upid =
      absl::StrFormat("UPID:%s:%08X:%08X:%08X:%s:%s:%s:", node, task.pid,
                      task.pstart, task.starttime, type, id, c.full);
  tasks_[upid] = task;
  scheduler_.ScheduleAfter(
      latency_.Scale(duration),
      [this, upid, fault = std::move(fault), finish = std::move(finish)] {
        FinishTask(upid, fault, finish);
      });
  return upid;
}

void PveApi::FinishTask(const std::string& upid, const std::string& fault,
                        std::function<TaskEnd(bool)> finish) {
  TaskEnd end;
  if (!fault.empty()) {
    end = finish(true);
    end.exitstatus = fault;
    end.events.clear();
  } else {
    end = finish(false);
  }
  {
    absl::MutexLock lock(&mu_);
    Task& task = tasks_[upid];
    task.running = false;
    task.exitstatus = end.exitstatus;
    if (end.exitstatus != "OK") {
      task.log.push_back("TASK ERROR: " + end.exitstatus);
    } else {
      task.log.push_back("TASK OK");
    }
  }
  for (const EventPayload& e : end.events) world_.Publish(e);
}

PveResponse PveApi::ListTasks(const PveRequest& r, const Caller& c,
                              const PathArgs& args) {
  json out = json::array();
  bool active_only = Param(r, "source") == "active";
  for (const auto& [id, t] : tasks_) {
    if (t.node != args.node || (active_only && !t.running)) continue;
    if (!Param(r, "typefilter").empty() && t.type != Param(r, "typefilter")) {
      continue;
    }
    if (absl::StrCat(t.user, "!", t.tokenid) != c.full &&
        !Has(c, "/nodes/" + args.node, "Sys.Audit")) {
      continue;
    }
    json e = {{"upid", id}, {"node", t.node}, {"type", t.type},
              {"id", t.id}, {"user", t.user}, {"starttime", t.starttime}};
    if (!t.running) e["status"] = t.exitstatus;
    out.push_back(e);
  }
  return Data(out);
}

const PveApi::Task* PveApi::FindTask(const Caller& c, const PathArgs& args,
                                     PveResponse* res) const {
  std::string upid = UriUnescape(args.upid);
  if (!absl::StartsWith(upid, "UPID:")) {
    *res = ParamError({{"upid", "unable to parse worker upid"}});
    return nullptr;
  }
  auto it = tasks_.find(upid);
  if (it == tasks_.end() || it->second.node != args.node) {
    *res = ParamError({{"upid", "no such task"}});
    return nullptr;
  }
  const Task& t = it->second;
  if (absl::StrCat(t.user, "!", t.tokenid) != c.full &&
      !Has(c, "/nodes/" + args.node, "Sys.Audit")) {
    *res = Forbidden("/nodes/" + args.node, "Sys.Audit");
    return nullptr;
  }
  return &t;
}

PveResponse PveApi::GetTaskStatus(const PveRequest& r, const Caller& c,
                                  const PathArgs& args) {
  PveResponse res;
  const Task* t = FindTask(c, args, &res);
  if (t == nullptr) return res;
  json data = {{"upid", UriUnescape(args.upid)},
               {"node", t->node},
               {"pid", t->pid},
               {"pstart", t->pstart},
               {"starttime", t->starttime},
               {"type", t->type},
               {"id", t->id},
               {"user", t->user},
               {"tokenid", t->tokenid},
               {"status", t->running ? "running" : "stopped"}};
  if (!t->running) data["exitstatus"] = t->exitstatus;
  return Data(data);
}

PveResponse PveApi::GetTaskLog(const PveRequest& r, const Caller& c,
                               const PathArgs& args) {
  PveResponse res;
  const Task* t = FindTask(c, args, &res);
  if (t == nullptr) return res;
  json out = json::array();
  int n = 1;
  for (const auto& line : t->log) out.push_back({{"n", n++}, {"t", line}});
  return Data(out);
}

}  // namespace coldstart::lab
