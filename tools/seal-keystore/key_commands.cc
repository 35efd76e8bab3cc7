#include "tools/seal-keystore/key_commands.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "lib/base/status_macros.h"
#include "lib/base/time_format.h"
#include "tools/seal-keystore/sealed_secret.h"

namespace coldstart {
namespace {

absl::Status Init(SealKeystoreCommand& command) {
  const SealKeystoreOptions& options = command.options();
  if (options.validity <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--validity must be positive");
  }
  ASSIGN_OR_RETURN(Keystore * keystore, command.keystore());
  ASSIGN_OR_RETURN(std::vector<SealingKeyPair> keys,
                   LoadSealingKeyPairs(*keystore));
  if (!keys.empty()) {
    command.Note(absl::StrCat("keystore ", keystore->Describe(),
                              " already holds ", keys.size(),
                              " sealing key(s), newest ", DescribeKey(keys[0]),
                              "; nothing to do (init never replaces a key)"));
    return absl::OkStatus();
  }
  if (command.dry_run()) {
    command.run().Plan(absl::StrCat(
        "generate an RSA-", options.rsa_bits,
        " sealing key with a self-signed certificate CN=", options.common_name,
        " valid until ", Rfc3339(command.Now() + options.validity), " in ",
        keystore->Describe()));
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(PrivateKey key, PrivateKey::GenerateRsa(options.rsa_bits));
  ASSIGN_OR_RETURN(Certificate certificate,
                   command.IssueSealingCertificate(key));
  ASSIGN_OR_RETURN(Secret pem, key.ToPem(PrivateKeyPem::kTalos));
  ASSIGN_OR_RETURN(
      SealingKeyPair pair,
      CheckSealingKey(SealingKey{std::move(pem), certificate.ToPem()},
                      "generated key"));
  RETURN_IF_ERROR(AddSealingKey(*keystore, pair.stored));
  command.Note(absl::StrCat("generated sealing ", DescribeKey(pair), " in ",
                            keystore->Describe(), "; certificate SHA-256 ",
                            CertificateSha256Hex(pair.certificate)));
  return absl::OkStatus();
}

struct PemBlock {
  std::string type;
  std::string text;  // The whole block, BEGIN to END line.
};

std::vector<PemBlock> SplitPem(absl::string_view text) {
  std::vector<PemBlock> blocks;
  size_t pos = 0;
  while ((pos = text.find("-----BEGIN ", pos)) != absl::string_view::npos) {
    const size_t type_end = text.find("-----", pos + 11);
    if (type_end == absl::string_view::npos) break;
    const std::string type(text.substr(pos + 11, type_end - pos - 11));
    const std::string end_marker = absl::StrCat("-----END ", type, "-----");
    const size_t end = text.find(end_marker, type_end);
    if (end == absl::string_view::npos) break;
    blocks.push_back(
        {type,
         std::string(text.substr(pos, end + end_marker.size() - pos)) + "\n"});
    pos = end + end_marker.size();
  }
  return blocks;
}

// What the import inputs hold: key Secrets (already paired) and loose PEM
// keys and certificates (paired by public key afterwards).
struct ImportInputs {
  std::vector<SealingKeyPair> pairs;
  std::vector<PrivateKey> pem_keys;
  std::vector<Secret> pem_key_texts;
  std::vector<Certificate> pem_certificates;
};

absl::Status ReadKeySecrets(const std::string& path, const Secret& content,
                            ImportInputs& inputs) {
  ASSIGN_OR_RETURN(std::vector<KeySecret> secrets,
                   ParseKeySecrets(content.Reveal(), path));
  if (secrets.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        path,
        ": neither PEM nor a sealed-secrets key Secret (a Secret labelled ",
        kSealingKeyLabel, " with tls.crt and tls.key)"));
  }
  for (KeySecret& secret : secrets) {
    ASSIGN_OR_RETURN(
        SealingKeyPair pair,
        CheckSealingKey(
            SealingKey{std::move(secret.private_key_pem),
                       std::move(secret.certificate_pem)},
            absl::StrCat(path, ": Secret ", secret.metadata.Describe())));
    inputs.pairs.push_back(std::move(pair));
  }
  return absl::OkStatus();
}

absl::Status ReadPemBlocks(const std::string& path,
                           std::vector<PemBlock> blocks, ImportInputs& inputs) {
  for (PemBlock& block : blocks) {
    if (block.type == "CERTIFICATE") {
      absl::StatusOr<Certificate> certificate =
          Certificate::FromPem(block.text);
      if (!certificate.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat(path, ": a CERTIFICATE block that is not readable: ",
                         certificate.status().message()));
      }
      inputs.pem_certificates.push_back(*std::move(certificate));
    } else if (absl::EndsWith(block.type, "PRIVATE KEY")) {
      Secret pem(std::move(block.text));
      absl::StatusOr<PrivateKey> key = PrivateKey::FromPem(pem);
      if (!key.ok() || key->type() != KeyType::kRsa) {
        return absl::InvalidArgumentError(
            absl::StrCat(path, ": a ", block.type,
                         " block that is not a readable RSA private key"));
      }
      inputs.pem_keys.push_back(*key);
      inputs.pem_key_texts.push_back(std::move(pem));
    } else {
      WipeBytes(block.text.data(), block.text.size());
    }
  }
  return absl::OkStatus();
}

// Pairs PEM keys with certificates by public key (the latest NotAfter
// wins); a key without one gets a fresh self-signed certificate.
absl::Status PairPemKeys(SealKeystoreCommand& command, ImportInputs& inputs) {
  std::vector<bool> certificate_used(inputs.pem_certificates.size(), false);
  for (size_t i = 0; i < inputs.pem_keys.size(); ++i) {
    std::optional<Certificate> match;
    for (size_t j = 0; j < inputs.pem_certificates.size(); ++j) {
      const Certificate& certificate = inputs.pem_certificates[j];
      absl::StatusOr<PublicKey> public_key = certificate.public_key();
      if (public_key.ok() && *public_key == inputs.pem_keys[i].public_key()) {
        if (!match.has_value() ||
            certificate.not_after() > match->not_after()) {
          match = certificate;
        }
        certificate_used[j] = true;
      }
    }
    if (!match.has_value()) {
      ASSIGN_OR_RETURN(match,
                       command.IssueSealingCertificate(inputs.pem_keys[i]));
      command.Note(absl::StrCat(
          "a private key had no certificate among the inputs; issued a "
          "self-signed one, CN=",
          command.options().common_name));
    }
    ASSIGN_OR_RETURN(
        SealingKeyPair pair,
        CheckSealingKey(
            SealingKey{std::move(inputs.pem_key_texts[i]), match->ToPem()},
            "PEM input"));
    inputs.pairs.push_back(std::move(pair));
  }
  for (size_t j = 0; j < inputs.pem_certificates.size(); ++j) {
    if (!certificate_used[j]) {
      return absl::InvalidArgumentError(absl::StrCat(
          "certificate ", inputs.pem_certificates[j].SubjectString(),
          " has no private key among the inputs"));
    }
  }
  return absl::OkStatus();
}

absl::Status Import(SealKeystoreCommand& command) {
  ImportInputs inputs;
  for (const std::string& path : command.options().args) {
    ASSIGN_OR_RETURN(std::string text, command.ReadInput(path));
    Secret content(std::move(text));
    std::vector<PemBlock> blocks = SplitPem(content.Reveal());
    if (blocks.empty()) {
      RETURN_IF_ERROR(ReadKeySecrets(path, content, inputs));
    } else {
      RETURN_IF_ERROR(ReadPemBlocks(path, std::move(blocks), inputs));
    }
  }
  RETURN_IF_ERROR(PairPemKeys(command, inputs));
  if (inputs.pairs.empty()) {
    return absl::InvalidArgumentError("no private key in the inputs");
  }
  ASSIGN_OR_RETURN(Keystore * keystore, command.keystore());
  ASSIGN_OR_RETURN(
      std::vector<std::string> added,
      MergeSealingKeys(*keystore, inputs.pairs, command.dry_run()));
  command.Note(absl::StrCat(
      command.dry_run() ? "dry run: would import " : "imported ", added.size(),
      " new key(s)", added.empty() ? "" : ": ", absl::StrJoin(added, ", "),
      "; ", inputs.pairs.size() - added.size(), " already in ",
      keystore->Describe()));
  return absl::OkStatus();
}

absl::Status Cert(SealKeystoreCommand& command) {
  ASSIGN_OR_RETURN(std::vector<SealingKeyPair> keys, command.RequireKeys());
  if (keys[0].certificate.not_after() <= command.Now()) {
    command.Note(absl::StrCat("warning: the certificate expired at ",
                              Rfc3339(keys[0].certificate.not_after()),
                              "; kubeseal refuses it; run `seal-keystore "
                              "renew-cert`"));
  }
  command.run().out() << keys[0].certificate.ToPem();
  return absl::OkStatus();
}

absl::Status RenewCert(SealKeystoreCommand& command) {
  const SealKeystoreOptions& options = command.options();
  ASSIGN_OR_RETURN(std::vector<SealingKeyPair> keys, command.RequireKeys());
  const SealingKeyPair& newest = keys[0];
  const absl::Time expires = newest.certificate.not_after();
  if (!options.force && expires - command.Now() > options.renew_before) {
    command.Note(absl::StrCat("certificate of ", newest.id, " valid until ",
                              Rfc3339(expires), "; nothing to do"));
    return absl::OkStatus();
  }
  if (command.dry_run()) {
    command.run().Plan(absl::StrCat("re-issue the certificate of ", newest.id,
                                    " (expires ", Rfc3339(expires), ") for ",
                                    absl::FormatDuration(options.validity)));
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(Certificate renewed,
                   command.IssueSealingCertificate(newest.key));
  ASSIGN_OR_RETURN(Keystore * keystore, command.keystore());
  RETURN_IF_ERROR(keystore->Store(
      SealingKeyAttributes(SealingKeyPart::kCertificate),
      "sealed-secrets certificate", Secret::FromView(renewed.ToPem())));
  command.Note(absl::StrCat("re-issued the certificate of ", newest.id,
                            " from the same key, valid until ",
                            Rfc3339(renewed.not_after()), "; SHA-256 ",
                            CertificateSha256Hex(renewed)));
  return absl::OkStatus();
}

// The arguments, then `body` as the step named after the subcommand.
absl::Status KeyCommand(SealKeystoreCommand& command, size_t min, size_t max,
                        absl::string_view usage,
                        absl::Status (*body)(SealKeystoreCommand&)) {
  RETURN_IF_ERROR(command.RequireNoCluster());
  RETURN_IF_ERROR(command.RequireArgs(min, max, usage));
  return command.Step(command.options().command, [&] { return body(command); });
}

}  // namespace

absl::Status RunInit(SealKeystoreCommand& command) {
  return KeyCommand(command, 0, 0, "[--validity 87600h]", Init);
}

absl::Status RunImport(SealKeystoreCommand& command) {
  return KeyCommand(command, 1, 1000,
                    "FILE... (PEM key/certificate files or key Secrets as "
                    "YAML/JSON)",
                    Import);
}

absl::Status RunCert(SealKeystoreCommand& command) {
  return KeyCommand(command, 0, 0, "", Cert);
}

absl::Status RunRenewCert(SealKeystoreCommand& command) {
  return KeyCommand(command, 0, 0, "[--renew_before 720h] [--force]",
                    RenewCert);
}

}  // namespace coldstart
