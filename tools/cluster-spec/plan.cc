#include "tools/cluster-spec/plan.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"

namespace coldstart {
namespace {

namespace v1 = ::coldstart::v1;

using Rows = std::vector<std::vector<std::string>>;

// The plan's tables; the first row of each names the columns.
struct PlanTables {
  std::string summary;
  Rows nodes;
  Rows vips;
  Rows endpoints;
};

std::string RoleName(v1::NodeRole role) {
  switch (role) {
    case v1::NODE_ROLE_CONTROL_PLANE:
      return "control-plane";
    case v1::NODE_ROLE_WORKER:
      return "worker";
    default:
      return "?";
  }
}

// Left-aligned columns separated by two spaces, no trailing blanks.
std::string Table(const Rows& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()));
    for (size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line.append(widths[i] - row[i].size() + 2, ' ');
    }
    line.erase(line.find_last_not_of(' ') + 1);
    absl::StrAppend(&out, line, "\n");
  }
  return out;
}

Rows EndpointRows(const v1::ClusterSpec& spec) {
  Rows endpoints = {{"ENDPOINT", "ADDRESS"}};
  endpoints.push_back({"proxmox", spec.proxmox().endpoint()});
  endpoints.push_back({"image factory", spec.image().factory_url()});
  if (spec.has_mesh()) {
    endpoints.push_back({"headscale", spec.mesh().headscale_url()});
  }
  if (spec.has_gitops()) {
    endpoints.push_back({"gitops", absl::StrCat(spec.gitops().repo_url(), " (",
                                                spec.gitops().branch(), ":",
                                                spec.gitops().path(), ")")});
  }
  if (spec.has_dns()) {
    const v1::DnsSpec& dns = spec.dns();
    endpoints.push_back({"cluster powerdns", dns.cluster_powerdns().api_url()});
    if (dns.has_vps()) {
      endpoints.push_back({"vps powerdns", dns.vps().powerdns().api_url()});
      if (dns.vps().has_sni_passthrough()) {
        endpoints.push_back(
            {"vps sni passthrough",
             absl::StrCat(dns.vps().sni_passthrough().listen(), " -> ",
                          dns.vps().sni_passthrough().target())});
      }
    }
    if (dns.has_route53()) {
      endpoints.push_back(
          {"route53", absl::StrCat(dns.route53().endpoint().empty()
                                       ? "https://route53.amazonaws.com"
                                       : dns.route53().endpoint(),
                                   " (", dns.route53().parent_zone(), ", ",
                                   dns.route53().hosted_zone_id(), ")")});
    }
    endpoints.push_back(
        {"dns zone", absl::StrCat(dns.zone(), " via ",
                                  absl::StrJoin(dns.nameservers(), ", "))});
  }
  return endpoints;
}

PlanTables MakePlanTables(const v1::Cluster& cluster) {
  PlanTables plan;
  const v1::ClusterSpec& spec = cluster.spec();
  const v1::NetworkPlan& network = spec.network();
  const uint32_t api_port = network.api_port() ? network.api_port() : 6443;
  plan.summary = absl::StrCat(
      "cluster ", spec.name(), ": Talos ", spec.versions().talos(),
      ", Kubernetes ", spec.versions().kubernetes(), ", Cilium ",
      spec.versions().cilium(), "\n", "network ", network.node_subnet(),
      " gateway ", network.gateway(), ", pods ", network.pod_cidr(),
      ", services ", network.service_cidr(), "\n");
  plan.nodes = {{"NAME", "ROLE", "VMID", "IP", "CPU", "MEMORY", "DISK",
                 "PVE NODE", "STORAGE"}};
  for (const v1::Node& node : spec.nodes()) {
    plan.nodes.push_back(
        {node.name(), RoleName(node.role()), absl::StrCat(node.vmid()),
         node.ip(), absl::StrCat(node.cores()),
         absl::StrCat(node.memory_mib(), " MiB"),
         absl::StrCat(node.disk_gib(), " GiB"), node.proxmox_node(),
         node.storage().empty() ? spec.proxmox().vm_storage()
                                : node.storage()});
  }
  plan.vips = {
      {"VIP", "ADDRESS", "USE"},
      {"api", absl::StrCat(network.api_vip(), ":", api_port),
       absl::StrCat("Kubernetes API (bootstrap via ",
                    network.bootstrap_endpoint(), ":", api_port, ")")},
      {"ingress", network.ingress_vip(), "ingress-nginx"},
      {"dns", network.dns_vip(), "cluster PowerDNS"},
  };
  plan.endpoints = EndpointRows(spec);
  return plan;
}

// Each row after the first as an object keyed by the column names.
nlohmann::json RowsJson(const Rows& rows) {
  nlohmann::json out = nlohmann::json::array();
  for (size_t r = 1; r < rows.size(); ++r) {
    nlohmann::json row = nlohmann::json::object();
    for (size_t c = 0; c < rows[r].size() && c < rows[0].size(); ++c) {
      row[absl::StrReplaceAll(absl::AsciiStrToLower(rows[0][c]),
                              {{" ", "_"}})] = rows[r][c];
    }
    out.push_back(std::move(row));
  }
  return out;
}

}  // namespace

std::string RenderPlan(const v1::Cluster& cluster) {
  const PlanTables plan = MakePlanTables(cluster);
  return absl::StrCat(plan.summary, "\n", Table(plan.nodes), "\n",
                      Table(plan.vips), "\n", Table(plan.endpoints));
}

std::string RenderPlanJson(const v1::Cluster& cluster) {
  const PlanTables plan = MakePlanTables(cluster);
  nlohmann::json out;
  out["summary"] = absl::StrSplit(plan.summary, '\n', absl::SkipEmpty());
  out["nodes"] = RowsJson(plan.nodes);
  out["vips"] = RowsJson(plan.vips);
  out["endpoints"] = RowsJson(plan.endpoints);
  // Invalid UTF-8 (possible in bytes-like user text) is replaced, not thrown.
  return out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) +
         "\n";
}

}  // namespace coldstart
