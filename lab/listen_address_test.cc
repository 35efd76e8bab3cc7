#include "lab/listen_address.h"

#include "gtest/gtest.h"

namespace coldstart::lab {
namespace {

TEST(ParseHostPort, AcceptsHostAndPort) {
  absl::StatusOr<HostPort> parsed = ParseHostPort("127.0.10.1:8006", "pve");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->host, "127.0.10.1");
  EXPECT_EQ(parsed->port, 8006);
}

TEST(ParseHostPort, RejectsWhatIsNotHostPort) {
  for (const char* bad : {"127.0.0.1", ":80", "host:", "host:x", "h:70000"}) {
    absl::StatusOr<HostPort> parsed = ParseHostPort(bad, "echo");
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument)
        << bad;
    EXPECT_EQ(parsed.status().message(),
              std::string("echo: address \"") + bad + "\" is not HOST:PORT");
  }
}

TEST(ModuleListenAddress, OptionThenUrlThenDefault) {
  ModuleContext context;
  absl::StatusOr<HostPort> from_url = ModuleListenAddress(
      context, "pve", "https://127.0.10.1:8006/api2/json", "127.0.0.9:1");
  ASSERT_TRUE(from_url.ok()) << from_url.status();
  EXPECT_EQ(from_url->host, "127.0.10.1");
  EXPECT_EQ(from_url->port, 8006);

  absl::StatusOr<HostPort> default_port =
      ModuleListenAddress(context, "factory", "https://127.0.10.2/", "x:1");
  ASSERT_TRUE(default_port.ok()) << default_port.status();
  EXPECT_EQ(default_port->port, 443);

  absl::StatusOr<HostPort> fallback =
      ModuleListenAddress(context, "echo", "", "127.0.10.250:8080");
  ASSERT_TRUE(fallback.ok()) << fallback.status();
  EXPECT_EQ(fallback->port, 8080);

  context.options["address"] = "127.0.0.5:9";
  absl::StatusOr<HostPort> option = ModuleListenAddress(
      context, "pve", "https://127.0.10.1:8006/api2/json", "127.0.0.9:1");
  ASSERT_TRUE(option.ok()) << option.status();
  EXPECT_EQ(option->host, "127.0.0.5");
  EXPECT_EQ(option->port, 9);
}

TEST(ModuleListenAddress, RejectsNonHttpsEndpoints) {
  ModuleContext context;
  absl::StatusOr<HostPort> plain =
      ModuleListenAddress(context, "headscale", "http://127.0.10.3:8080", "");
  EXPECT_EQ(plain.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(plain.status().message(),
            "headscale: endpoint \"http://127.0.10.3:8080\" is not an https "
            "URL");
}

}  // namespace
}  // namespace coldstart::lab
