#include "lib/proxmox/csi_plugin_config.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "lib/base/status_macros.h"
#include "lib/yaml/yaml_scalar.h"

namespace coldstart {
namespace {

bool NamesCsi(absl::string_view text) {
  return absl::StrContains(absl::AsciiStrToLower(text), "csi");
}

// A user that may hold the CSI token, and the token an ACL with a CSI role
// names (-1: none named).
struct Candidate {
  int user = 0;
  int named_token = -1;
  bool by_acl = false;
};

bool IsCredentialOfTheTools(const v1::ProxmoxSpec& proxmox,
                            const v1::ProxmoxToken& token) {
  const std::string& key = token.secret().key();
  return !key.empty() && (key == proxmox.admin_credentials().key() ||
                          key == proxmox.provisioning_credentials().key());
}

std::vector<Candidate> Candidates(const v1::ProxmoxSpec& proxmox) {
  std::vector<Candidate> candidates;
  for (int i = 0; i < proxmox.users_size(); ++i) {
    const v1::ProxmoxUser& user = proxmox.users(i);
    bool usable = false;
    for (const v1::ProxmoxToken& token : user.tokens()) {
      usable |= !IsCredentialOfTheTools(proxmox, token);
    }
    if (!usable) continue;
    Candidate candidate{i, -1, false};
    for (const v1::ProxmoxAcl& acl : user.acls()) {
      if (!NamesCsi(acl.role())) continue;
      candidate.by_acl = true;
      for (int j = 0; j < user.tokens_size(); ++j) {
        if (!acl.token_id().empty() &&
            user.tokens(j).token_id() == acl.token_id()) {
          candidate.named_token = j;
        }
      }
    }
    if (candidate.by_acl || NamesCsi(user.userid())) {
      candidates.push_back(candidate);
    }
  }
  // ACL matches win over userid matches.
  std::vector<Candidate> by_acl;
  for (const Candidate& candidate : candidates) {
    if (candidate.by_acl) by_acl.push_back(candidate);
  }
  return by_acl.empty() ? candidates : by_acl;
}

}  // namespace

absl::StatusOr<CsiToken> FindCsiToken(const v1::ProxmoxSpec& proxmox) {
  const std::vector<Candidate> candidates = Candidates(proxmox);
  if (candidates.empty()) {
    return absl::InvalidArgumentError(
        "spec.proxmox.users: no user with a token (other than the admin and "
        "provisioning credentials) is granted a role named like *csi* or has "
        "a userid naming csi; the Proxmox CSI plugin needs one");
  }
  if (candidates.size() > 1) {
    std::vector<std::string> names;
    for (const Candidate& candidate : candidates) {
      names.push_back(proxmox.users(candidate.user).userid());
    }
    return absl::InvalidArgumentError(absl::StrCat(
        "spec.proxmox.users: more than one user could hold the Proxmox CSI "
        "token (",
        absl::StrJoin(names, ", "),
        "); grant a role named like *csi* to exactly one"));
  }
  const Candidate& chosen = candidates[0];
  const v1::ProxmoxUser& user = proxmox.users(chosen.user);
  int token_index = chosen.named_token;
  for (int j = 0; token_index < 0 && j < user.tokens_size(); ++j) {
    if (!IsCredentialOfTheTools(proxmox, user.tokens(j))) token_index = j;
  }
  const v1::ProxmoxToken& token = user.tokens(token_index);
  CsiToken result;
  result.id = ProxmoxTokenId{user.userid(), token.token_id()};
  result.spec_path = absl::StrCat("spec.proxmox.users[", chosen.user,
                                  "].tokens[", token_index, "]");
  result.keystore_key = token.secret().key();
  if (result.keystore_key.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(result.spec_path, ".secret: the CSI token (",
                     result.id.ToString(), ") names no keystore item"));
  }
  return result;
}

absl::StatusOr<CsiPluginConfig> BuildCsiPluginConfig(
    const v1::ProxmoxSpec& proxmox, const Secret& stored_token) {
  ASSIGN_OR_RETURN(CsiToken csi, FindCsiToken(proxmox));
  if (proxmox.endpoint().empty() || proxmox.region().empty()) {
    return absl::InvalidArgumentError(
        "spec.proxmox.endpoint and spec.proxmox.region are required for the "
        "Proxmox CSI plugin's config");
  }
  absl::StatusOr<ProxmoxApiToken> token = ParseProxmoxApiToken(stored_token);
  if (!token.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("keystore item ", csi.keystore_key, " (the CSI token ",
                     csi.id.ToString(), "): ", token.status().message()));
  }
  if (token->id.has_value() && !(*token->id == csi.id)) {
    return absl::InvalidArgumentError(
        absl::StrCat("keystore item ", csi.keystore_key, " holds a token of ",
                     token->id->ToString(), ", but ", csi.spec_path, " is ",
                     csi.id.ToString()));
  }
  for (char c : token->secret.Reveal()) {
    if (!absl::ascii_isgraph(static_cast<unsigned char>(c))) {
      return absl::InvalidArgumentError(
          absl::StrCat("keystore item ", csi.keystore_key, " (the CSI token ",
                       csi.id.ToString(),
                       "): the secret holds a space or control character"));
    }
  }

  CsiPluginConfig config;
  const bool private_trust =
      !proxmox.ca_file().empty() || !proxmox.cert_sha256().empty();
  if (proxmox.csi_insecure()) {
    config.insecure = true;
    config.warning = absl::StrCat(
        "warning: the Proxmox CSI plugin will not verify the TLS certificate "
        "of ",
        proxmox.endpoint(),
        " (spec.proxmox.csi_insecure is set; the plugin's config has no CA "
        "field)");
  } else if (private_trust) {
    return absl::FailedPreconditionError(absl::StrCat(
        "spec.proxmox trusts ", proxmox.endpoint(), " through ",
        proxmox.ca_file().empty()
            ? "a pinned certificate (cert_sha256)"
            : absl::StrCat("a private CA (ca_file ", proxmox.ca_file(), ")"),
        ", but the Proxmox CSI plugin's config.yaml has no CA field: the "
        "plugin could reach it only with TLS verification off. Give Proxmox "
        "a publicly trusted certificate, or set spec.proxmox.csi_insecure: "
        "true to accept that the plugin skips verification"));
  }
  std::string yaml =
      absl::StrCat("clusters:\n- url: ", GoYamlScalar(proxmox.endpoint()),
                   "\n  insecure: ", config.insecure ? "true" : "false",
                   "\n  token_id: ", GoYamlScalar(csi.id.ToString()),
                   "\n  token_secret: \"");
  // Quoted here rather than by GoYamlScalar, and reserved so that appending
  // does not reallocate: no unwiped copy of the secret is left behind.
  yaml.reserve(yaml.size() + 2 * token->secret.size() + 16 +
               2 * proxmox.region().size());
  for (char c : token->secret.Reveal()) {
    if (c == '"' || c == '\\') yaml.push_back('\\');
    yaml.push_back(c);
  }
  absl::StrAppend(&yaml, "\"\n  region: ", GoYamlScalar(proxmox.region()),
                  "\n");
  config.config_yaml = Secret(std::move(yaml));
  return config;
}

}  // namespace coldstart
