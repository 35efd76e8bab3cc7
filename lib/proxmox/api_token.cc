#include "lib/proxmox/api_token.h"

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "lib/base/file.h"

namespace coldstart {

std::string ProxmoxTokenId::ToString() const {
  return absl::StrCat(userid, "!", token);
}

absl::StatusOr<ProxmoxTokenId> ParseProxmoxTokenId(absl::string_view text) {
  const size_t bang = text.find('!');
  if (bang == absl::string_view::npos ||
      text.find('!', bang + 1) != absl::string_view::npos || bang == 0 ||
      bang + 1 == text.size() ||
      text.substr(0, bang).find('@') == absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", Abbreviate(text),
                     "\" is not a Proxmox token id (user@realm!tokenid)"));
  }
  return ProxmoxTokenId{std::string(text.substr(0, bang)),
                        std::string(text.substr(bang + 1))};
}

absl::StatusOr<ProxmoxApiToken> ParseProxmoxApiToken(const Secret& stored) {
  const absl::string_view value = absl::StripAsciiWhitespace(stored.Reveal());
  ProxmoxApiToken token;
  absl::string_view secret = value;
  const size_t bang = value.find('!');
  if (bang != absl::string_view::npos) {
    const size_t equals = value.find('=', bang);
    if (equals == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          "a stored Proxmox token with a token id but no \"=secret\" (want "
          "user@realm!tokenid=secret or the bare secret)");
    }
    absl::StatusOr<ProxmoxTokenId> id =
        ParseProxmoxTokenId(value.substr(0, equals));
    // Not quoted: a mangled value may hold part of the secret.
    if (!id.ok()) {
      return absl::InvalidArgumentError(
          "the token id of a stored Proxmox token is not user@realm!tokenid");
    }
    token.id = *std::move(id);
    secret = value.substr(equals + 1);
  }
  if (secret.empty()) {
    return absl::InvalidArgumentError("a stored Proxmox token has no secret");
  }
  token.secret = Secret::FromView(secret);
  return token;
}

}  // namespace coldstart
