// Each Debian library the build wires through pkg-config, used for something
// real: this target fails to compile, link or run when a -dev package is
// missing or mis-wired.
// gmock first: ldns/common.h defines `true`, `false` and `bool` as macros in
// C++, which breaks gmock-matchers.h when it comes after it. lib/ code must
// keep ldns out of headers.
// clang-format off
#include "gmock/gmock.h"
#include <ldns/ldns.h>
// clang-format on

#include <curl/curl.h>
#include <google/protobuf/text_format.h>
#include <google/protobuf/util/json_util.h>
#include <httplib.h>
#include <libsecret/secret.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <yaml-cpp/yaml.h>
#include <zlib.h>

#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "re2/re2.h"
#include "simdjson.h"
#include "tests/toolchain/echo.pb.h"

ABSL_FLAG(int, toolchain_nodes, 1, "a flag for the parse test");

namespace coldstart::toolchain {
namespace {

using ::testing::ElementsAre;

TEST(Abseil, FlagsAndStrings) {
  std::vector<char*> argv = {const_cast<char*>("prog"),
                             const_cast<char*>("--toolchain_nodes=5"),
                             const_cast<char*>("rest")};
  std::vector<char*> rest = absl::ParseCommandLine(argv.size(), argv.data());
  EXPECT_EQ(absl::GetFlag(FLAGS_toolchain_nodes), 5);
  EXPECT_EQ(rest.size(), 2u);
  std::vector<std::string> parts = absl::StrSplit("a,b,,c", ',');
  EXPECT_THAT(parts, ElementsAre("a", "b", "", "c"));
  EXPECT_EQ(absl::StrJoin(parts, "|"), "a|b||c");
}

TEST(Re2, CapturesAndReplace) {
  std::string node;
  int vmid = 0;
  ASSERT_TRUE(
      RE2::FullMatch("ctrl-2:1501", R"(([a-z]+-\d+):(\d+))", &node, &vmid));
  EXPECT_EQ(node, "ctrl-2");
  EXPECT_EQ(vmid, 1501);
  std::string text = "10.0.1.1 10.0.1.2";
  EXPECT_EQ(RE2::GlobalReplace(&text, R"(10\.)", "127."), 2);
  EXPECT_EQ(text, "127.0.1.1 127.0.1.2");
}

TEST(Protobuf, TextFormatAndJson) {
  EchoRequest request;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(
      R"pb(text: "hi"
           repeat: 3
           labels { key: "a" value: "b" })pb",
      &request));
  EXPECT_EQ(request.repeat(), 3);
  EchoRequest bad;
  EXPECT_FALSE(google::protobuf::TextFormat::ParseFromString("nope: 1", &bad));
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  ASSERT_TRUE(
      google::protobuf::util::MessageToJsonString(request, &json, options)
          .ok());
  EchoRequest back;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json, &back).ok());
  EXPECT_EQ(back.labels().at("a"), "b");
  EXPECT_FALSE(
      google::protobuf::util::JsonStringToMessage(R"({"unknown": 1})", &back)
          .ok());
}

TEST(YamlCpp, LoadEmitAndReject) {
  YAML::Node doc =
      YAML::Load("machine:\n  type: controlplane\n  port: 50000\n");
  EXPECT_EQ(doc["machine"]["type"].as<std::string>(), "controlplane");
  EXPECT_EQ(doc["machine"]["port"].as<int>(), 50000);
  YAML::Emitter out;
  out << doc;
  EXPECT_THAT(std::string(out.c_str()), ::testing::HasSubstr("controlplane"));
  EXPECT_THROW(YAML::Load("a: [1, 2"), YAML::ParserException);
}

TEST(LibXml2, ParsesRoute53StyleXml) {
  const std::string xml =
      R"(<?xml version="1.0"?><ChangeResourceRecordSetsResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><ChangeInfo><Id>/change/C1</Id><Status>PENDING</Status></ChangeInfo></ChangeResourceRecordSetsResponse>)";
  xmlDocPtr doc = xmlReadMemory(xml.data(), xml.size(), "r53.xml", nullptr,
                                XML_PARSE_NONET | XML_PARSE_NOBLANKS);
  ASSERT_NE(doc, nullptr);
  xmlNodePtr info = xmlDocGetRootElement(doc)->children;
  ASSERT_NE(info, nullptr);
  xmlChar* status = xmlNodeGetContent(info->children->next);
  EXPECT_STREQ(reinterpret_cast<const char*>(status), "PENDING");
  xmlFree(status);
  xmlFreeDoc(doc);
  EXPECT_EQ(xmlReadMemory("<a>", 3, "bad.xml", nullptr,
                          XML_PARSE_NONET | XML_PARSE_NOERROR),
            nullptr);
}

TEST(Zlib, CompressRoundTrip) {
  const std::string input(10000, 'k');
  uLongf packed_size = compressBound(input.size());
  std::vector<Bytef> packed(packed_size);
  ASSERT_EQ(
      compress(packed.data(), &packed_size,
               reinterpret_cast<const Bytef*>(input.data()), input.size()),
      Z_OK);
  EXPECT_LT(packed_size, input.size() / 10);
  std::string output(input.size(), '\0');
  uLongf output_size = output.size();
  ASSERT_EQ(uncompress(reinterpret_cast<Bytef*>(output.data()), &output_size,
                       packed.data(), packed_size),
            Z_OK);
  EXPECT_EQ(output, input);
}

TEST(Json, NlohmannAndSimdjsonAgree) {
  const std::string text =
      R"({"items":[{"metadata":{"name":"ctrl-1"}},{"metadata":{"name":"w-1"}}],"metadata":{"continue":""}})";
  nlohmann::json parsed = nlohmann::json::parse(text);
  EXPECT_EQ(parsed["items"][1]["metadata"]["name"], "w-1");
  simdjson::ondemand::parser parser;
  simdjson::padded_string padded(text);
  simdjson::ondemand::document doc = parser.iterate(padded);
  std::vector<std::string> names;
  for (auto item : doc["items"]) {
    std::string_view name = item["metadata"]["name"].get_string();
    names.emplace_back(name);
  }
  EXPECT_THAT(names, ElementsAre("ctrl-1", "w-1"));
  EXPECT_THROW(nlohmann::json::parse("{bad"), nlohmann::json::parse_error);
}

TEST(Ldns, RecordToWireAndBack) {
  ldns_rr* rr = nullptr;
  ASSERT_EQ(ldns_rr_new_frm_str(
                &rr, "ns1.test-cluster.agentydragon.com. 300 IN A 10.0.3.3",
                300, nullptr, nullptr),
            LDNS_STATUS_OK);
  EXPECT_EQ(ldns_rr_get_type(rr), LDNS_RR_TYPE_A);
  char* text = ldns_rdf2str(ldns_rr_rdf(rr, 0));
  EXPECT_STREQ(text, "10.0.3.3");
  free(text);
  ldns_rr_free(rr);
  rr = nullptr;
  EXPECT_NE(ldns_rr_new_frm_str(&rr, "ns1.example. 300 IN A 10.0.3.300", 300,
                                nullptr, nullptr),
            LDNS_STATUS_OK);
  EXPECT_EQ(rr, nullptr);
}

TEST(Libsecret, SchemaWithPlaybookAttributes) {
  SecretSchema* schema = secret_schema_new(
      "org.freedesktop.Secret.Generic", SECRET_SCHEMA_DONT_MATCH_NAME,
      "service", SECRET_SCHEMA_ATTRIBUTE_STRING, "key",
      SECRET_SCHEMA_ATTRIBUTE_STRING, nullptr);
  ASSERT_NE(schema, nullptr);
  EXPECT_STREQ(schema->attributes[0].name, "service");
  EXPECT_STREQ(schema->attributes[1].name, "key");
  secret_schema_unref(schema);
}

size_t AppendBody(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

TEST(CurlAndHttplib, GetOverLoopback) {
  httplib::Server server;
  server.Get("/api2/json/version", [](const httplib::Request&,
                                      httplib::Response& response) {
    response.set_content(R"({"data":{"version":"8.3.0"}})", "application/json");
  });
  const int port = server.bind_to_any_port("127.0.0.1");
  ASSERT_GT(port, 0);
  std::thread serving([&] { server.listen_after_bind(); });
  while (!server.is_running()) std::this_thread::yield();

  CURL* curl = curl_easy_init();
  ASSERT_NE(curl, nullptr);
  std::string body;
  const std::string url =
      "http://127.0.0.1:" + std::to_string(port) + "/api2/json/version";
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, AppendBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 10L);
  EXPECT_EQ(curl_easy_perform(curl), CURLE_OK);
  long code = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
  curl_easy_cleanup(curl);
  server.stop();
  serving.join();
  EXPECT_EQ(code, 200);
  EXPECT_EQ(nlohmann::json::parse(body)["data"]["version"], "8.3.0");
}

}  // namespace
}  // namespace coldstart::toolchain
