// The Headscale simulator against facts/headscale.md, not against the tool
// that uses it: the module runs in-process on loopback (HTTPS, lab CA) and a
// plain HTTP client calls the API as the real server's is described. Each
// test names the § it checks.
#include "lab/headscale/headscale_module.h"

#include <stdlib.h>

#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "lab/faults/fault_injector.h"
#include "lab/http/request_log.h"
#include "lab/module.h"
#include "nlohmann/json.hpp"

namespace coldstart::lab {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::StartsWith;

struct Reply {
  int status = 0;
  std::string content_type;
  std::string text;
  // The body as JSON; discarded when it is not JSON.
  json body;
};

std::set<std::string> Keys(const json& object) {
  std::set<std::string> keys;
  for (const auto& [key, value] : object.items()) keys.insert(key);
  return keys;
}

std::vector<std::string> KeyIds(const Reply& list) {
  std::vector<std::string> ids;
  for (const json& k : list.body["preAuthKeys"]) ids.push_back(k["id"]);
  return ids;
}

bool IsRfc3339(const json& value) {
  absl::Time t;
  std::string err;
  return value.is_string() &&
         absl::ParseTime(absl::RFC3339_full, value.get<std::string>(), &t,
                         &err);
}

class HeadscaleModuleTest : public ::testing::Test {
 protected:
  void Start(const std::string& version, const std::string& fault_text = "") {
    std::string dir = absl::StrCat(std::getenv("TEST_TMPDIR"), "/hs-XXXXXX");
    ASSERT_NE(mkdtemp(dir.data()), nullptr);
    absl::StatusOr<FaultFile> fault_file = ParseFaultFile(fault_text, "test");
    ASSERT_TRUE(fault_file.ok()) << fault_file.status();
    auto faults = FaultInjector::Create(*fault_file);
    ASSERT_TRUE(faults.ok()) << faults.status();
    faults_ = std::move(*faults);
    spec_.mutable_spec()->mutable_mesh()->set_headscale_url(
        "https://127.0.0.1:8443");
    context_.spec = &spec_;
    context_.faults = faults_.get();
    context_.requests = &requests_;
    context_.workdir = dir;
    context_.any_port = true;
    context_.options = {{"version", version}};
    context_.log = [](const std::string&) {};
    absl::Status started = module_.Start(context_);
    ASSERT_TRUE(started.ok()) << started;
    std::ifstream key_file(dir + "/headscale-api-key");
    std::stringstream key;
    key << key_file.rdbuf();
    api_key_ = key.str();
    client_ = std::make_unique<httplib::Client>(
        "https://" + module_.Listeners().at("https"));
    client_->set_ca_cert_path((dir + "/lab-ca.pem").c_str());
    client_->enable_server_certificate_verification(true);
  }

  // A call with "Authorization: <authorization>" (none when empty).
  Reply CallAs(const std::string& authorization, const std::string& method,
               const std::string& path, const json& body = nullptr) {
    httplib::Headers headers;
    if (!authorization.empty()) headers.emplace("Authorization", authorization);
    const std::string text = body.is_null() ? "" : body.dump();
    httplib::Result res =
        method == "GET" ? client_->Get(path.c_str(), headers)
        : method == "DELETE"
            ? client_->Delete(path.c_str(), headers)
            : client_->Post(path.c_str(), headers, text, "application/json");
    Reply reply;
    if (!res) {
      ADD_FAILURE() << method << " " << path << ": " << res.error();
      return reply;
    }
    reply.status = res->status;
    reply.content_type = res->get_header_value("Content-Type");
    reply.text = res->body;
    reply.body = json::parse(res->body, nullptr, false);
    return reply;
  }
  Reply Call(const std::string& method, const std::string& path,
             const json& body = nullptr) {
    return CallAs("Bearer " + api_key_, method, path, body);
  }

  // Creates a user; returns its id (a string, §1).
  std::string CreateUser(const std::string& name) {
    Reply r = Call("POST", "/api/v1/user", {{"name", name}});
    EXPECT_EQ(r.status, 200) << r.text;
    return r.body["user"]["id"].get<std::string>();
  }
  // A pre-auth key valid for an hour; `user` as the version wants it.
  json CreateKey(const json& user, bool reusable = false) {
    Reply r = Call("POST", "/api/v1/preauthkey",
                   {{"user", user},
                    {"reusable", reusable},
                    {"ephemeral", false},
                    {"expiration", Rfc3339(absl::Now() + absl::Hours(1))},
                    {"aclTags", json::array()}});
    EXPECT_EQ(r.status, 200) << r.text;
    return r.body["preAuthKey"];
  }
  // A node's tailscaled registering (lab-only endpoint, no API key).
  Reply Login(const std::string& authkey, const std::string& hostname) {
    return CallAs("", "POST", "/_lab/tailscale/login",
                  {{"authkey", authkey},
                   {"hostname", hostname},
                   {"routes", {"10.0.0.0/24"}}});
  }

  static std::string Rfc3339(absl::Time t) {
    return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
  }

  coldstart::v1::Cluster spec_;
  RequestLog requests_;
  std::unique_ptr<FaultInjector> faults_;
  ModuleContext context_;
  HeadscaleModule module_;
  std::string api_key_;
  std::unique_ptr<httplib::Client> client_;
};

// §1 Auth: missing/invalid Bearer key → 401, text/plain body "Unauthorized",
// on every API route.
TEST_F(HeadscaleModuleTest, MissingOrWrongBearerKeyIs401PlainUnauthorized) {
  Start("0.26");
  for (const auto& [method, path] :
       std::vector<std::pair<std::string, std::string>>{
           {"GET", "/api/v1/user"},
           {"POST", "/api/v1/user"},
           {"POST", "/api/v1/preauthkey"},
           {"GET", "/api/v1/preauthkey?user=1"},
           {"POST", "/api/v1/preauthkey/expire"},
           {"GET", "/api/v1/node"},
           {"DELETE", "/api/v1/node/1"}}) {
    for (const std::string& authorization :
         {std::string(), std::string("Bearer wrong"), api_key_}) {
      Reply r = CallAs(authorization, method, path, json::object());
      EXPECT_EQ(r.status, 401)
          << method << " " << path << " with \"" << authorization << "\"";
      EXPECT_EQ(r.text, "Unauthorized");
      EXPECT_THAT(r.content_type, StartsWith("text/plain"));
    }
  }
  EXPECT_EQ(Call("GET", "/api/v1/user").status, 200);
}

// §1 API key format: ≤0.27 <7>.<32>; 0.28+ hskey-api-<prefix>-<secret>.
TEST_F(HeadscaleModuleTest, ApiKeyFormatFollowsTheVersion) {
  Start("0.26");
  EXPECT_THAT(api_key_, MatchesRegex("[0-9a-f]{7}\\.[0-9a-f]{32}"));
  module_.Stop();
  Start("0.28");
  EXPECT_THAT(api_key_, MatchesRegex("hskey-api-[0-9a-f]+-[0-9a-f]+"));
  EXPECT_EQ(Call("GET", "/api/v1/user").status, 200);
}

// §3 Create → {"user":{...}} with the 0.24+ object (id string, every field
// emitted); §3 list filter ?name= (0.24+); §1 success is 200, empty lists
// are [].
TEST_F(HeadscaleModuleTest, CreatedUserIsListedAndFoundByName) {
  Start("0.26");
  Reply created = Call("POST", "/api/v1/user", {{"name", "lab"}});
  ASSERT_EQ(created.status, 200) << created.text;
  const json& user = created.body["user"];
  EXPECT_EQ(Keys(user), (std::set<std::string>{
                            "id", "name", "createdAt", "displayName", "email",
                            "providerId", "provider", "profilePicUrl"}));
  EXPECT_EQ(user["id"], "1");
  EXPECT_EQ(user["name"], "lab");
  EXPECT_TRUE(IsRfc3339(user["createdAt"])) << user["createdAt"];
  EXPECT_EQ(user["provider"], "");
  CreateUser("other");

  Reply all = Call("GET", "/api/v1/user");
  ASSERT_EQ(all.status, 200);
  EXPECT_EQ(all.body["users"].size(), 2u);
  Reply by_name = Call("GET", "/api/v1/user?name=lab");
  ASSERT_EQ(by_name.body["users"].size(), 1u);
  EXPECT_EQ(by_name.body["users"][0], user);
  EXPECT_EQ(Call("GET", "/api/v1/user?name=nobody").text, R"({"users":[]})");
}

// §3 User object in 0.23: {id, name, createdAt} only.
TEST_F(HeadscaleModuleTest, UserObjectOf023HasIdNameCreatedAt) {
  Start("0.23");
  Reply created = Call("POST", "/api/v1/user", {{"name", "lab"}});
  ASSERT_EQ(created.status, 200) << created.text;
  EXPECT_EQ(Keys(created.body["user"]),
            (std::set<std::string>{"id", "name", "createdAt"}));
  EXPECT_EQ(created.body["user"]["id"], "1");
}

// §3 duplicate CLI user → DB unique-constraint error → HTTP 500; §1 error
// body {"code":2,"message":...,"details":[]}.
TEST_F(HeadscaleModuleTest, DuplicateUserIs500WithGrpcStatusBody) {
  Start("0.26");
  CreateUser("lab");
  Reply again = Call("POST", "/api/v1/user", {{"name", "lab"}});
  EXPECT_EQ(again.status, 500);
  EXPECT_EQ(Keys(again.body),
            (std::set<std::string>{"code", "message", "details"}));
  EXPECT_EQ(again.body["code"], 2);
  EXPECT_THAT(again.body["message"].get<std::string>(), HasSubstr("UNIQUE"));
  EXPECT_EQ(again.body["details"], json::array());
  EXPECT_EQ(Call("GET", "/api/v1/user").body["users"].size(), 1u);
}

// §3 username rules (0.24+): ≥2 chars, no leading digit, letters, digits,
// - . _ and at most one @; violations are plain errors (500).
TEST_F(HeadscaleModuleTest, InvalidUsernamesAreRefused) {
  Start("0.26");
  for (const char* name : {"a", "1lab", "la b", "a@b@c"}) {
    Reply r = Call("POST", "/api/v1/user", {{"name", name}});
    EXPECT_EQ(r.status, 500) << name;
    EXPECT_EQ(r.body["code"], 2) << name;
  }
  EXPECT_EQ(Call("POST", "/api/v1/user", {{"name", "ci.bot_1@x"}}).status, 200);
}

// §2 create (0.26–0.27): user by numeric id; PreAuthKey object with string
// id, 48-hex key, the requested flags and expiration, `user` a User object.
// §1 input ids may be strings or numbers.
TEST_F(HeadscaleModuleTest, PreAuthKeyOf026EchoesTheRequest) {
  Start("0.26");
  const std::string user_id = CreateUser("lab");
  const std::string expiration = Rfc3339(absl::Now() + absl::Hours(1));
  Reply r = Call("POST", "/api/v1/preauthkey",
                 {{"user", user_id},
                  {"reusable", true},
                  {"ephemeral", true},
                  {"expiration", expiration},
                  {"aclTags", {"tag:b", "tag:a"}}});
  ASSERT_EQ(r.status, 200) << r.text;
  const json& key = r.body["preAuthKey"];
  EXPECT_EQ(Keys(key), (std::set<std::string>{"user", "id", "key", "reusable",
                                              "ephemeral", "used", "expiration",
                                              "createdAt", "aclTags"}));
  EXPECT_EQ(key["id"], "1");
  EXPECT_THAT(key["key"].get<std::string>(), MatchesRegex("[0-9a-f]{48}"));
  EXPECT_EQ(key["reusable"], true);
  EXPECT_EQ(key["ephemeral"], true);
  EXPECT_EQ(key["used"], false);
  EXPECT_EQ(key["expiration"], expiration);
  EXPECT_TRUE(IsRfc3339(key["createdAt"]));
  EXPECT_EQ(key["aclTags"], json({"tag:b", "tag:a"}));
  EXPECT_EQ(key["user"]["id"], user_id);
  EXPECT_EQ(key["user"]["name"], "lab");

  Reply numeric = Call(
      "POST", "/api/v1/preauthkey",
      {{"user", 1}, {"expiration", expiration}, {"aclTags", json::array()}});
  ASSERT_EQ(numeric.status, 200) << numeric.text;
  EXPECT_EQ(numeric.body["preAuthKey"]["id"], "2");
  EXPECT_EQ(numeric.body["preAuthKey"]["reusable"], false);
  EXPECT_EQ(numeric.body["preAuthKey"]["ephemeral"], false);
}

// §2 create (0.23–0.25): user by name; PreAuthKey.user is the username.
// Unknown user → 500 "record not found".
TEST_F(HeadscaleModuleTest, PreAuthKeyOf023NamesItsUserByName) {
  Start("0.23");
  CreateUser("lab");
  json key = CreateKey("lab");
  EXPECT_EQ(key["user"], "lab");
  Reply by_id = Call("POST", "/api/v1/preauthkey",
                     {{"user", "1"}, {"expiration", key["expiration"]}});
  EXPECT_EQ(by_id.status, 500);
  EXPECT_EQ(by_id.body["code"], 2);
  EXPECT_THAT(by_id.body["message"].get<std::string>(),
              HasSubstr("record not found"));
}

// §2 create (0.28+): full hskey-auth-<12>-<64> once, masked in the list;
// user optional for tagged keys (user null), required otherwise; tags
// de-duplicated and sorted.
TEST_F(HeadscaleModuleTest, PreAuthKeyOf028IsShownInFullOnlyAtCreation) {
  Start("0.28");
  const std::string user_id = CreateUser("lab");
  json key = CreateKey(user_id);
  const std::string full = key["key"];
  EXPECT_THAT(full, MatchesRegex("hskey-auth-[0-9a-f]{12}-[0-9a-f]{64}"));
  Reply list = Call("GET", "/api/v1/preauthkey");
  ASSERT_EQ(list.status, 200) << list.text;
  ASSERT_EQ(list.body["preAuthKeys"].size(), 1u);
  EXPECT_EQ(list.body["preAuthKeys"][0]["key"], full.substr(0, 23) + "-***");

  Reply tagged = Call("POST", "/api/v1/preauthkey",
                      {{"expiration", key["expiration"]},
                       {"aclTags", {"tag:web", "tag:db", "tag:web"}}});
  ASSERT_EQ(tagged.status, 200) << tagged.text;
  EXPECT_TRUE(tagged.body["preAuthKey"]["user"].is_null());
  EXPECT_EQ(tagged.body["preAuthKey"]["aclTags"], json({"tag:db", "tag:web"}));

  Reply neither =
      Call("POST", "/api/v1/preauthkey", {{"expiration", key["expiration"]}});
  EXPECT_EQ(neither.status, 500);
  EXPECT_EQ(neither.body["message"],
            "auth-key must be either tagged or owned by user");
}

// §2 "Always send expiration": absent → the zero time, so the key is born
// expired and a node cannot log in with it.
TEST_F(HeadscaleModuleTest, KeyWithoutExpirationIsBornExpired) {
  Start("0.26");
  const std::string user_id = CreateUser("lab");
  Reply r = Call("POST", "/api/v1/preauthkey", {{"user", user_id}});
  ASSERT_EQ(r.status, 200) << r.text;
  EXPECT_EQ(r.body["preAuthKey"]["expiration"], "0001-01-01T00:00:00Z");
  Reply login = Login(r.body["preAuthKey"]["key"], "talos-cp-1");
  EXPECT_EQ(login.status, 401);
  EXPECT_EQ(login.body["message"], "authkey expired");
}

// §2 tags must start with tag:, be lowercase, have no spaces → 400,
// InvalidArgument (code 3).
TEST_F(HeadscaleModuleTest, BadTagsAre400InvalidArgument) {
  Start("0.26");
  const std::string user_id = CreateUser("lab");
  for (const char* tag : {"web", "tag:Web", "tag:a b"}) {
    Reply r = Call("POST", "/api/v1/preauthkey",
                   {{"user", user_id},
                    {"expiration", Rfc3339(absl::Now() + absl::Hours(1))},
                    {"aclTags", {tag}}});
    EXPECT_EQ(r.status, 400) << tag;
    EXPECT_EQ(r.body["code"], 3) << tag;
  }
  // §1 input accepts snake_case too.
  Reply snake = Call("POST", "/api/v1/preauthkey",
                     {{"user", user_id},
                      {"expiration", Rfc3339(absl::Now() + absl::Hours(1))},
                      {"acl_tags", {"tag:x"}}});
  ASSERT_EQ(snake.status, 200) << snake.text;
  EXPECT_EQ(snake.body["preAuthKey"]["aclTags"], json({"tag:x"}));
}

// §2 list: 0.23–0.25 ?user=<username>, 0.26–0.27 ?user=<user id>, 0.28+
// all keys (no filter); sorted by id; unknown user → 500.
TEST_F(HeadscaleModuleTest, ListKeysOf023FiltersByUserName) {
  Start("0.23");
  CreateUser("lab");
  CreateUser("other");
  CreateKey("lab");
  CreateKey("other");
  CreateKey("lab");
  EXPECT_THAT(KeyIds(Call("GET", "/api/v1/preauthkey?user=lab")),
              ElementsAre("1", "3"));
  EXPECT_EQ(Call("GET", "/api/v1/preauthkey?user=1").status, 500);
}

TEST_F(HeadscaleModuleTest, ListKeysOf026FiltersByUserId) {
  Start("0.26");
  const std::string lab = CreateUser("lab");
  const std::string other = CreateUser("other");
  CreateKey(lab);
  CreateKey(other);
  CreateKey(lab);
  EXPECT_THAT(KeyIds(Call("GET", "/api/v1/preauthkey?user=" + lab)),
              ElementsAre("1", "3"));
  EXPECT_THAT(KeyIds(Call("GET", "/api/v1/preauthkey?user=" + other)),
              ElementsAre("2"));
  Reply unknown = Call("GET", "/api/v1/preauthkey?user=99");
  EXPECT_EQ(unknown.status, 500);
  EXPECT_EQ(unknown.body["code"], 2);
}

TEST_F(HeadscaleModuleTest, ListKeysOf028ListsEveryKey) {
  Start("0.28");
  const std::string lab = CreateUser("lab");
  const std::string other = CreateUser("other");
  CreateKey(lab);
  CreateKey(other);
  Reply r = Call("GET", "/api/v1/preauthkey?user=" + lab);
  ASSERT_EQ(r.status, 200);
  ASSERT_EQ(r.body["preAuthKeys"].size(), 2u);
  EXPECT_EQ(r.body["preAuthKeys"][1]["user"]["name"], "other");
}

// §2 expire (0.26–0.27): {"user":"<id>","key":"<full key>"} → {}; the key
// is then expired (listed with a past expiration, refused at login); a key
// of another user → 500 "preauth key does not belong to user".
TEST_F(HeadscaleModuleTest, ExpireKeyOf026NeedsTheOwningUserId) {
  Start("0.26");
  const std::string lab = CreateUser("lab");
  const std::string other = CreateUser("other");
  json key = CreateKey(lab);
  Reply wrong = Call("POST", "/api/v1/preauthkey/expire",
                     {{"user", other}, {"key", key["key"]}});
  EXPECT_EQ(wrong.status, 500);
  EXPECT_EQ(wrong.body["message"], "preauth key does not belong to user");

  Reply expired = Call("POST", "/api/v1/preauthkey/expire",
                       {{"user", lab}, {"key", key["key"]}});
  ASSERT_EQ(expired.status, 200) << expired.text;
  EXPECT_EQ(expired.text, "{}");
  json listed =
      Call("GET", "/api/v1/preauthkey?user=" + lab).body["preAuthKeys"][0];
  absl::Time expiration;
  std::string err;
  ASSERT_TRUE(absl::ParseTime(absl::RFC3339_full,
                              listed["expiration"].get<std::string>(),
                              &expiration, &err));
  EXPECT_LE(expiration, absl::Now());
  EXPECT_EQ(Login(key["key"], "talos-cp-1").status, 401);
}

// §2 expire (0.23–0.25): {"user":"<name>","key"}; 0.28+: {"id":"<key id>"}.
TEST_F(HeadscaleModuleTest, ExpireKeyByNameIn023AndByIdIn028) {
  Start("0.23");
  CreateUser("lab");
  json old_key = CreateKey("lab");
  EXPECT_EQ(Call("POST", "/api/v1/preauthkey/expire",
                 {{"user", "lab"}, {"key", old_key["key"]}})
                .text,
            "{}");
  EXPECT_EQ(Login(old_key["key"], "n1").body["message"], "authkey expired");
  module_.Stop();

  Start("0.28");
  json key = CreateKey(CreateUser("lab"));
  EXPECT_EQ(Call("POST", "/api/v1/preauthkey/expire", {{"id", key["id"]}}).text,
            "{}");
  EXPECT_EQ(Login(key["key"], "n1").body["message"], "authkey expired");
}

// §7.2 every field of the Node object, per version: ids as strings, key
// prefixes, RFC 3339 times, registerMethod as the enum name, tags fields
// (forced/valid/invalid ≤0.27, tags 0.28+), route fields 0.26+.
TEST_F(HeadscaleModuleTest, NodeObjectHasEveryFieldOfTheVersion) {
  const std::set<std::string> common = {
      "id",         "machineKey", "nodeKey",        "discoKey", "ipAddresses",
      "name",       "givenName",  "user",           "lastSeen", "expiry",
      "preAuthKey", "createdAt",  "registerMethod", "online"};
  const std::set<std::string> old_tags = {"forcedTags", "validTags",
                                          "invalidTags"};
  const std::set<std::string> routes = {"approvedRoutes", "availableRoutes",
                                        "subnetRoutes"};
  struct Case {
    std::string version;
    std::set<std::string> extra;
  };
  std::set<std::string> v26 = old_tags, v28 = routes;
  v26.insert(routes.begin(), routes.end());
  v28.insert("tags");
  for (const Case& c :
       std::vector<Case>{{"0.23", old_tags}, {"0.26", v26}, {"0.28", v28}}) {
    SCOPED_TRACE(c.version);
    module_.Stop();
    Start(c.version);
    const std::string user_id = CreateUser("lab");
    json key = CreateKey(c.version == "0.23" ? json("lab") : json(user_id));
    ASSERT_EQ(Login(key["key"], "talos-cp-1").status, 200);
    Reply list = Call("GET", "/api/v1/node");
    ASSERT_EQ(list.status, 200) << list.text;
    ASSERT_EQ(list.body["nodes"].size(), 1u);
    const json& node = list.body["nodes"][0];
    std::set<std::string> expected = common;
    expected.insert(c.extra.begin(), c.extra.end());
    EXPECT_EQ(Keys(node), expected);
    EXPECT_EQ(node["id"], "1");
    EXPECT_THAT(node["machineKey"].get<std::string>(), StartsWith("mkey:"));
    EXPECT_THAT(node["nodeKey"].get<std::string>(), StartsWith("nodekey:"));
    EXPECT_THAT(node["discoKey"].get<std::string>(), StartsWith("discokey:"));
    ASSERT_TRUE(node["ipAddresses"].is_array());
    ASSERT_FALSE(node["ipAddresses"].empty());
    EXPECT_TRUE(node["ipAddresses"][0].is_string());
    EXPECT_EQ(node["name"], "talos-cp-1");
    EXPECT_EQ(node["givenName"], "talos-cp-1");
    EXPECT_EQ(node["user"]["id"], user_id);
    EXPECT_TRUE(IsRfc3339(node["lastSeen"]));
    EXPECT_TRUE(IsRfc3339(node["createdAt"]));
    EXPECT_EQ(node["preAuthKey"]["id"], key["id"]);
    EXPECT_EQ(node["registerMethod"], "REGISTER_METHOD_AUTH_KEY");
    EXPECT_TRUE(node["online"].is_boolean());
    if (c.version != "0.23") {
      EXPECT_EQ(node["availableRoutes"], json({"10.0.0.0/24"}));
      EXPECT_EQ(node["approvedRoutes"], json::array());
    }
  }
}

// §7.2 (0.28+): a node enrolled with a tagged key is a tagged node: the
// pseudo-user tagged-devices, its tags from the key.
TEST_F(HeadscaleModuleTest, TaggedKeyMakesATaggedNodeIn028) {
  Start("0.28");
  Reply key = Call("POST", "/api/v1/preauthkey",
                   {{"expiration", Rfc3339(absl::Now() + absl::Hours(1))},
                    {"aclTags", {"tag:k8s"}}});
  ASSERT_EQ(key.status, 200) << key.text;
  ASSERT_EQ(Login(key.body["preAuthKey"]["key"], "talos-w-1").status, 200);
  const json node = Call("GET", "/api/v1/node").body["nodes"][0];
  EXPECT_EQ(node["user"]["id"], "2147455555");
  EXPECT_EQ(node["user"]["name"], "tagged-devices");
  EXPECT_EQ(node["tags"], json({"tag:k8s"}));
  EXPECT_TRUE(node["expiry"].is_null());
}

// §7.1 list ?user=<user NAME> (all versions); unknown name → 500
// "record not found".
TEST_F(HeadscaleModuleTest, ListNodesFiltersByUserName) {
  Start("0.26");
  json lab_key = CreateKey(CreateUser("lab"));
  json other_key = CreateKey(CreateUser("other"));
  ASSERT_EQ(Login(lab_key["key"], "a").status, 200);
  ASSERT_EQ(Login(other_key["key"], "b").status, 200);
  Reply lab = Call("GET", "/api/v1/node?user=lab");
  ASSERT_EQ(lab.body["nodes"].size(), 1u);
  EXPECT_EQ(lab.body["nodes"][0]["name"], "a");
  EXPECT_EQ(Call("GET", "/api/v1/node").body["nodes"].size(), 2u);
  Reply unknown = Call("GET", "/api/v1/node?user=nobody");
  EXPECT_EQ(unknown.status, 500);
  EXPECT_EQ(unknown.body["message"], "record not found");
}

// §7.1 DELETE /api/v1/node/{id} → {}; the node is gone from list and get.
TEST_F(HeadscaleModuleTest, DeletedNodeIsGone) {
  Start("0.28");
  json key = CreateKey(CreateUser("lab"), /*reusable=*/true);
  ASSERT_EQ(Login(key["key"], "a").status, 200);
  ASSERT_EQ(Login(key["key"], "b").status, 200);
  EXPECT_EQ(Call("GET", "/api/v1/node/1").body["node"]["name"], "a");
  Reply deleted = Call("DELETE", "/api/v1/node/1");
  ASSERT_EQ(deleted.status, 200) << deleted.text;
  EXPECT_EQ(deleted.text, "{}");
  Reply list = Call("GET", "/api/v1/node");
  ASSERT_EQ(list.body["nodes"].size(), 1u);
  EXPECT_EQ(list.body["nodes"][0]["id"], "2");
  EXPECT_EQ(Call("GET", "/api/v1/node/1").status, 404);
}

// §7.1 unknown node id for get/delete: 500 "record not found" up to 0.26,
// 404 {"code":5,"message":"node not found"} from 0.27.
TEST_F(HeadscaleModuleTest, UnknownNodeIs500Before027And404From027) {
  Start("0.26");
  for (const char* method : {"GET", "DELETE"}) {
    Reply r = Call(method, "/api/v1/node/7");
    EXPECT_EQ(r.status, 500) << method;
    EXPECT_EQ(r.body["code"], 2) << method;
    EXPECT_EQ(r.body["message"], "record not found") << method;
  }
  module_.Stop();
  Start("0.27");
  for (const char* method : {"GET", "DELETE"}) {
    Reply r = Call(method, "/api/v1/node/7");
    EXPECT_EQ(r.status, 404) << method;
    EXPECT_EQ(r.body["code"], 5) << method;
    EXPECT_EQ(r.body["message"], "node not found") << method;
  }
}

// §7.5 (0.26+) approve_routes replaces the list, adds both exit prefixes,
// sorts; unknown node → 400.
TEST_F(HeadscaleModuleTest, ApproveRoutesReplacesTheSortedList) {
  Start("0.26");
  json key = CreateKey(CreateUser("lab"));
  ASSERT_EQ(Login(key["key"], "router").status, 200);
  Reply r = Call("POST", "/api/v1/node/1/approve_routes",
                 {{"routes", {"10.0.0.0/24", "0.0.0.0/0"}}});
  ASSERT_EQ(r.status, 200) << r.text;
  EXPECT_EQ(r.body["node"]["approvedRoutes"],
            json({"0.0.0.0/0", "10.0.0.0/24", "::/0"}));
  EXPECT_EQ(r.body["node"]["subnetRoutes"], json({"10.0.0.0/24"}));
  EXPECT_EQ(
      Call("POST", "/api/v1/node/9/approve_routes", {{"routes", json::array()}})
          .status,
      400);
}

// The lab's drop_reply fault over HTTPS (lab/faults/faults.proto): the user
// is created, the client sees a connection error, and a blind retry runs
// into §3's duplicate-user 500: what a client must handle by listing first.
TEST_F(HeadscaleModuleTest, DroppedReplyOfCreateUserStillCreatesTheUser) {
  Start("0.26", R"pb(rules {
                       name: "create-user-lost"
                       endpoint: "headscale:POST /api/v1/user"
                       nth_call: 1
                       drop_reply {}
                     })pb");
  httplib::Result lost =
      client_->Post("/api/v1/user", {{"Authorization", "Bearer " + api_key_}},
                    R"({"name":"lab"})", "application/json");
  EXPECT_FALSE(lost) << "got a response: " << lost->status;
  Reply listed = Call("GET", "/api/v1/user?name=lab");
  ASSERT_EQ(listed.body["users"].size(), 1u) << listed.text;
  EXPECT_EQ(Call("POST", "/api/v1/user", {{"name", "lab"}}).status, 500);
  std::vector<std::string> log;
  for (const RequestRecord& r : requests_.Records()) {
    log.push_back(
        absl::StrCat(r.method, " ", r.path, " ", r.status, " ", r.fault));
  }
  EXPECT_THAT(log,
              ElementsAre("POST /api/v1/user 0 create-user-lost",
                          "GET /api/v1/user 200 ", "POST /api/v1/user 500 "));
}

}  // namespace
}  // namespace coldstart::lab
