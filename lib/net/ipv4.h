// IPv4 addresses and prefixes as they appear in a Cluster spec: dotted-quad
// text ("10.0.1.1") and CIDR text ("10.0.0.0/16").
#ifndef COLDSTART_LIB_NET_IPV4_H_
#define COLDSTART_LIB_NET_IPV4_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace coldstart {

// Parses strict dotted-quad text: four decimal octets 0..255, no leading
// zeros (so "010.0.0.1" is rejected rather than guessed), nothing else.
std::optional<uint32_t> ParseIpv4(absl::string_view text);
std::string FormatIpv4(uint32_t address);

struct Ipv4Prefix {
  uint32_t network = 0;  // host bits are zero
  int length = 0;        // 0..32

  uint32_t Mask() const {
    return length == 0 ? 0 : ~uint32_t{0} << (32 - length);
  }
  uint32_t Broadcast() const { return network | ~Mask(); }
  bool Contains(uint32_t address) const {
    return (address & Mask()) == network;
  }
  bool Overlaps(const Ipv4Prefix& other) const {
    return Contains(other.network) || other.Contains(network);
  }
  std::string ToString() const;
};

// Parses "A.B.C.D/N". Rejects prefixes whose host bits are not zero
// ("10.0.0.1/16"): in a spec that is almost always a typo.
std::optional<Ipv4Prefix> ParseIpv4Prefix(absl::string_view text);

}  // namespace coldstart

#endif  // COLDSTART_LIB_NET_IPV4_H_
