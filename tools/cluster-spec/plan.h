// cluster-spec plan: a readable table (or JSON) of a valid spec: nodes,
// VMIDs, IPs, roles, VIPs, endpoints.
#ifndef COLDSTART_TOOLS_CLUSTER_SPEC_PLAN_H_
#define COLDSTART_TOOLS_CLUSTER_SPEC_PLAN_H_

#include <string>

#include "proto/coldstart/v1/cluster.pb.h"

namespace coldstart {

// The plan as text: two summary lines, then the nodes, VIPs and endpoints
// as tables.
std::string RenderPlan(const coldstart::v1::Cluster& cluster);

// The same plan as a JSON object (ending in a newline):
//   {"summary": [LINE, LINE], "nodes": [{"name": …, "role": …, "vmid": …,
//    "ip": …, "cpu": …, "memory": …, "disk": …, "pve_node": …,
//    "storage": …}], "vips": [{"vip", "address", "use"}],
//    "endpoints": [{"endpoint", "address"}]}
// Each table row is an object keyed by its column name (lower case, "_" for
// spaces), with the values the text table shows.
std::string RenderPlanJson(const coldstart::v1::Cluster& cluster);

}  // namespace coldstart

#endif  // COLDSTART_TOOLS_CLUSTER_SPEC_PLAN_H_
