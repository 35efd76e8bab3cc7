#include "lib/kube/kube_lists.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "lib/base/status_macros.h"
#include "simdjson.h"

namespace coldstart::kube {
namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::object;

std::string GetString(element e, const char* key) {
  std::string_view v;
  if (e[key].get(v) != simdjson::SUCCESS) return "";
  return std::string(v);
}

bool GetObject(element e, const char* key, element& out) {
  return e[key].get(out) == simdjson::SUCCESS && out.is_object();
}

bool GetArray(element e, const char* key, array& out) {
  return e[key].get(out) == simdjson::SUCCESS;
}

int64_t GetInt(element e, const char* key) {
  int64_t v = 0;
  if (e[key].get(v) != simdjson::SUCCESS) return 0;
  return v;
}

bool GetBool(element e, const char* key) {
  bool v = false;
  if (e[key].get(v) != simdjson::SUCCESS) return false;
  return v;
}

absl::StatusOr<array> Items(simdjson::dom::parser& parser,
                            absl::string_view page, element& root) {
  simdjson::padded_string padded(page.data(), page.size());
  // The parser keeps its own copy of the document's strings.
  if (parser.parse(padded).get(root) != simdjson::SUCCESS ||
      !root.is_object()) {
    return absl::InvalidArgumentError("the list page is not a JSON object");
  }
  array items;
  if (root["items"].get(items) != simdjson::SUCCESS) {
    element null_items;
    if (root["items"].get(null_items) == simdjson::SUCCESS &&
        null_items.is_null()) {
      return array();
    }
    return absl::InvalidArgumentError("the list page has no items array");
  }
  return items;
}

}  // namespace

absl::Status DecodePodListPage(absl::string_view page,
                               std::vector<PodSummary>& out) {
  static thread_local simdjson::dom::parser parser;
  element root;
  ASSIGN_OR_RETURN(array items, Items(parser, page, root));
  for (element pod : items) {
    PodSummary s;
    element meta, spec, status;
    if (GetObject(pod, "metadata", meta)) {
      s.ns = GetString(meta, "namespace");
      s.name = GetString(meta, "name");
    }
    if (GetObject(pod, "spec", spec)) {
      s.node = GetString(spec, "nodeName");
      array containers;
      if (GetArray(spec, "containers", containers)) {
        s.containers = static_cast<int>(containers.size());
      }
    }
    s.phase = "Pending";
    if (GetObject(pod, "status", status)) {
      std::string phase = GetString(status, "phase");
      if (!phase.empty()) s.phase = phase;
      s.reason = GetString(status, "reason");
      array inits;
      if (GetArray(status, "initContainerStatuses", inits)) {
        for (element c : inits) {
          s.restarts += GetInt(c, "restartCount");
          element state, w, t;
          if (s.reason.empty() && GetObject(c, "state", state)) {
            if (GetObject(state, "waiting", w)) {
              std::string r = GetString(w, "reason");
              if (!r.empty() && r != "PodInitializing") {
                s.reason = absl::StrCat("Init:", r);
              }
            } else if (GetObject(state, "terminated", t) &&
                       GetInt(t, "exitCode") != 0) {
              std::string r = GetString(t, "reason");
              s.reason = absl::StrCat("Init:", r.empty() ? "Error" : r);
            }
          }
        }
      }
      array statuses;
      if (GetArray(status, "containerStatuses", statuses)) {
        for (element c : statuses) {
          s.restarts += GetInt(c, "restartCount");
          element state, w, t, running;
          bool is_running = false;
          if (GetObject(c, "state", state)) {
            if (GetObject(state, "waiting", w)) {
              std::string r = GetString(w, "reason");
              if (s.reason.empty() && !r.empty()) s.reason = r;
            } else if (GetObject(state, "terminated", t)) {
              std::string r = GetString(t, "reason");
              if (s.reason.empty() && !r.empty() && r != "Completed") {
                s.reason = r;
              }
            } else if (GetObject(state, "running", running)) {
              is_running = true;
            }
          }
          if (is_running && GetBool(c, "ready")) ++s.ready_containers;
        }
      }
    }
    out.push_back(std::move(s));
  }
  return absl::OkStatus();
}

absl::Status DecodeNodeListPage(absl::string_view page,
                                std::vector<NodeSummary>& out) {
  static thread_local simdjson::dom::parser parser;
  element root;
  ASSIGN_OR_RETURN(array items, Items(parser, page, root));
  for (element node : items) {
    NodeSummary s;
    element meta, labels, status, info;
    if (GetObject(node, "metadata", meta)) {
      s.name = GetString(meta, "name");
      if (GetObject(meta, "labels", labels)) {
        object lo;
        if (labels.get(lo) == simdjson::SUCCESS) {
          for (auto field : lo) {
            absl::string_view key(field.key.data(), field.key.size());
            if (absl::ConsumePrefix(&key, "node-role.kubernetes.io/") &&
                !key.empty()) {
              s.roles.emplace_back(key);
            }
          }
        }
      }
    }
    std::sort(s.roles.begin(), s.roles.end());
    if (GetObject(node, "status", status)) {
      if (GetObject(status, "nodeInfo", info)) {
        s.kubelet_version = GetString(info, "kubeletVersion");
      }
      array conditions;
      if (GetArray(status, "conditions", conditions)) {
        for (element c : conditions) {
          if (GetString(c, "type") != "Ready") continue;
          s.ready = GetString(c, "status");
          s.ready_reason = GetString(c, "reason");
          s.ready_message = GetString(c, "message");
        }
      }
    }
    out.push_back(std::move(s));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<PodSummary>> ListPodSummaries(
    KubeClient& client, absl::string_view ns, const ListOptions& options) {
  std::vector<PodSummary> out;
  RETURN_IF_ERROR(client.ListPages(
      Pods(), ns, options,
      [&](absl::string_view page) { return DecodePodListPage(page, out); }));
  return out;
}

absl::StatusOr<std::vector<NodeSummary>> ListNodeSummaries(
    KubeClient& client, const ListOptions& options) {
  std::vector<NodeSummary> out;
  RETURN_IF_ERROR(client.ListPages(
      Nodes(), "", options,
      [&](absl::string_view page) { return DecodeNodeListPage(page, out); }));
  return out;
}

}  // namespace coldstart::kube
