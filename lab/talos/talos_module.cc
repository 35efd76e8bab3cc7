// TalosModule: the lab module around TalosSimulator (talos_simulator.h):
// spec nodes, the shared port, and the talos.boot* options.
#include "lab/talos/talos_module.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "lab/talos/talos_simulator.h"

namespace coldstart::lab {

namespace {

// A port that is free on `ip` right now.
absl::StatusOr<int> FreePort(const std::string& ip) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  inet_pton(AF_INET, ip.c_str(), &addr.sin_addr);
  socklen_t len = sizeof(addr);
  if (fd < 0 ||
      bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (fd >= 0) close(fd);
    return absl::UnavailableError("talos: no free port");
  }
  close(fd);
  return ntohs(addr.sin_port);
}

// talos.boot_when_exists: boots `nodes` once `path` exists (checked every
// 20 ms on the lab's scheduler) unless the simulator has stopped.
void BootWhenExists(std::weak_ptr<TalosSimulator> weak, ModuleContext* context,
                    std::string path,
                    std::vector<std::pair<std::string, std::string>> nodes) {
  std::shared_ptr<TalosSimulator> self = weak.lock();
  if (self == nullptr || self->stopped()) return;
  if (access(path.c_str(), F_OK) == 0) {
    if (context->log) {
      context->log(absl::StrCat("talos: ", path, " exists; booting ",
                                nodes.size(), " nodes"));
    }
    for (const auto& [name, ip] : nodes) {
      context->world->Publish(NodeBooted{name, ip});
    }
    return;
  }
  context->scheduler->ScheduleAfter(
      absl::Milliseconds(20),
      [weak, context, path = std::move(path), nodes = std::move(nodes)] {
        BootWhenExists(weak, context, path, nodes);
      });
}

}  // namespace

TalosModule::TalosModule() = default;
TalosModule::~TalosModule() { Stop(); }

absl::Status TalosModule::Start(ModuleContext& context) {
  const auto& spec = context.spec->spec();
  std::vector<TalosSimulator::NodeSpec> nodes;
  for (const auto& node : spec.nodes()) {
    nodes.push_back({node.name(), node.ip(),
                     node.role() == coldstart::v1::NODE_ROLE_CONTROL_PLANE});
  }
  int port = spec.talos().api_port() == 0
                 ? 50000
                 : static_cast<int>(spec.talos().api_port());
  if (context.any_port && !nodes.empty()) {
    // One free port for every node address (so a spec can name it once).
    absl::StatusOr<int> free = FreePort(nodes.front().ip);
    if (!free.ok()) return free.status();
    port = *free;
  }
  simulator_ = std::make_shared<TalosSimulator>(context, std::move(nodes), port,
                                                spec.network().api_vip());
  simulator_->Subscribe();
  auto option = [&](const char* key) {
    auto it = context.options.find(key);
    return it == context.options.end() ? std::string() : it->second;
  };
  const std::string boot = option("boot");
  if (!boot.empty() && boot != "all") {
    return absl::InvalidArgumentError("talos.boot: want all");
  }
  const std::string skip = option("boot_skip");
  const std::string when = option("boot_when_exists");
  if (boot.empty() && (!skip.empty() || !when.empty())) {
    return absl::InvalidArgumentError(
        "talos.boot_skip and talos.boot_when_exists need talos.boot=all");
  }
  std::vector<std::pair<std::string, std::string>> booting;
  if (boot == "all") {
    for (const auto& node : spec.nodes()) {
      if (node.name() != skip) booting.push_back({node.name(), node.ip()});
    }
  }
  if (!when.empty()) {
    BootWhenExists(simulator_, &context, when, std::move(booting));
  } else {
    for (const auto& [name, ip] : booting) {
      context.world->Publish(NodeBooted{name, ip});
    }
  }
  return absl::OkStatus();
}

std::map<std::string, std::string> TalosModule::Listeners() const {
  return simulator_ ? simulator_->Listeners()
                    : std::map<std::string, std::string>();
}

void TalosModule::Stop() {
  if (simulator_) simulator_->Stop();
}

int TalosModule::BootstrapCount() const {
  return simulator_ ? simulator_->bootstrap_count() : 0;
}

}  // namespace coldstart::lab
