#include "lab/faults/fault_injector.h"

#include <fstream>
#include <set>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "lib/base/status_macros.h"
#include "lib/cli/textproto.h"
#include "re2/re2.h"

namespace coldstart::lab {
namespace {

absl::Status RuleError(const FaultRule& rule, absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("fault rule \"", rule.name(), "\": ", what));
}

bool Fires(const FaultRule& rule, uint64_t call, std::mt19937_64& random) {
  switch (rule.trigger_case()) {
    case FaultRule::kNthCall:
      return call == rule.nth_call();
    case FaultRule::kFirstCalls:
      return call <= rule.first_calls();
    case FaultRule::kProbability: {
      // Draw on every watched call, so firings depend only on the seed and
      // the call order.
      double draw = std::uniform_real_distribution<double>(0, 1)(random);
      return draw < rule.probability().p();
    }
    case FaultRule::TRIGGER_NOT_SET:
      return true;
  }
  return false;
}

}  // namespace

absl::StatusOr<FaultFile> ParseFaultFile(absl::string_view text,
                                         absl::string_view filename) {
  FaultFile file;
  RETURN_IF_ERROR(ParseTextProto(text, filename, &file));
  return file;
}

absl::StatusOr<FaultFile> ReadFaultFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("fault file ", path, ": cannot be read"));
  }
  std::stringstream text;
  text << in.rdbuf();
  return ParseFaultFile(text.str(), path);
}

std::string ProxmoxLockTimeoutText(int vmid) {
  return absl::StrCat("can't lock file '/var/lock/qemu-server/lock-", vmid,
                      ".conf' - got timeout");
}

std::string GlobToRegex(absl::string_view glob) {
  std::string out;
  for (size_t i = 0; i < glob.size(); ++i) {
    char c = glob[i];
    if (c == '*') {
      if (i + 1 < glob.size() && glob[i + 1] == '*') {
        out += ".*";
        ++i;
      } else {
        out += "[^/]*";
      }
    } else if (c == '?') {
      out += "[^/]";
    } else {
      out += RE2::QuoteMeta(re2::StringPiece(&glob[i], 1));
    }
  }
  return out;
}

std::string KindName(const FaultRule& rule) {
  switch (rule.kind_case()) {
    case FaultRule::kHttpStatus:
      return "http_status";
    case FaultRule::kDelay:
      return "delay";
    case FaultRule::kConnectionReset:
      return "connection_reset";
    case FaultRule::kProxmoxLockTimeout:
      return "proxmox_lock_timeout";
    case FaultRule::kTaskError:
      return "task_error";
    case FaultRule::kGrpcStatus:
      return "grpc_status";
    case FaultRule::kDropReply:
      return "drop_reply";
    case FaultRule::KIND_NOT_SET:
      break;
  }
  return "none";
}

std::string FaultDecision::TaskErrorText(int vmid) const {
  if (!rule) return "";
  if (rule->has_task_error()) return rule->task_error().message();
  if (rule->has_proxmox_lock_timeout() &&
      rule->proxmox_lock_timeout().shape() == ProxmoxLockTimeout::SHAPE_TASK) {
    int id = rule->proxmox_lock_timeout().vmid() != 0
                 ? static_cast<int>(rule->proxmox_lock_timeout().vmid())
                 : vmid;
    return ProxmoxLockTimeoutText(id);
  }
  return "";
}

std::string Describe(const FaultFiring& f) {
  return absl::StrCat("fault \"", f.rule, "\" (", f.kind, ") fired on call ",
                      f.call, ": ", f.module, ":", f.method, " ", f.path);
}

absl::StatusOr<std::unique_ptr<FaultInjector>> FaultInjector::Create(
    const FaultFile& file) {
  std::unique_ptr<FaultInjector> injector(new FaultInjector());
  std::set<std::string> names;
  std::vector<CompiledRule> rules;
  for (const FaultRule& rule : file.rules()) {
    if (rule.name().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "fault rule #", rules.size() + 1, " has no name (required)"));
    }
    if (!names.insert(rule.name()).second) {
      return RuleError(rule, "name used twice");
    }
    if (rule.endpoint().empty() == rule.endpoint_regex().empty()) {
      return RuleError(rule, "set exactly one of endpoint, endpoint_regex");
    }
    std::string pattern = rule.endpoint().empty()
                              ? rule.endpoint_regex()
                              : GlobToRegex(rule.endpoint());
    auto re = std::make_unique<RE2>(pattern, RE2::Quiet);
    if (!re->ok()) {
      return RuleError(rule, absl::StrCat("bad endpoint_regex: ", re->error()));
    }
    if (rule.has_probability() &&
        !(rule.probability().p() >= 0 && rule.probability().p() <= 1)) {
      return RuleError(rule, "probability.p must be in [0, 1]");
    }
    if (rule.trigger_case() == FaultRule::kNthCall && rule.nth_call() == 0) {
      return RuleError(rule, "nth_call counts from 1");
    }
    if (rule.kind_case() == FaultRule::KIND_NOT_SET) {
      return RuleError(rule, "no kind (http_status, delay, ...)");
    }
    CompiledRule compiled;
    compiled.rule = rule;
    compiled.pattern = std::move(re);
    compiled.random.seed(rule.probability().seed());
    rules.push_back(std::move(compiled));
  }
  absl::MutexLock lock(&injector->mu_);
  injector->rules_ = std::move(rules);
  return injector;
}

FaultDecision FaultInjector::Decide(absl::string_view module,
                                    absl::string_view method,
                                    absl::string_view path) {
  std::string endpoint = absl::StrCat(module, ":", method, " ", path);
  FaultDecision decision;
  std::optional<FaultFiring> firing;
  {
    absl::MutexLock lock(&mu_);
    for (CompiledRule& r : rules_) {
      if (!RE2::FullMatch(endpoint, *r.pattern)) continue;
      uint64_t call = ++r.calls;
      bool fires = Fires(r.rule, call, r.random);
      if (fires && !decision.fired()) {
        decision.rule = r.rule;
        decision.call = call;
        firing = FaultFiring{r.rule.name(),
                             std::string(module),
                             std::string(method),
                             std::string(path),
                             call,
                             KindName(r.rule),
                             absl::Now()};
        firings_.push_back(*firing);
      }
    }
  }
  if (firing && on_fire_) on_fire_(*firing);
  return decision;
}

std::vector<FaultFiring> FaultInjector::Firings() const {
  absl::MutexLock lock(&mu_);
  return firings_;
}

int FaultInjector::FiredCount(absl::string_view rule) const {
  absl::MutexLock lock(&mu_);
  int n = 0;
  for (const FaultFiring& f : firings_) {
    if (f.rule == rule) ++n;
  }
  return n;
}

}  // namespace coldstart::lab
