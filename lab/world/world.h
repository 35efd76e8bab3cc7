// The lab's world model: the one event-driven state every simulator module
// shares (DESIGN.md "The lab"). Modules never call each other; they publish
// what happened in their part of the world and subscribe to what happens in
// the others' (VM started -> node boots; etcd bootstrapped -> VIP up; ...).
//
// Contract:
// - Every event gets a sequence number (1, 2, ...) and a time stamp when it is
//   published; the state (State()) and the history (History()) change in that
//   order, atomically with the publish.
// - Every subscriber sees every event it subscribed to exactly once, in
//   sequence order, and all subscribers of one event are called (in
//   subscription order) before any subscriber sees the next event.
// - An event published from inside a subscriber is queued and delivered after
//   the current event has reached all its subscribers. An event published
//   while another thread is delivering is queued and delivered by that
//   thread, so Publish never blocks on a subscriber of another thread.
// - Subscribers run on the publishing (or delivering) thread, without any
//   world lock held: they may call Publish, State, History, Subscribe.
// - Thread-safe.
#ifndef COLDSTART_LAB_WORLD_WORLD_H_
#define COLDSTART_LAB_WORLD_WORLD_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace coldstart::lab {

// --- Events. VM names are the Kubernetes node names (as in the spec). ---

struct VmCreated {
  int vmid = 0;
  std::string name;
};
struct VmStarted {
  int vmid = 0;
  std::string name;
};
struct VmStopped {
  int vmid = 0;
  std::string name;
};
struct VmDeleted {
  int vmid = 0;
  std::string name;
};
// The node's Talos answers in maintenance mode on `ip`.
struct NodeBooted {
  std::string node;
  std::string ip;
};
// A machine config was applied to the node; its API now uses the config's
// PKI.
struct ConfigApplied {
  std::string node;
  bool control_plane = false;
};
// etcd was bootstrapped on `node` and is healthy.
struct EtcdBootstrapped {
  std::string node;
};
// A virtual IP answers (the Kubernetes API VIP once etcd is up).
struct VipUp {
  std::string address;
};
// A CNI manifest was applied through the Kubernetes API.
struct CniRolledOut {};
struct NodeReady {
  std::string node;
};
// The cluster's certificate authorities, from the applied machine configs;
// shared so the Talos and Kubernetes modules serve and check the same PKI.
// PEM text. Lab-internal: Describe() never prints them.
struct ClusterCas {
  std::string talos_ca_cert_pem;
  std::string talos_ca_key_pem;
  std::string kubernetes_ca_cert_pem;
  std::string kubernetes_ca_key_pem;
  std::string etcd_ca_cert_pem;
  std::string etcd_ca_key_pem;
};
struct ClusterCasShared {
  ClusterCas cas;
};

using EventPayload =
    std::variant<VmCreated, VmStarted, VmStopped, VmDeleted, NodeBooted,
                 ConfigApplied, EtcdBootstrapped, VipUp, CniRolledOut,
                 NodeReady, ClusterCasShared>;

struct Event {
  uint64_t seq = 0;
  absl::Time time;
  EventPayload payload;
};

// One line naming the event and its subjects, e.g. "VmStarted vmid=1500
// name=ctrl-1". Never contains key material.
std::string Describe(const EventPayload& payload);

// --- State derived from the events. ---

enum class NodeStage { kOff, kMaintenance, kConfigured, kReady };

struct VmState {
  int vmid = 0;
  std::string name;
  bool running = false;
  // Sequence number of the VmStarted event of the current run (0: stopped).
  uint64_t started_seq = 0;
};

struct NodeState {
  NodeStage stage = NodeStage::kOff;
  std::string ip;
  bool control_plane = false;
};

struct WorldState {
  std::map<int, VmState> vms;              // by vmid
  std::map<std::string, NodeState> nodes;  // by node name
  std::optional<std::string> etcd_bootstrapped_on;
  std::vector<std::string> vips_up;
  bool cni_rolled_out = false;
  std::optional<ClusterCas> cas;
};

class World {
 public:
  using SubscriptionId = uint64_t;

  // `now` stamps events (normally Scheduler::Now, so a virtual clock gives
  // virtual times).
  explicit World(std::function<absl::Time()> now);
  World(const World&) = delete;
  World& operator=(const World&) = delete;

  // Calls `fn` for every later event of type E.
  template <typename E>
  SubscriptionId Subscribe(std::function<void(const E&)> fn) {
    return AddSubscriber(
        [](const EventPayload& p) { return std::holds_alternative<E>(p); },
        [fn = std::move(fn)](const Event& e) { fn(std::get<E>(e.payload)); });
  }
  // Calls `fn` for every later event.
  SubscriptionId SubscribeAll(std::function<void(const Event&)> fn);
  // No delivery starts to `id` after this returns (one already running on
  // another thread may finish).
  void Unsubscribe(SubscriptionId id);

  // Records the event and delivers it (see the contract above). Returns its
  // sequence number.
  uint64_t Publish(EventPayload payload);

  WorldState State() const;
  std::vector<Event> History() const;

 private:
  struct Subscriber {
    SubscriptionId id;
    std::function<bool(const EventPayload&)> wants;
    std::function<void(const Event&)> deliver;
  };

  SubscriptionId AddSubscriber(std::function<bool(const EventPayload&)> wants,
                               std::function<void(const Event&)> deliver);
  void Apply(const Event& event) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Deliver(const Event& event);

  const std::function<absl::Time()> now_;
  mutable absl::Mutex mu_;
  uint64_t next_seq_ ABSL_GUARDED_BY(mu_) = 1;
  SubscriptionId next_subscription_ ABSL_GUARDED_BY(mu_) = 1;
  std::vector<Subscriber> subscribers_ ABSL_GUARDED_BY(mu_);
  std::vector<Event> history_ ABSL_GUARDED_BY(mu_);
  WorldState state_ ABSL_GUARDED_BY(mu_);
  std::deque<Event> pending_ ABSL_GUARDED_BY(mu_);
  bool delivering_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace coldstart::lab

#endif  // COLDSTART_LAB_WORLD_WORLD_H_
