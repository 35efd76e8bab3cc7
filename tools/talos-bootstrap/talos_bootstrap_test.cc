// talos-bootstrap's contract in-process (RealMain with a ToolIo), without the
// lab: bad input refused before any network traffic and without a lock file,
// dry-run reachability (Headscale must answer; the nodes and the VIP are
// pending), dry-run output rules, and where the Headscale API key and the
// keystore come from. Headscale is a loopback fake; nothing listens on the
// nodes' Talos port or the VIP's API port.
#include "tools/talos-bootstrap/talos_bootstrap.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/environment.h"
#include "lib/cli/cli.h"
#include "lib/cli/cluster_textproto.h"
#include "lib/cli/tool_run.h"
#include "lib/secrets/keystore.h"
#include "lib/testing/fake_clock.h"
#include "lib/testing/files.h"
#include "lib/testing/http_testing.h"
#include "tools/talos-bootstrap/event_records.h"

namespace coldstart {
namespace {

using ::coldstart::testing::EventRecord;
using ::coldstart::testing::FindEventRecord;
using ::coldstart::testing::MakeTempDir;
using ::coldstart::testing::ReadEventRecords;
using ::coldstart::testing::ReadTestFile;
using ::coldstart::testing::RunfilePath;
using ::coldstart::testing::WriteTestFile;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr char kApiKey[] = "hs-api-key-from-env";
constexpr char kStoredApiKey[] = "hs-api-key-from-keystore";

bool Exists(const std::string& path) {
  struct stat info;
  return stat(path.c_str(), &info) == 0;
}

// Headscale's user list, for the bearer tokens it accepts; records the
// tokens it was shown.
class FakeHeadscale {
 public:
  explicit FakeHeadscale(std::vector<std::string> accepted_keys)
      : accepted_(std::move(accepted_keys)) {
    auto server = LoopbackHttpServer::Start(
        [this](const LoopbackRequest& request) { return Handle(request); });
    EXPECT_TRUE(server.ok()) << server.status();
    if (server.ok()) server_ = *std::move(server);
  }
  std::string Url() const { return server_->Url(""); }
  int requests() const { return server_->requests(); }
  std::vector<std::string> tokens() {
    absl::MutexLock lock(&mu_);
    return tokens_;
  }

 private:
  LoopbackResponse Handle(const LoopbackRequest& request) {
    std::string token;
    for (const auto& [name, value] : request.headers) {
      if (name == "Authorization") token = value.substr(value.find(' ') + 1);
    }
    {
      absl::MutexLock lock(&mu_);
      tokens_.push_back(token);
    }
    for (const std::string& key : accepted_) {
      if (token == key && request.method == "GET" &&
          request.path == "/api/v1/user") {
        return {200, {{"Content-Type", "application/json"}}, "{\"users\":[]}"};
      }
    }
    return {401, {}, "Unauthorized"};
  }

  std::vector<std::string> accepted_;
  std::unique_ptr<LoopbackHttpServer> server_;
  absl::Mutex mu_;
  std::vector<std::string> tokens_;
};

// A TCP listener on `ip` that never accepts: whether anything connected.
class SilentListener {
 public:
  explicit SilentListener(const char* ip) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    inet_pton(AF_INET, ip, &addr.sin_addr);
    socklen_t len = sizeof(addr);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(listen(fd_, 16), 0);
    EXPECT_EQ(getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    port_ = ntohs(addr.sin_port);
  }
  ~SilentListener() { close(fd_); }
  int port() const { return port_; }
  bool connected() {
    const int client = accept(fd_, nullptr, nullptr);
    if (client >= 0) close(client);
    return client >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
  }

 private:
  int fd_ = -1;
  int port_ = 0;
};

class TalosBootstrapTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("talos_bootstrap");
    state_ = dir_ + "/state.txtpb";
    keystore_ = "file:" + dir_ + "/keystore";
    auto parsed = ParseClusterText(
        ReadTestFile(RunfilePath("testdata/lab.txtpb")), "lab.txtpb");
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    cluster_ = parsed->cluster;
    v1::ClusterSpec& spec = *cluster_.mutable_spec();
    spec.mutable_mesh()->set_headscale_url(headscale_.Url());
    spec.mutable_mesh()->clear_ca_file();
    // Nothing listens there: the nodes and the VIP are not up yet.
    spec.mutable_talos()->set_api_port(UnusedLoopbackPort());
    spec.mutable_network()->set_api_port(UnusedLoopbackPort());
    spec.mutable_talos()->set_kubeconfig_path(dir_ + "/kubeconfig");
    spec.mutable_talos()->set_talosconfig_path(dir_ + "/talosconfig");
    spec.mutable_talos()->set_cilium_manifest(
        RunfilePath("tools/talos-bootstrap/testdata/cilium-1.16.5.yaml"));
    WriteState();
    environment_ = {{"COLDSTART_KEYSTORE", keystore_},
                    {"HEADSCALE_API_KEY", kApiKey}};
  }

  void WriteState() {
    state_text_ = ClusterToText(cluster_);
    WriteTestFile(state_, state_text_);
  }

  absl::Status Run(TalosBootstrapOptions options) {
    io_.clock = &clock_;
    io_.environment = FixedEnvironment(environment_);
    return RealMain(options, io_);
  }
  // Stores kStoredApiKey as the cluster's Headscale API key in `keystore`.
  void StoreApiKey(const std::string& keystore) {
    auto opened = OpenKeystore(keystore);
    ASSERT_TRUE(opened.ok()) << opened.status();
    ASSERT_TRUE((*opened)
                    ->Store(ClusterSecretAttributes("test-cluster",
                                                    "headscale-api-key"),
                            "key", Secret::FromView(kStoredApiKey))
                    .ok());
  }
  absl::Status DryRunWithState() {
    TalosBootstrapOptions options;
    options.common.state = state_;
    options.common.dry_run = true;
    return Run(options);
  }

  FakeHeadscale headscale_{{kApiKey, kStoredApiKey}};
  std::string dir_, state_, state_text_, keystore_;
  v1::Cluster cluster_;
  std::map<std::string, std::string> environment_;
  std::ostringstream out_, err_;
  FakeClock clock_;
  ToolIo io_{out_, err_};
};

TEST_F(TalosBootstrapTest, DirectoryAsInOrStateIsBadInputAndLeavesNoLock) {
  const std::string directory = MakeTempDir("a-directory");
  TalosBootstrapOptions in;
  in.common.in = directory;
  EXPECT_EQ(Run(in).code(), absl::StatusCode::kInvalidArgument);
  TalosBootstrapOptions state;
  state.common.state = directory;
  const absl::Status status = Run(state);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("is a directory"));
  EXPECT_FALSE(Exists(directory + ".lock"));
  EXPECT_EQ(headscale_.requests(), 0);
}

TEST_F(TalosBootstrapTest, InvalidSpecIsRefusedBeforeAnyNetworkTraffic) {
  SilentListener talos("127.0.1.1");
  cluster_.mutable_spec()->mutable_talos()->set_api_port(talos.port());
  // Two nodes on one address.
  cluster_.mutable_spec()->mutable_nodes(1)->set_ip("127.0.1.1");
  WriteState();
  TalosBootstrapOptions options;
  options.common.state = state_;
  const absl::Status status = Run(options);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ExitCodeForStatus(status), 2);
  EXPECT_THAT(status.message(), HasSubstr(state_ + ":"));
  EXPECT_THAT(status.message(), HasSubstr("127.0.1.1"));
  EXPECT_EQ(headscale_.requests(), 0);
  EXPECT_FALSE(talos.connected());
  EXPECT_FALSE(Exists(state_ + ".lock"));
  EXPECT_EQ(ReadTestFile(state_), state_text_);
  EXPECT_FALSE(Exists(dir_ + "/keystore"));
}

TEST_F(TalosBootstrapTest, NonPositiveTimeoutIsAUsageError) {
  TalosBootstrapOptions options;
  options.common.state = state_;
  options.timeout = absl::ZeroDuration();
  const absl::Status status = Run(options);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("--timeout"));
  EXPECT_EQ(headscale_.requests(), 0);
}

TEST_F(TalosBootstrapTest, DryRunFailsWhenHeadscaleCannotBeReached) {
  const std::string url =
      absl::StrCat("http://127.0.0.1:", UnusedLoopbackPort());
  cluster_.mutable_spec()->mutable_mesh()->set_headscale_url(url);
  WriteState();
  const absl::Status status = DryRunWithState();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_EQ(ExitCodeForStatus(status), 1);
  EXPECT_THAT(status.message(), HasSubstr("Headscale at " + url));
  EXPECT_EQ(ReadTestFile(state_), state_text_);
}

TEST_F(TalosBootstrapTest, DryRunRejectedHeadscaleKeyIsAnErrorNotPending) {
  environment_["HEADSCALE_API_KEY"] = "wrong-key";
  const absl::Status status = DryRunWithState();
  EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied) << status;
  EXPECT_THAT(status.message(), HasSubstr("401"));
  EXPECT_THAT(status.message(), Not(HasSubstr("wrong-key")));
}

TEST_F(TalosBootstrapTest, DryRunNodesAndVipNotUpYetArePendingPlanLines) {
  const absl::Status status = DryRunWithState();
  ASSERT_TRUE(status.ok()) << status << "\n" << err_.str();
  const v1::ClusterSpec& spec = cluster_.spec();
  for (const v1::Node& node : spec.nodes()) {
    EXPECT_THAT(err_.str(),
                HasSubstr(absl::StrCat("plan: pending: the Talos API of ",
                                       node.name(), " at ", node.ip(), ":",
                                       spec.talos().api_port())));
  }
  EXPECT_THAT(err_.str(),
              HasSubstr(absl::StrCat(
                  "plan: pending: the Kubernetes API (VIP) at https://",
                  spec.network().api_vip(), ":", spec.network().api_port())));
  EXPECT_THAT(err_.str(),
              HasSubstr("plan: Headscale at " + headscale_.Url() + " answers"));
  EXPECT_THAT(err_.str(), HasSubstr("plan: pending: kubeconfig " + dir_ +
                                    "/kubeconfig (written after the "
                                    "bootstrap)"));
  EXPECT_THAT(err_.str(), HasSubstr("etcd bootstrap on ctrl-1: pending"));
  EXPECT_THAT(err_.str(), HasSubstr("objects): pending"));
  EXPECT_THAT(err_.str(), HasSubstr("secrets bundle: would be generated"));
}

TEST_F(TalosBootstrapTest, DryRunWithStateLeavesItByteIdenticalAndNoStdout) {
  ASSERT_TRUE(DryRunWithState().ok()) << err_.str();
  EXPECT_EQ(ReadTestFile(state_), state_text_);
  EXPECT_THAT(out_.str(), IsEmpty());
  EXPECT_FALSE(Exists(state_ + ".lock.tmp"));
  EXPECT_FALSE(Exists(dir_ + "/kubeconfig"));
  // Nothing stored: the bundle would be generated by a real run.
  auto keystore = OpenKeystore(keystore_);
  ASSERT_TRUE(keystore.ok()) << keystore.status();
  EXPECT_TRUE(absl::IsNotFound(
      (*keystore)
          ->Lookup(ClusterSecretAttributes("test-cluster", "talos-secrets"))
          .status()));
}

TEST_F(TalosBootstrapTest, DryRunWithoutStateEchoesTheInputUnchanged) {
  TalosBootstrapOptions options;
  options.common.in = state_;
  options.common.dry_run = true;
  ASSERT_TRUE(Run(options).ok()) << err_.str();
  EXPECT_EQ(out_.str(), state_text_);
}

TEST_F(TalosBootstrapTest, DryRunRecordsItsStepsInTheEventsFile) {
  TalosBootstrapOptions options;
  options.common.in = state_;
  options.common.dry_run = true;
  options.common.events = dir_ + "/events.jsonl";
  ASSERT_TRUE(Run(options).ok()) << err_.str();
  const std::vector<EventRecord> events =
      ReadEventRecords(dir_ + "/events.jsonl");
  for (const char* step : {"talos-bootstrap", "secrets", "mesh keys"}) {
    const int start = FindEventRecord(events, step, "", "start");
    const int end = FindEventRecord(events, step, "", "end");
    ASSERT_GE(start, 0) << step;
    ASSERT_GT(end, start) << step;
    EXPECT_EQ(events[end].outcome, "ok") << step;
  }
}

TEST_F(TalosBootstrapTest, HeadscaleKeyFromTheEnvironmentFirstThenKeystore) {
  ASSERT_TRUE(DryRunWithState().ok()) << err_.str();
  EXPECT_THAT(headscale_.tokens(), ::testing::Each(kApiKey));
  EXPECT_THAT(err_.str(),
              HasSubstr("using the Headscale API key from environment "
                        "variable HEADSCALE_API_KEY"));
  EXPECT_THAT(err_.str(), Not(HasSubstr(kApiKey)));

  // Without the variable: the keystore item the spec names.
  ASSERT_NO_FATAL_FAILURE(StoreApiKey(keystore_));
  environment_.erase("HEADSCALE_API_KEY");
  const size_t before = headscale_.tokens().size();
  ASSERT_TRUE(DryRunWithState().ok()) << err_.str();
  const std::vector<std::string> tokens = headscale_.tokens();
  ASSERT_GT(tokens.size(), before);
  EXPECT_EQ(tokens.back(), kStoredApiKey);
}

TEST_F(TalosBootstrapTest, EmptyKeystoreVariableFallsBackToTheSpecKeystore) {
  const std::string spec_keystore = "file:" + dir_ + "/spec-keystore";
  cluster_.mutable_spec()->mutable_sealed_secrets()->set_keystore(
      spec_keystore);
  WriteState();
  ASSERT_NO_FATAL_FAILURE(StoreApiKey(spec_keystore));
  environment_ = {{"COLDSTART_KEYSTORE", ""}};
  ASSERT_TRUE(DryRunWithState().ok()) << err_.str();
  EXPECT_THAT(err_.str(), HasSubstr("spec-keystore"));
  ASSERT_FALSE(headscale_.tokens().empty());
  EXPECT_EQ(headscale_.tokens().back(), kStoredApiKey);
}

}  // namespace
}  // namespace coldstart
