#include "lab/world/world.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace coldstart::lab {
namespace {

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

}  // namespace

std::string Describe(const EventPayload& payload) {
  return std::visit(
      Overloaded{
          [](const VmCreated& e) {
            return absl::StrCat("VmCreated vmid=", e.vmid, " name=", e.name);
          },
          [](const VmStarted& e) {
            return absl::StrCat("VmStarted vmid=", e.vmid, " name=", e.name);
          },
          [](const VmStopped& e) {
            return absl::StrCat("VmStopped vmid=", e.vmid, " name=", e.name);
          },
          [](const VmDeleted& e) {
            return absl::StrCat("VmDeleted vmid=", e.vmid, " name=", e.name);
          },
          [](const NodeBooted& e) {
            return absl::StrCat("NodeBooted node=", e.node, " ip=", e.ip);
          },
          [](const ConfigApplied& e) {
            return absl::StrCat("ConfigApplied node=", e.node,
                                " control_plane=", e.control_plane);
          },
          [](const EtcdBootstrapped& e) {
            return absl::StrCat("EtcdBootstrapped node=", e.node);
          },
          [](const VipUp& e) {
            return absl::StrCat("VipUp address=", e.address);
          },
          [](const CniRolledOut&) { return std::string("CniRolledOut"); },
          [](const NodeReady& e) {
            return absl::StrCat("NodeReady node=", e.node);
          },
          [](const ClusterCasShared&) {
            return std::string("ClusterCasShared talos kubernetes etcd");
          },
      },
      payload);
}

World::World(std::function<absl::Time()> now) : now_(std::move(now)) {}

World::SubscriptionId World::AddSubscriber(
    std::function<bool(const EventPayload&)> wants,
    std::function<void(const Event&)> deliver) {
  absl::MutexLock lock(&mu_);
  SubscriptionId id = next_subscription_++;
  subscribers_.push_back({id, std::move(wants), std::move(deliver)});
  return id;
}

World::SubscriptionId World::SubscribeAll(
    std::function<void(const Event&)> fn) {
  return AddSubscriber([](const EventPayload&) { return true; }, std::move(fn));
}

void World::Unsubscribe(SubscriptionId id) {
  absl::MutexLock lock(&mu_);
  subscribers_.erase(
      std::remove_if(subscribers_.begin(), subscribers_.end(),
                     [id](const Subscriber& s) { return s.id == id; }),
      subscribers_.end());
}

uint64_t World::Publish(EventPayload payload) {
  uint64_t seq;
  {
    absl::MutexLock lock(&mu_);
    seq = next_seq_++;
    Event event{seq, now_(), std::move(payload)};
    Apply(event);
    history_.push_back(event);
    pending_.push_back(std::move(event));
    if (delivering_) return seq;
    delivering_ = true;
  }
  while (true) {
    Event next;
    {
      absl::MutexLock lock(&mu_);
      if (pending_.empty()) {
        delivering_ = false;
        break;
      }
      next = std::move(pending_.front());
      pending_.pop_front();
    }
    Deliver(next);
  }
  return seq;
}

void World::Deliver(const Event& event) {
  std::vector<SubscriptionId> ids;
  {
    absl::MutexLock lock(&mu_);
    for (const Subscriber& s : subscribers_) {
      if (s.wants(event.payload)) ids.push_back(s.id);
    }
  }
  for (SubscriptionId id : ids) {
    std::function<void(const Event&)> deliver;
    {
      absl::MutexLock lock(&mu_);
      auto it = std::find_if(subscribers_.begin(), subscribers_.end(),
                             [id](const Subscriber& s) { return s.id == id; });
      if (it == subscribers_.end()) continue;  // unsubscribed meanwhile
      deliver = it->deliver;
    }
    deliver(event);
  }
}

void World::Apply(const Event& event) {
  WorldState& s = state_;
  std::visit(
      Overloaded{
          [&](const VmCreated& e) {
            VmState& vm = s.vms[e.vmid];
            vm.vmid = e.vmid;
            vm.name = e.name;
          },
          [&](const VmStarted& e) {
            VmState& vm = s.vms[e.vmid];
            vm.vmid = e.vmid;
            vm.name = e.name;
            vm.running = true;
            vm.started_seq = event.seq;
          },
          [&](const VmStopped& e) {
            VmState& vm = s.vms[e.vmid];
            vm.running = false;
            vm.started_seq = 0;
            s.nodes[e.name].stage = NodeStage::kOff;
          },
          [&](const VmDeleted& e) {
            s.vms.erase(e.vmid);
            s.nodes.erase(e.name);
          },
          [&](const NodeBooted& e) {
            NodeState& node = s.nodes[e.node];
            node.stage = NodeStage::kMaintenance;
            node.ip = e.ip;
          },
          [&](const ConfigApplied& e) {
            NodeState& node = s.nodes[e.node];
            node.stage = NodeStage::kConfigured;
            node.control_plane = e.control_plane;
          },
          [&](const EtcdBootstrapped& e) { s.etcd_bootstrapped_on = e.node; },
          [&](const VipUp& e) {
            if (std::find(s.vips_up.begin(), s.vips_up.end(), e.address) ==
                s.vips_up.end()) {
              s.vips_up.push_back(e.address);
            }
          },
          [&](const CniRolledOut&) { s.cni_rolled_out = true; },
          [&](const NodeReady& e) {
            s.nodes[e.node].stage = NodeStage::kReady;
          },
          [&](const ClusterCasShared& e) { s.cas = e.cas; },
      },
      event.payload);
}

WorldState World::State() const {
  absl::MutexLock lock(&mu_);
  return state_;
}

std::vector<Event> World::History() const {
  absl::MutexLock lock(&mu_);
  return history_;
}

}  // namespace coldstart::lab
