#include "lib/net/ipv4.h"

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace coldstart {

std::optional<uint32_t> ParseIpv4(absl::string_view text) {
  std::vector<absl::string_view> parts = absl::StrSplit(text, '.');
  if (parts.size() != 4) return std::nullopt;
  uint32_t address = 0;
  for (absl::string_view part : parts) {
    if (part.empty() || part.size() > 3) return std::nullopt;
    if (part.size() > 1 && part[0] == '0') return std::nullopt;
    uint32_t octet = 0;
    for (char c : part) {
      if (c < '0' || c > '9') return std::nullopt;
      octet = octet * 10 + static_cast<uint32_t>(c - '0');
    }
    if (octet > 255) return std::nullopt;
    address = (address << 8) | octet;
  }
  return address;
}

std::string FormatIpv4(uint32_t address) {
  return absl::StrCat(address >> 24, ".", (address >> 16) & 0xff, ".",
                      (address >> 8) & 0xff, ".", address & 0xff);
}

std::string Ipv4Prefix::ToString() const {
  return absl::StrCat(FormatIpv4(network), "/", length);
}

std::optional<Ipv4Prefix> ParseIpv4Prefix(absl::string_view text) {
  const size_t slash = text.find('/');
  if (slash == absl::string_view::npos) return std::nullopt;
  std::optional<uint32_t> address = ParseIpv4(text.substr(0, slash));
  absl::string_view length_text = text.substr(slash + 1);
  if (!address || length_text.empty() || length_text.size() > 2) {
    return std::nullopt;
  }
  for (char c : length_text) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  int length = 0;
  if (!absl::SimpleAtoi(length_text, &length) || length > 32) {
    return std::nullopt;
  }
  Ipv4Prefix prefix{*address, length};
  if ((*address & prefix.Mask()) != *address) return std::nullopt;
  return prefix;
}

}  // namespace coldstart
