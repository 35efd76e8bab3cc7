#include "lab/kube/tables.h"

#include <algorithm>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "lib/json/json_path.h"

namespace coldstart::lab {
namespace {

// The value at `keys`, or a null value (lib/json/json_path.h).
const Json& Path(const Json& j, std::initializer_list<const char*> keys) {
  static const Json* const kNull = new Json();
  const Json* found = JsonAt(j, keys);
  return found != nullptr ? *found : *kNull;
}

std::string Age(const Json& obj, absl::Time now) {
  std::string ts = JsonString(obj, {"metadata", "creationTimestamp"});
  absl::Time t;
  std::string err;
  if (ts.empty() || !absl::ParseTime(absl::RFC3339_full, ts, &t, &err)) {
    return "<unknown>";
  }
  return HumanDuration(now - t);
}

std::string OrNone(const std::string& s) { return s.empty() ? "<none>" : s; }

Json Col(const char* name, const char* type = "string", int priority = 0,
         const char* format = "") {
  Json c = {{"name", name},
            {"type", type},
            {"format", format},
            {"description", ""},
            {"priority", priority}};
  return c;
}

// Returns {column definitions, cell function}.
struct Printer {
  std::vector<Json> columns;
  std::function<std::vector<Json>(const Json&, absl::Time)> cells;
};

std::string NodeStatus(const Json& node) {
  std::string status = "Unknown";
  const Json& conds = Path(node, {"status", "conditions"});
  if (conds.is_array()) {
    for (const Json& c : conds) {
      if (JsonString(c, {"type"}) != "Ready") continue;
      status = JsonString(c, {"status"}) == "True" ? "Ready" : "NotReady";
    }
  }
  if (Path(node, {"spec", "unschedulable"}) == Json(true)) {
    absl::StrAppend(&status, ",SchedulingDisabled");
  }
  return status;
}

std::string NodeRoles(const Json& node) {
  std::set<std::string> roles;
  const Json& labels = Path(node, {"metadata", "labels"});
  if (labels.is_object()) {
    for (const auto& [k, v] : labels.items()) {
      if (absl::StartsWith(k, "node-role.kubernetes.io/")) {
        std::string role(absl::StripPrefix(k, "node-role.kubernetes.io/"));
        if (!role.empty()) roles.insert(role);
      } else if (k == "kubernetes.io/role" && v.is_string()) {
        roles.insert(v.get<std::string>());
      }
    }
  }
  return roles.empty() ? "<none>" : absl::StrJoin(roles, ",");
}

std::string NodeAddress(const Json& node, const char* type) {
  const Json& addrs = Path(node, {"status", "addresses"});
  if (addrs.is_array()) {
    for (const Json& a : addrs) {
      if (JsonString(a, {"type"}) == type) return JsonString(a, {"address"});
    }
  }
  return "<none>";
}

std::string Unknown(const std::string& s) {
  return s.empty() ? "<unknown>" : s;
}

Printer NodePrinter() {
  return {{Col("Name", "string", 0, "name"), Col("Status"), Col("Roles"),
           Col("Age"), Col("Version"), Col("Internal-IP", "string", 1),
           Col("External-IP", "string", 1), Col("OS-Image", "string", 1),
           Col("Kernel-Version", "string", 1),
           Col("Container-Runtime", "string", 1)},
          [](const Json& n, absl::Time now) {
            return std::vector<Json>{
                JsonString(n, {"metadata", "name"}),
                NodeStatus(n),
                NodeRoles(n),
                Age(n, now),
                JsonString(n, {"status", "nodeInfo", "kubeletVersion"}),
                NodeAddress(n, "InternalIP"),
                NodeAddress(n, "ExternalIP"),
                Unknown(JsonString(n, {"status", "nodeInfo", "osImage"})),
                Unknown(JsonString(n, {"status", "nodeInfo", "kernelVersion"})),
                Unknown(JsonString(
                    n, {"status", "nodeInfo", "containerRuntimeVersion"})),
            };
          }};
}

std::string RestartsText(const Json& pod, absl::Time now) {
  int64_t restarts = 0;
  absl::Time last = absl::InfinitePast();
  for (const char* list : {"initContainerStatuses", "containerStatuses"}) {
    const Json& statuses = Path(pod, {"status", list});
    if (!statuses.is_array()) continue;
    for (const Json& s : statuses) {
      restarts += JsonInt(s, {"restartCount"});
      std::string fin =
          JsonString(s, {"lastState", "terminated", "finishedAt"});
      absl::Time t;
      std::string err;
      if (!fin.empty() && absl::ParseTime(absl::RFC3339_full, fin, &t, &err)) {
        last = std::max(last, t);
      }
    }
  }
  if (restarts > 0 && last != absl::InfinitePast()) {
    return absl::StrCat(restarts, " (", HumanDuration(now - last), " ago)");
  }
  return absl::StrCat(restarts);
}

std::string PodReady(const Json& pod) {
  int total = 0;
  const Json& containers = Path(pod, {"spec", "containers"});
  if (containers.is_array()) total = static_cast<int>(containers.size());
  int ready = 0;
  const Json& statuses = Path(pod, {"status", "containerStatuses"});
  if (statuses.is_array()) {
    for (const Json& s : statuses) {
      if (Path(s, {"ready"}) == Json(true) &&
          Path(s, {"state", "running"}).is_object()) {
        ++ready;
      }
    }
  }
  return absl::StrCat(ready, "/", total);
}

Printer PodPrinter() {
  return {{Col("Name", "string", 0, "name"), Col("Ready"), Col("Status"),
           Col("Restarts", "string"), Col("Age"), Col("IP", "string", 1),
           Col("Node", "string", 1), Col("Nominated Node", "string", 1),
           Col("Readiness Gates", "string", 1)},
          [](const Json& p, absl::Time now) {
            std::string ip;
            const Json& ips = Path(p, {"status", "podIPs"});
            if (ips.is_array() && !ips.empty()) ip = JsonString(ips[0], {"ip"});
            if (ip.empty()) ip = JsonString(p, {"status", "podIP"});
            return std::vector<Json>{
                JsonString(p, {"metadata", "name"}),
                PodReady(p),
                PodStatusText(p),
                RestartsText(p, now),
                Age(p, now),
                OrNone(ip),
                OrNone(JsonString(p, {"spec", "nodeName"})),
                OrNone(JsonString(p, {"status", "nominatedNodeName"})),
                "<none>"};
          }};
}

std::string ServiceExternalIp(const Json& svc, bool* clipped_ok) {
  (void)clipped_ok;
  std::string type = JsonString(svc, {"spec", "type"}, "ClusterIP");
  std::vector<std::string> external;
  const Json& eips = Path(svc, {"spec", "externalIPs"});
  if (type == "ExternalName") return JsonString(svc, {"spec", "externalName"});
  if (type == "LoadBalancer") {
    std::set<std::string> lb;
    const Json& ingress = Path(svc, {"status", "loadBalancer", "ingress"});
    if (ingress.is_array()) {
      for (const Json& i : ingress) {
        std::string v = JsonString(i, {"ip"});
        if (v.empty()) v = JsonString(i, {"hostname"});
        if (!v.empty()) lb.insert(v);
      }
    }
    external.assign(lb.begin(), lb.end());
    if (eips.is_array()) {
      for (const Json& e : eips) {
        if (e.is_string()) external.push_back(e.get<std::string>());
      }
    }
    return external.empty() ? "<pending>" : absl::StrJoin(external, ",");
  }
  if (eips.is_array()) {
    for (const Json& e : eips) {
      if (e.is_string()) external.push_back(e.get<std::string>());
    }
  }
  return external.empty() ? "<none>" : absl::StrJoin(external, ",");
}

Printer ServicePrinter() {
  return {{Col("Name", "string", 0, "name"), Col("Type"), Col("Cluster-IP"),
           Col("External-IP"), Col("Port(s)"), Col("Age"),
           Col("Selector", "string", 1)},
          [](const Json& s, absl::Time now) {
            std::vector<std::string> ports;
            const Json& ps = Path(s, {"spec", "ports"});
            if (ps.is_array()) {
              for (const Json& p : ps) {
                std::string proto = JsonString(p, {"protocol"}, "TCP");
                int64_t node_port = JsonInt(p, {"nodePort"});
                ports.push_back(
                    node_port > 0
                        ? absl::StrCat(JsonInt(p, {"port"}), ":", node_port,
                                       "/", proto)
                        : absl::StrCat(JsonInt(p, {"port"}), "/", proto));
              }
            }
            std::vector<std::string> selector;
            const Json& sel = Path(s, {"spec", "selector"});
            if (sel.is_object()) {
              for (const auto& [k, v] : sel.items()) {
                selector.push_back(absl::StrCat(
                    k, "=", v.is_string() ? v.get<std::string>() : v.dump()));
              }
            }
            std::string cluster_ip = JsonString(s, {"spec", "clusterIP"});
            const Json& ips = Path(s, {"spec", "clusterIPs"});
            if (ips.is_array() && !ips.empty() && ips[0].is_string()) {
              cluster_ip = ips[0].get<std::string>();
            }
            return std::vector<Json>{
                JsonString(s, {"metadata", "name"}),
                JsonString(s, {"spec", "type"}, "ClusterIP"),
                OrNone(cluster_ip),
                ServiceExternalIp(s, nullptr),
                ports.empty() ? "<none>" : absl::StrJoin(ports, ","),
                Age(s, now),
                selector.empty() ? "<none>" : absl::StrJoin(selector, ",")};
          }};
}

Printer StorageClassPrinter() {
  return {{Col("Name", "string", 0, "name"), Col("Provisioner"),
           Col("ReclaimPolicy"), Col("VolumeBindingMode"),
           Col("AllowVolumeExpansion", "boolean"), Col("Age")},
          [](const Json& s, absl::Time now) {
            std::string name = JsonString(s, {"metadata", "name"});
            const Json& ann = Path(s, {"metadata", "annotations"});
            for (const char* key :
                 {"storageclass.kubernetes.io/is-default-class",
                  "storageclass.beta.kubernetes.io/is-default-class"}) {
              if (ann.is_object() && ann.contains(key) &&
                  ann[key] == Json("true")) {
                absl::StrAppend(&name, " (default)");
                break;
              }
            }
            return std::vector<Json>{
                name,
                JsonString(s, {"provisioner"}),
                JsonString(s, {"reclaimPolicy"}, "Delete"),
                JsonString(s, {"volumeBindingMode"}, "Immediate"),
                Path(s, {"allowVolumeExpansion"}) == Json(true),
                Age(s, now)};
          }};
}

size_t Count(const Json& v) {
  return v.is_array() || v.is_object() ? v.size() : 0;
}

Printer CsiNodePrinter() {
  return {
      {Col("Name", "string", 0, "name"), Col("Drivers", "integer"), Col("Age")},
      [](const Json& n, absl::Time now) {
        return std::vector<Json>{JsonString(n, {"metadata", "name"}),
                                 Count(Path(n, {"spec", "drivers"})),
                                 Age(n, now)};
      }};
}

Printer SecretPrinter() {
  return {{Col("Name", "string", 0, "name"), Col("Type"),
           Col("Data", "integer"), Col("Age")},
          [](const Json& s, absl::Time now) {
            return std::vector<Json>{JsonString(s, {"metadata", "name"}),
                                     JsonString(s, {"type"}, "Opaque"),
                                     Count(Path(s, {"data"})), Age(s, now)};
          }};
}

Printer ConfigMapPrinter() {
  return {
      {Col("Name", "string", 0, "name"), Col("Data", "integer"), Col("Age")},
      [](const Json& s, absl::Time now) {
        return std::vector<Json>{
            JsonString(s, {"metadata", "name"}),
            Count(Path(s, {"data"})) + Count(Path(s, {"binaryData"})),
            Age(s, now)};
      }};
}

Printer NamespacePrinter() {
  return {{Col("Name", "string", 0, "name"), Col("Status"), Col("Age")},
          [](const Json& s, absl::Time now) {
            return std::vector<Json>{
                JsonString(s, {"metadata", "name"}),
                JsonString(s, {"status", "phase"}, "Active"), Age(s, now)};
          }};
}

Printer DeploymentPrinter() {
  return {
      {Col("Name", "string", 0, "name"), Col("Ready"),
       Col("Up-to-date", "integer"), Col("Available", "integer"), Col("Age")},
      [](const Json& d, absl::Time now) {
        int64_t replicas = Path(d, {"spec", "replicas"}).is_number()
                               ? JsonInt(d, {"spec", "replicas"})
                               : 1;
        return std::vector<Json>{
            JsonString(d, {"metadata", "name"}),
            absl::StrCat(JsonInt(d, {"status", "readyReplicas"}), "/",
                         replicas),
            JsonInt(d, {"status", "updatedReplicas"}),
            JsonInt(d, {"status", "availableReplicas"}), Age(d, now)};
      }};
}

Printer DaemonSetPrinter() {
  return {
      {Col("Name", "string", 0, "name"), Col("Desired", "integer"),
       Col("Current", "integer"), Col("Ready", "integer"),
       Col("Up-to-date", "integer"), Col("Available", "integer"),
       Col("Node Selector"), Col("Age")},
      [](const Json& d, absl::Time now) {
        std::vector<std::string> sel;
        const Json& ns = Path(d, {"spec", "template", "spec", "nodeSelector"});
        if (ns.is_object()) {
          for (const auto& [k, v] : ns.items()) {
            sel.push_back(absl::StrCat(
                k, "=", v.is_string() ? v.get<std::string>() : ""));
          }
        }
        return std::vector<Json>{
            JsonString(d, {"metadata", "name"}),
            JsonInt(d, {"status", "desiredNumberScheduled"}),
            JsonInt(d, {"status", "currentNumberScheduled"}),
            JsonInt(d, {"status", "numberReady"}),
            JsonInt(d, {"status", "updatedNumberScheduled"}),
            JsonInt(d, {"status", "numberAvailable"}),
            sel.empty() ? "<none>" : absl::StrJoin(sel, ","),
            Age(d, now)};
      }};
}

Printer CrdPrinter() {
  return {{Col("Name", "string", 0, "name"), Col("Created At", "date")},
          [](const Json& c, absl::Time) {
            return std::vector<Json>{
                JsonString(c, {"metadata", "name"}),
                JsonString(c, {"metadata", "creationTimestamp"})};
          }};
}

Printer DefaultPrinter() {
  return {{Col("Name", "string", 0, "name"), Col("Age")},
          [](const Json& o, absl::Time now) {
            return std::vector<Json>{JsonString(o, {"metadata", "name"}),
                                     Age(o, now)};
          }};
}

Printer CustomPrinter(const ResourceType& type) {
  Printer p;
  p.columns.push_back(Col("Name", "string", 0, "name"));
  for (const PrinterColumn& c : type.columns) {
    Json col = {{"name", c.name},
                {"type", c.type},
                {"format", c.format},
                {"description", c.description},
                {"priority", c.priority}};
    p.columns.push_back(col);
  }
  std::vector<PrinterColumn> columns = type.columns;
  p.cells = [columns](const Json& o, absl::Time now) {
    std::vector<Json> cells{JsonString(o, {"metadata", "name"})};
    for (const PrinterColumn& c : columns) {
      std::vector<Json> found = EvalJsonPath(o, c.json_path);
      if (found.empty() || found[0].is_null()) {
        cells.push_back(nullptr);
        continue;
      }
      const Json& v = found[0];
      if (c.type == "date") {
        absl::Time t;
        std::string err;
        if (v.is_string() && absl::ParseTime(absl::RFC3339_full,
                                             v.get<std::string>(), &t, &err)) {
          cells.push_back(HumanDuration(now - t));
        } else {
          cells.push_back("<invalid>");
        }
      } else if (c.type == "string") {
        cells.push_back(v.is_string() ? v.get<std::string>() : v.dump());
      } else {
        cells.push_back(v);
      }
    }
    return cells;
  };
  return p;
}

Printer PrinterFor(const ResourceType& type) {
  if (type.custom) return CustomPrinter(type);
  const std::string key = absl::StrCat(type.group, "/", type.plural);
  if (key == "/nodes") return NodePrinter();
  if (key == "/pods") return PodPrinter();
  if (key == "/services") return ServicePrinter();
  if (key == "/secrets") return SecretPrinter();
  if (key == "/configmaps") return ConfigMapPrinter();
  if (key == "/namespaces") return NamespacePrinter();
  if (key == "storage.k8s.io/storageclasses") return StorageClassPrinter();
  if (key == "storage.k8s.io/csinodes") return CsiNodePrinter();
  if (key == "apps/deployments") return DeploymentPrinter();
  if (key == "apps/daemonsets") return DaemonSetPrinter();
  if (key == "apiextensions.k8s.io/customresourcedefinitions") {
    return CrdPrinter();
  }
  return DefaultPrinter();
}

// --- JSONPath ---

void Walk(const Json& cur, absl::string_view path, std::vector<Json>& out) {
  if (path.empty()) {
    out.push_back(cur);
    return;
  }
  if (path[0] == '.') {
    path.remove_prefix(1);
    size_t end = path.find_first_of(".[");
    std::string key(path.substr(0, end));
    absl::string_view rest =
        end == absl::string_view::npos ? "" : path.substr(end);
    if (key.empty()) {
      Walk(cur, rest, out);
      return;
    }
    if (cur.is_object()) {
      auto it = cur.find(key);
      if (it != cur.end()) Walk(*it, rest, out);
    }
    return;
  }
  if (path[0] == '[') {
    size_t close = path.find(']');
    if (close == absl::string_view::npos) return;
    absl::string_view inner = path.substr(1, close - 1);
    absl::string_view rest = path.substr(close + 1);
    if (!cur.is_array()) return;
    if (inner == "*") {
      for (const Json& e : cur) Walk(e, rest, out);
      return;
    }
    if (absl::ConsumePrefix(&inner, "?(@.")) {
      // k=="v" or k=='v', then ")".
      absl::ConsumeSuffix(&inner, ")");
      size_t eq = inner.find("==");
      if (eq == absl::string_view::npos) return;
      std::string key(absl::StripAsciiWhitespace(inner.substr(0, eq)));
      absl::string_view value =
          absl::StripAsciiWhitespace(inner.substr(eq + 2));
      if (value.size() >= 2 && (value[0] == '"' || value[0] == '\'')) {
        value = value.substr(1, value.size() - 2);
      }
      for (const Json& e : cur) {
        if (e.is_object() && e.contains(key) && e[key].is_string() &&
            e[key].get<std::string>() == value) {
          Walk(e, rest, out);
        }
      }
      return;
    }
    int index = 0;
    if (absl::SimpleAtoi(inner, &index)) {
      if (index < 0) index += static_cast<int>(cur.size());
      if (index >= 0 && index < static_cast<int>(cur.size())) {
        Walk(cur[index], rest, out);
      }
    }
  }
}

}  // namespace

std::string HumanDuration(absl::Duration d) {
  int64_t seconds = absl::ToInt64Seconds(d);
  if (seconds < -1) return "<invalid>";
  if (seconds < 0) return "0s";
  if (seconds < 60 * 2) return absl::StrCat(seconds, "s");
  int64_t minutes = seconds / 60;
  if (minutes < 10) {
    int64_t s = seconds % 60;
    return s == 0 ? absl::StrCat(minutes, "m")
                  : absl::StrCat(minutes, "m", s, "s");
  }
  if (minutes < 60 * 3) return absl::StrCat(minutes, "m");
  int64_t hours = minutes / 60;
  if (hours < 8) {
    int64_t m = minutes % 60;
    return m == 0 ? absl::StrCat(hours, "h") : absl::StrCat(hours, "h", m, "m");
  }
  if (hours < 48) return absl::StrCat(hours, "h");
  if (hours < 24 * 8) {
    int64_t h = hours % 24;
    return h == 0 ? absl::StrCat(hours / 24, "d")
                  : absl::StrCat(hours / 24, "d", h, "h");
  }
  if (hours < 24 * 365 * 2) return absl::StrCat(hours / 24, "d");
  if (hours < 24 * 365 * 8) {
    int64_t dy = (hours / 24) % 365;
    return dy == 0 ? absl::StrCat(hours / 24 / 365, "y")
                   : absl::StrCat(hours / 24 / 365, "y", dy, "d");
  }
  return absl::StrCat(hours / 24 / 365, "y");
}

std::vector<Json> EvalJsonPath(const Json& object, absl::string_view path) {
  std::vector<Json> out;
  absl::string_view p = absl::StripAsciiWhitespace(path);
  absl::ConsumePrefix(&p, "{");
  absl::ConsumeSuffix(&p, "}");
  absl::ConsumePrefix(&p, "$");
  Walk(object, p, out);
  return out;
}

std::string PodStatusText(const Json& pod) {
  std::string reason = JsonString(pod, {"status", "reason"});
  if (reason.empty()) reason = JsonString(pod, {"status", "phase"}, "Pending");
  const Json& conds = Path(pod, {"status", "conditions"});
  bool initialized = false;
  bool ready_condition = false;
  if (conds.is_array()) {
    for (const Json& c : conds) {
      std::string type = JsonString(c, {"type"});
      if (type == "PodScheduled" &&
          JsonString(c, {"reason"}) == "SchedulingGated") {
        reason = "SchedulingGated";
      }
      if (type == "Initialized" && JsonString(c, {"status"}) == "True") {
        initialized = true;
      }
      if (type == "Ready" && JsonString(c, {"status"}) == "True") {
        ready_condition = true;
      }
    }
  }
  bool init_pending = false;
  const Json& inits = Path(pod, {"status", "initContainerStatuses"});
  if (inits.is_array()) {
    for (size_t i = 0; i < inits.size(); ++i) {
      const Json& s = inits[i];
      const Json& term = Path(s, {"state", "terminated"});
      if (term.is_object() && JsonInt(term, {"exitCode"}) == 0) continue;
      if (Path(s, {"started"}) == Json(true)) continue;
      init_pending = true;
      if (term.is_object()) {
        std::string r = JsonString(term, {"reason"});
        reason = r.empty() ? absl::StrCat("Init:ExitCode:",
                                          JsonInt(term, {"exitCode"}))
                           : absl::StrCat("Init:", r);
      } else {
        std::string w = JsonString(s, {"state", "waiting", "reason"});
        reason = !w.empty() && w != "PodInitializing"
                     ? absl::StrCat("Init:", w)
                     : absl::StrCat("Init:", i, "/", inits.size());
      }
      break;
    }
  }
  if (!init_pending || initialized) {
    bool has_running = false;
    const Json& statuses = Path(pod, {"status", "containerStatuses"});
    if (statuses.is_array()) {
      for (size_t i = statuses.size(); i-- > 0;) {
        const Json& s = statuses[i];
        std::string w = JsonString(s, {"state", "waiting", "reason"});
        const Json& term = Path(s, {"state", "terminated"});
        if (!w.empty()) {
          reason = w;
        } else if (term.is_object()) {
          std::string r = JsonString(term, {"reason"});
          if (!r.empty()) {
            reason = r;
          } else if (JsonInt(term, {"signal"}) != 0) {
            reason = absl::StrCat("Signal:", JsonInt(term, {"signal"}));
          } else {
            reason = absl::StrCat("ExitCode:", JsonInt(term, {"exitCode"}));
          }
        } else if (Path(s, {"state", "running"}).is_object() &&
                   Path(s, {"ready"}) == Json(true)) {
          has_running = true;
        }
      }
    }
    if (reason == "Completed" && has_running) {
      reason = ready_condition ? "Running" : "NotReady";
    }
  }
  if (Path(pod, {"metadata", "deletionTimestamp"}).is_string()) {
    std::string phase = JsonString(pod, {"status", "phase"});
    if (JsonString(pod, {"status", "reason"}) == "NodeLost") {
      reason = "Unknown";
    } else if (phase != "Succeeded" && phase != "Failed") {
      reason = "Terminating";
    }
  }
  return reason;
}

Json BuildTable(const ResourceType& type,
                const std::vector<const Json*>& objects, absl::Time now,
                const std::string& resource_version,
                const std::string& continue_token) {
  Printer printer = PrinterFor(type);
  Json rows = Json::array();
  for (const Json* o : objects) {
    Json meta = Json::object();
    const Json& m = Path(*o, {"metadata"});
    for (const char* key : {"name", "namespace", "uid", "resourceVersion",
                            "creationTimestamp", "labels", "annotations"}) {
      if (m.is_object() && m.contains(key)) meta[key] = m[key];
    }
    rows.push_back({{"cells", printer.cells(*o, now)},
                    {"object",
                     {{"kind", "PartialObjectMetadata"},
                      {"apiVersion", "meta.k8s.io/v1"},
                      {"metadata", meta}}}});
  }
  Json metadata = {{"resourceVersion", resource_version}};
  if (!continue_token.empty()) metadata["continue"] = continue_token;
  return {{"kind", "Table"},
          {"apiVersion", "meta.k8s.io/v1"},
          {"metadata", metadata},
          {"columnDefinitions", printer.columns},
          {"rows", rows}};
}

}  // namespace coldstart::lab
