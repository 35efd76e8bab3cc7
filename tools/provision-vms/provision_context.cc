#include "tools/provision-vms/provision_context.h"

#include <algorithm>
#include <atomic>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "lib/base/status_macros.h"
#include "lib/base/time_format.h"

namespace coldstart {
namespace {

// A missing CA file or a malformed pin is bad input (exit 2).
absl::StatusOr<std::unique_ptr<CurlHttpClient>> HttpClientOrBadInput(
    CurlHttpClientOptions options, absl::string_view field) {
  absl::StatusOr<std::unique_ptr<CurlHttpClient>> client =
      CurlHttpClient::Create(std::move(options));
  if (client.ok()) return client;
  return absl::InvalidArgumentError(
      absl::StrCat(field, ": ", client.status().message()));
}

}  // namespace

absl::StatusOr<std::unique_ptr<ProvisionContext>> ProvisionContext::Create(
    ToolRun& run, const ProvisionOptions& options) {
  std::unique_ptr<ProvisionContext> context(new ProvisionContext(run, options));
  const v1::ClusterSpec& spec = run.spec();
  CurlHttpClientOptions pve;
  pve.trust.ca_file = spec.proxmox().ca_file();
  pve.trust.certificate_sha256 = spec.proxmox().cert_sha256();
  pve.timeout = absl::Seconds(30);
  ASSIGN_OR_RETURN(context->pve_http_,
                   HttpClientOrBadInput(pve, "spec.proxmox"));
  CurlHttpClientOptions factory;
  factory.trust.ca_file = spec.image().ca_file();
  ASSIGN_OR_RETURN(context->factory_http_,
                   HttpClientOrBadInput(factory, "spec.image"));
  return context;
}

PveClient ProvisionContext::Client(Secret credential, int call_attempts) {
  PveWaits waits;
  waits.call_deadline = options_.retry_deadline;
  waits.call_attempts = call_attempts;
  waits.poll_for = [this](absl::string_view what, absl::Duration timeout) {
    return run_.PollFor(what, timeout);
  };
  return PveClient(*pve_http_, spec().proxmox().endpoint(),
                   std::move(credential), std::move(waits));
}

PollOptions ProvisionContext::PollFor(absl::string_view what,
                                      absl::Duration timeout) {
  return run_.PollFor(what, timeout);
}

google::protobuf::Timestamp ProvisionContext::Now() {
  return ToTimestamp(run_.clock().Now());
}

KeystoreAttributes ProvisionContext::Item(absl::string_view key) const {
  return ClusterSecretAttributes(spec().name(), key);
}

absl::Status ProvisionContext::ForEachParallel(
    size_t n, const std::function<absl::Status(size_t)>& fn) {
  std::atomic<size_t> next{0};
  std::vector<absl::Status> errors(n);
  int workers =
      std::max(1, std::min<int>(options_.parallelism, static_cast<int>(n)));
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back([&] {
      for (size_t i = next++; i < n; i = next++) errors[i] = fn(i);
    });
  }
  for (auto& t : threads) t.join();
  std::vector<std::string> messages;
  absl::StatusCode code = absl::StatusCode::kOk;
  for (const auto& e : errors) {
    if (e.ok()) continue;
    if (code == absl::StatusCode::kOk) code = e.code();
    messages.push_back(std::string(e.message()));
  }
  if (messages.empty()) return absl::OkStatus();
  return absl::Status(code, absl::StrJoin(messages, "\n"));
}

}  // namespace coldstart
