#include "lib/net/http.h"

#include <sys/stat.h>

#include <atomic>
#include <deque>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/secrets/crypto.h"
#include "lib/testing/fake_clock.h"
#include "lib/testing/files.h"
#include "lib/testing/http_testing.h"

namespace coldstart {
namespace {

using ::coldstart::testing::ReadTestFile;
using ::coldstart::testing::TestTempDir;
using ::coldstart::testing::WriteTestFile;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

RetryPolicy FakeTimePolicy(FakeClock& clock) {
  RetryPolicy policy;
  policy.initial_backoff = absl::Seconds(1);
  policy.multiplier = 2;
  policy.max_backoff = absl::Seconds(60);
  policy.jitter = 0;
  policy.deadline = absl::Seconds(100);
  policy.max_attempts = 10;
  policy.clock = &clock;
  return policy;
}

std::unique_ptr<CurlHttpClient> Client(TlsTrust trust = {}) {
  CurlHttpClientOptions options;
  options.trust = std::move(trust);
  options.timeout = absl::Seconds(30);
  absl::StatusOr<std::unique_ptr<CurlHttpClient>> client =
      CurlHttpClient::Create(options);
  EXPECT_TRUE(client.ok()) << client.status();
  return *std::move(client);
}

HttpRequest Get(std::string url) {
  HttpRequest request;
  request.url = std::move(url);
  return request;
}

// --- Retry against a loopback server -----------------------------------------

TEST(HttpRetryTest, RetriesOn503ThenSucceeds) {
  std::atomic<int> calls{0};
  auto server = *LoopbackHttpServer::Start([&](const LoopbackRequest&) {
    return ++calls <= 2 ? LoopbackResponse{503, {}, "busy"}
                        : LoopbackResponse{200, {}, "ok"};
  });
  FakeClock clock;
  auto client = Client();
  absl::StatusOr<HttpResponse> response = SendWithRetry(
      *client, Get(server->Url("/api2/json/version")), FakeTimePolicy(clock));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "ok");
  EXPECT_EQ(server->requests(), 3);
  EXPECT_THAT(clock.sleeps, ElementsAre(absl::Seconds(1), absl::Seconds(2)));
}

TEST(HttpRetryTest, HonoursRetryAfter) {
  std::atomic<int> calls{0};
  auto server = *LoopbackHttpServer::Start([&](const LoopbackRequest&) {
    return ++calls == 1 ? LoopbackResponse{429, {{"Retry-After", "7"}}, ""}
                        : LoopbackResponse{200, {}, "ok"};
  });
  FakeClock clock;
  auto client = Client();
  absl::StatusOr<HttpResponse> response =
      SendWithRetry(*client, Get(server->Url("/")), FakeTimePolicy(clock));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 200);
  EXPECT_THAT(clock.sleeps, ElementsAre(absl::Seconds(7)));
}

TEST(HttpRetryTest, GivesUpAtDeadlineNamingUrlAndAttempts) {
  auto server = *LoopbackHttpServer::Start([](const LoopbackRequest&) {
    return LoopbackResponse{503, {}, ""};
  });
  FakeClock clock;
  RetryPolicy policy = FakeTimePolicy(clock);
  policy.deadline = absl::Seconds(10);
  auto client = Client();
  std::string url = server->Url("/api2/json/nodes");
  absl::StatusOr<HttpResponse> response =
      SendWithRetry(*client, Get(url + "?secret=s3cr3t-query"), policy);
  // Sleeps 1 + 2 + 4 = 7 s; the next (8 s) would pass the 10 s deadline.
  ASSERT_EQ(response.status().code(), absl::StatusCode::kDeadlineExceeded)
      << response.status();
  EXPECT_THAT(response.status().message(), HasSubstr("GET " + url + ":"));
  EXPECT_THAT(response.status().message(), HasSubstr("4 attempts"));
  EXPECT_THAT(response.status().message(), HasSubstr("HTTP 503"));
  EXPECT_THAT(response.status().message(), Not(HasSubstr("s3cr3t")));
  EXPECT_EQ(server->requests(), 4);
  EXPECT_THAT(clock.sleeps, ElementsAre(absl::Seconds(1), absl::Seconds(2),
                                        absl::Seconds(4)));
}

TEST(HttpRetryTest, ConnectErrorsAreRetriedThenReported) {
  FakeClock clock;
  RetryPolicy policy = FakeTimePolicy(clock);
  policy.max_attempts = 3;
  auto client = Client();
  std::string url =
      absl::StrCat("http://127.0.0.1:", UnusedLoopbackPort(), "/x");
  absl::StatusOr<HttpResponse> response =
      SendWithRetry(*client, Get(url), policy);
  ASSERT_EQ(response.status().code(), absl::StatusCode::kUnavailable)
      << response.status();
  EXPECT_THAT(response.status().message(), HasSubstr("GET " + url));
  EXPECT_THAT(response.status().message(), HasSubstr("3 attempts"));
  EXPECT_EQ(clock.sleeps.size(), 2u);
}

TEST(HttpRetryTest, NonRetryableStatusIsReturnedAtOnce) {
  auto server = *LoopbackHttpServer::Start([](const LoopbackRequest&) {
    return LoopbackResponse{404, {}, "no"};
  });
  FakeClock clock;
  auto client = Client();
  absl::StatusOr<HttpResponse> response =
      SendWithRetry(*client, Get(server->Url("/")), FakeTimePolicy(clock));
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->status, 404);
  EXPECT_EQ(server->requests(), 1);
  EXPECT_TRUE(clock.sleeps.empty());
}

TEST(HttpRetryTest, PostBodyAndHeadersReachServer) {
  LoopbackRequest seen;
  auto server = *LoopbackHttpServer::Start([&](const LoopbackRequest& r) {
    seen = r;
    return LoopbackResponse{201, {{"X-Reply", "yes"}}, "created"};
  });
  HttpRequest request;
  request.method = "POST";
  request.url = server->Url("/api2/json/nodes/pve1/qemu");
  request.headers = {{"Content-Type", "application/json"}};
  request.secret_headers.emplace_back(
      "Authorization", Secret::FromView("PVEAPIToken=a@pve!t=x"));
  request.body = R"({"vmid":1500})";
  absl::StatusOr<HttpResponse> response = Client()->Send(request);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 201);
  EXPECT_EQ(response->Header("x-reply"), "yes");
  EXPECT_EQ(seen.method, "POST");
  EXPECT_EQ(seen.body, R"({"vmid":1500})");
  bool saw_auth = false;
  for (const auto& [name, value] : seen.headers) {
    if (name == "Authorization") saw_auth = value == "PVEAPIToken=a@pve!t=x";
  }
  EXPECT_TRUE(saw_auth);
}

// --- Retry logic with a scripted client
// ----------------------------------------

class ScriptedClient : public HttpClient {
 public:
  explicit ScriptedClient(std::deque<absl::StatusOr<HttpResponse>> script)
      : script_(std::move(script)) {}
  absl::StatusOr<HttpResponse> Send(const HttpRequest& request) override {
    timeouts.push_back(request.timeout);
    absl::StatusOr<HttpResponse> next = script_.front();
    script_.pop_front();
    return next;
  }
  std::vector<absl::Duration> timeouts;

 private:
  std::deque<absl::StatusOr<HttpResponse>> script_;
};

HttpResponse Response(int status, std::string body = "") {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

TEST(HttpRetryTest, CallerPredicateRetriesProxmoxLockTimeouts) {
  const HttpResponse locked = Response(
      500,
      "can't lock file '/var/lock/qemu-server/lock-1501.conf' - got timeout");
  FakeClock clock;
  RetryPolicy policy = FakeTimePolicy(clock);
  policy.retry_if = [](const HttpResponse& r) {
    return r.status == 500 && absl::StrContains(r.body, "got timeout");
  };
  ScriptedClient with({locked, Response(200, "done")});
  absl::StatusOr<HttpResponse> response =
      SendWithRetry(with, Get("https://pve:8006/api2/json/x"), policy);
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->status, 200);

  policy.retry_if = nullptr;
  ScriptedClient without({locked, Response(200, "done")});
  response =
      SendWithRetry(without, Get("https://pve:8006/api2/json/x"), policy);
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->status, 500);
}

TEST(HttpRetryTest, TrustFailuresAreNotRetried) {
  FakeClock clock;
  ScriptedClient client(
      {absl::FailedPreconditionError("untrusted"), Response(200)});
  EXPECT_EQ(SendWithRetry(client, Get("https://x/"), FakeTimePolicy(clock))
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(client.timeouts.size(), 1u);
}

TEST(HttpRetryTest, AttemptTimeoutIsCutToRemainingDeadline) {
  FakeClock clock;
  RetryPolicy policy = FakeTimePolicy(clock);
  policy.deadline = absl::Seconds(10);
  ScriptedClient client({absl::DeadlineExceededError("slow"),
                         absl::UnavailableError("reset"), Response(200)});
  HttpRequest request = Get("http://x/");
  request.timeout = absl::Seconds(8);
  ASSERT_TRUE(SendWithRetry(client, request, policy).ok());
  // 8 s (own limit), then 10-1 = 9 s remaining -> 8 s, then 10-3 = 7 s.
  EXPECT_THAT(client.timeouts, ElementsAre(absl::Seconds(8), absl::Seconds(8),
                                           absl::Seconds(7)));
}

TEST(HttpRetryTest, BackoffGrowsIsCappedAndJittered) {
  RetryPolicy policy;
  policy.initial_backoff = absl::Milliseconds(100);
  policy.multiplier = 2;
  policy.max_backoff = absl::Seconds(1);
  policy.jitter = 0.5;
  EXPECT_EQ(policy.Backoff(1, 0), absl::Milliseconds(100));
  EXPECT_EQ(policy.Backoff(3, 0), absl::Milliseconds(400));
  EXPECT_EQ(policy.Backoff(10, 0), absl::Seconds(1));
  EXPECT_EQ(policy.Backoff(3, 0.5), absl::Milliseconds(300));
  EXPECT_GT(policy.Backoff(3, 0.999), absl::Milliseconds(200));
}

TEST(HttpRetryTest, RetryAfterForms) {
  absl::Time now = absl::FromUnixSeconds(1445412480);  // 2015-10-21 07:28:00
  HttpResponse r = Response(503);
  EXPECT_EQ(RetryAfter(r, now), std::nullopt);
  r.headers = {{"retry-after", "120"}};
  EXPECT_EQ(RetryAfter(r, now), absl::Seconds(120));
  r.headers = {{"Retry-After", "Wed, 21 Oct 2015 07:30:00 GMT"}};
  EXPECT_EQ(RetryAfter(r, now), absl::Minutes(2));
  r.headers = {{"Retry-After", "soon"}};
  EXPECT_EQ(RetryAfter(r, now), std::nullopt);
}

// --- TLS trust ---------------------------------------------------------------

class HttpsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // A self-signed server certificate, like a fresh Proxmox host's.
    absl::Time now = absl::Now();
    PrivateKey key = PrivateKey::GenerateEcdsaP256();
    CertificateTemplate spec;
    spec.common_name = "pve1";
    spec.is_ca = true;
    spec.key_usage = kDigitalSignature | kKeyCertSign;
    spec.server_auth = true;
    spec.ip_addresses = {"127.0.0.1"};
    spec.not_before = now - absl::Minutes(5);
    spec.not_after = now + absl::Hours(24);
    Certificate cert = *IssueCertificate(spec, key.public_key(), key, nullptr);
    cert_path_ = new std::string(TestTempDir() + "/server.pem");
    WriteTestFile(*cert_path_, cert.ToPem());
    WriteTestFile(TestTempDir() + "/server.key",
                  key.ToPem(PrivateKeyPem::kPkcs8)->Reveal());
    fingerprint_ = new std::string(HexEncode(cert.Sha256Fingerprint()));

    PrivateKey other = PrivateKey::GenerateEcdsaP256();
    spec.common_name = "other";
    WriteTestFile(
        TestTempDir() + "/other.pem",
        IssueCertificate(spec, other.public_key(), other, nullptr)->ToPem());
  }
  static void TearDownTestSuite() {
    delete cert_path_;
    delete fingerprint_;
  }
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<LoopbackHttpServer>> server =
        LoopbackHttpServer::Start(
            [](const LoopbackRequest&) {
              return LoopbackResponse{200, {}, "secure"};
            },
            *cert_path_, TestTempDir() + "/server.key");
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }
  static std::string* cert_path_;
  static std::string* fingerprint_;
  std::unique_ptr<LoopbackHttpServer> server_;
};
std::string* HttpsTest::cert_path_ = nullptr;
std::string* HttpsTest::fingerprint_ = nullptr;

TEST_F(HttpsTest, RefusesUnpinnedSelfSignedCertificate) {
  absl::StatusOr<HttpResponse> response =
      Client()->Send(Get(server_->Url("/api2/json/version")));
  ASSERT_EQ(response.status().code(), absl::StatusCode::kFailedPrecondition)
      << response.status();
  EXPECT_THAT(response.status().message(), HasSubstr(server_->Url("/api2")));
  EXPECT_THAT(response.status().message(), HasSubstr("pinning"));
  EXPECT_EQ(server_->requests(), 0);
}

TEST_F(HttpsTest, AcceptsWithCaFile) {
  absl::StatusOr<HttpResponse> response =
      Client({.ca_file = *cert_path_})->Send(Get(server_->Url("/")));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->body, "secure");
}

TEST_F(HttpsTest, RefusesWithAnotherCaFile) {
  EXPECT_EQ(Client({.ca_file = TestTempDir() + "/other.pem"})
                ->Send(Get(server_->Url("/")))
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(HttpsTest, AcceptsWithSha256Pin) {
  // Proxmox shows fingerprints as upper-case hex with colons.
  std::string colons;
  for (size_t i = 0; i < fingerprint_->size(); i += 2) {
    absl::StrAppend(&colons, i ? ":" : "",
                    absl::AsciiStrToUpper(fingerprint_->substr(i, 2)));
  }
  absl::StatusOr<HttpResponse> response =
      Client({.certificate_sha256 = colons})->Send(Get(server_->Url("/")));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->body, "secure");
}

TEST_F(HttpsTest, RefusesWrongPin) {
  std::string wrong = *fingerprint_;
  wrong[0] = wrong[0] == '0' ? '1' : '0';
  absl::StatusOr<HttpResponse> response =
      Client({.certificate_sha256 = wrong})->Send(Get(server_->Url("/")));
  ASSERT_EQ(response.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(response.status().message(), HasSubstr("does not match"));
  EXPECT_THAT(response.status().message(), HasSubstr(*fingerprint_));
  EXPECT_EQ(server_->requests(), 0);
}

TEST(HttpClientTest, RejectsMalformedPinAndMissingCaFile) {
  EXPECT_EQ(CurlHttpClient::Create({.trust = {.certificate_sha256 = "abcd"}})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CurlHttpClient::Create({.trust = {.ca_file = "/nonexistent.pem"}})
                .status()
                .code(),
            absl::StatusCode::kNotFound);
}

TEST(HttpClientTest, UrlForMessagesDropsUserInfoAndQuery) {
  EXPECT_EQ(UrlForMessages("https://u:pw@h:1/p/q?token=x#f"),
            "https://h:1/p/q");
  EXPECT_EQ(UrlForMessages("http://h/a@b"), "http://h/a@b");
}

// --- Record / replay
// -----------------------------------------------------------

TEST(HttpRecordTest, RecordingHoldsNoSecretAndReplays) {
  const std::string token_uuid = "aaaaaaaa-1111-2222-3333-444444444444";
  auto server = *LoopbackHttpServer::Start([](const LoopbackRequest& r) {
    std::string auth;
    for (const auto& [name, value] : r.headers) {
      if (name == "Authorization") auth = value;
    }
    return LoopbackResponse{
        200,
        {{"Set-Cookie", "PVEAuthCookie=SETCOOKIE5150"},
         {"Content-Type", "application/json"}},
        absl::StrCat(R"({"data":{"ticket":"PVE:root@pam:TICKET8086","echo":")",
                     auth, R"("}})")};
  });
  std::string path = TestTempDir() + "/exchanges.jsonl";
  HttpRequest request;
  request.method = "POST";
  request.url = server->Url("/api2/json/access?token=QUERYSECRET99");
  request.headers = {{"Cookie", "PVEAuthCookie=COOKIEVAL123"},
                     {"X-Forwarded-Auth", "PVEAPIToken=other@pve!x=zzzzzzzzzz"},
                     {"X-Custom", "plain-visible"}};
  request.secret_headers.emplace_back(
      "Authorization",
      Secret::FromView("PVEAPIToken=root@pam!coldstart=" + token_uuid));
  request.secret_headers.emplace_back("X-API-Key",
                                      Secret::FromView("hs-api-key-123456789"));
  request.body = "username=root&password=BODYSECRET77";

  Redaction redaction;
  for (const char* value : {"TICKET8086", "QUERYSECRET99", "BODYSECRET77"}) {
    redaction.secret_values.push_back(Secret::FromView(value));
  }
  auto curl = Client();
  {
    absl::StatusOr<std::unique_ptr<RecordingHttpClient>> recorder =
        RecordingHttpClient::Create(*curl, path, redaction);
    ASSERT_TRUE(recorder.ok()) << recorder.status();
    absl::StatusOr<HttpResponse> live = (*recorder)->Send(request);
    ASSERT_TRUE(live.ok()) << live.status();
    // The caller sees the real exchange.
    EXPECT_THAT(live->body, HasSubstr("TICKET8086"));
    EXPECT_THAT(live->body, HasSubstr(token_uuid));
  }

  std::string recorded = ReadTestFile(path);
  for (const std::string& secret :
       {token_uuid, std::string("hs-api-key-123456789"),
        std::string("COOKIEVAL123"), std::string("SETCOOKIE5150"),
        std::string("TICKET8086"), std::string("QUERYSECRET99"),
        std::string("BODYSECRET77"), std::string("zzzzzzzzzz")}) {
    EXPECT_THAT(recorded, Not(HasSubstr(secret))) << "leaked: " << secret;
  }
  EXPECT_THAT(recorded, HasSubstr("[redacted]"));
  EXPECT_THAT(recorded, HasSubstr("plain-visible"));
  EXPECT_THAT(recorded, HasSubstr("/api2/json/access?token=[redacted]"));
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);

  absl::StatusOr<std::unique_ptr<ReplayHttpClient>> replay =
      ReplayHttpClient::FromFile(path, redaction);
  ASSERT_TRUE(replay.ok()) << replay.status();
  absl::StatusOr<HttpResponse> replayed = (*replay)->Send(request);
  ASSERT_TRUE(replayed.ok()) << replayed.status();
  EXPECT_EQ(replayed->status, 200);
  EXPECT_THAT(replayed->body,
              HasSubstr(R"("ticket":"PVE:root@pam:[redacted]")"));
  EXPECT_EQ(replayed->Header("Content-Type"), "application/json");
  EXPECT_EQ((*replay)->Send(request).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(HttpRecordTest, RecordsErrorsAndRejectsMalformedFiles) {
  std::string path = TestTempDir() + "/errors.jsonl";
  ScriptedClient inner({absl::UnavailableError("connection refused")});
  auto recorder = *RecordingHttpClient::Create(inner, path, {});
  EXPECT_EQ(recorder->Send(Get("http://127.0.0.1:1/x")).status().code(),
            absl::StatusCode::kUnavailable);
  auto replay = *ReplayHttpClient::FromFile(path);
  absl::StatusOr<HttpResponse> replayed =
      replay->Send(Get("http://127.0.0.1:1/x"));
  EXPECT_EQ(replayed.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(replayed.status().message(), "connection refused");

  std::string bad = TestTempDir() + "/bad.jsonl";
  WriteTestFile(bad, "{\"request\": 1}\n");
  absl::StatusOr<std::unique_ptr<ReplayHttpClient>> broken =
      ReplayHttpClient::FromFile(bad);
  EXPECT_EQ(broken.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(broken.status().message(), HasSubstr("bad.jsonl:1"));
}

}  // namespace
}  // namespace coldstart
