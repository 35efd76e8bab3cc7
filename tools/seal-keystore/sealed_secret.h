// The sealed-secrets object formats (facts/sealed-secrets.md §1-§4), with no
// keystore and no Kubernetes API: Secrets and SealedSecrets as YAML/JSON in
// and out, sealing and unsealing exactly as kubeseal and the controller do,
// and the controller's key Secrets (kubernetes.io/tls, tls.crt + tls.key).
//
// Errors: unusable input (YAML syntax, wrong kind, missing name or namespace,
// bad base64) is InvalidArgument with "SOURCE:LINE:COL" or "SOURCE: <kind>
// <ns>/<name>"; a value that no key opens is PermissionDenied "no key could
// decrypt secret" (a wrong key and a wrong label look the same, by design).
// No message ever contains a secret value or key material; data keys (the
// names in `data`) are not secret and are named.
#ifndef COLDSTART_TOOLS_SEAL_KEYSTORE_SEALED_SECRET_H_
#define COLDSTART_TOOLS_SEAL_KEYSTORE_SEALED_SECRET_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "lib/secrets/crypto.h"
#include "lib/secrets/secret.h"

namespace coldstart {

// --- Scope (facts §2) -------------------------------------------------------

enum class SealingScope { kStrict, kNamespaceWide, kClusterWide };

inline constexpr char kNamespaceWideAnnotation[] =
    "sealedsecrets.bitnami.com/namespace-wide";
inline constexpr char kClusterWideAnnotation[] =
    "sealedsecrets.bitnami.com/cluster-wide";
// The label selecting the controller's key Secrets (value "active").
inline constexpr char kSealingKeyLabel[] =
    "sealedsecrets.bitnami.com/sealed-secrets-key";

// "strict" | "namespace-wide" | "cluster-wide".
absl::string_view ScopeName(SealingScope scope);
// Inverse of ScopeName; InvalidArgument otherwise.
absl::StatusOr<SealingScope> ParseScope(absl::string_view name);

// The object metadata the formats below carry. Everything else in an input's
// metadata (uid, resourceVersion, managedFields, ownerReferences, ...) is
// dropped.
struct ObjectMeta {
  std::string name;
  std::string namespace_;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;

  // "namespace/name" (or "name" without a namespace), for messages.
  std::string Describe() const;
  friend bool operator==(const ObjectMeta& a, const ObjectMeta& b) {
    return a.name == b.name && a.namespace_ == b.namespace_ &&
           a.labels == b.labels && a.annotations == b.annotations;
  }
};

// The scope the annotations of `meta` declare (both set: cluster-wide wins;
// only the value "true" counts).
SealingScope ScopeOfAnnotations(const ObjectMeta& meta);
// The RSA-OAEP label of a value sealed with `scope` for `meta`: "ns/name",
// "ns" or empty.
std::string ScopeLabel(SealingScope scope, const ObjectMeta& meta);

// --- Secret (v1)
// --------------------------------------------------------------

struct SecretObject {
  ObjectMeta metadata;
  std::string type;  // Empty: Opaque.
  std::optional<bool> immutable;
  // The raw bytes of every entry: `data` base64-decoded, `stringData` as
  // UTF-8 (stringData wins for a key in both, as the API server does).
  std::map<std::string, Secret> data;
};

// Every Secret in `text` (YAML or JSON; several documents; a List or
// SecretList's items). `source` names the input in messages. A document of
// another kind is InvalidArgument; so is a Secret without a name.
absl::StatusOr<std::vector<SecretObject>> ParseSecrets(
    absl::string_view text, absl::string_view source);

// A Secret as YAML (keys sorted, data base64), starting with "---\n".
std::string FormatSecretYaml(const SecretObject& secret);

// --- SealedSecret (bitnami.com/v1alpha1) -----------------------------------

struct SealedSecretObject {
  ObjectMeta metadata;
  // spec.template
  ObjectMeta template_metadata;
  std::string template_type;
  std::optional<bool> template_immutable;
  // spec.template.data: Go templates over the decrypted values, kept as text.
  std::map<std::string, std::string> template_data;
  // spec.encryptedData: data key -> standard base64 of a HybridSeal blob.
  std::map<std::string, std::string> encrypted_data;
  // Legacy spec.data (one blob holding the whole Secret as JSON), base64.
  std::string legacy_data;
};

// A SealedSecret found in a file, with where it starts.
struct SealedSecretDocument {
  SealedSecretObject object;
  int line = 0;  // 1-based line of the document in its source.
};

// Every SealedSecret in `text` (several documents, List items); documents of
// other kinds are skipped. InvalidArgument for unparsable YAML or a
// SealedSecret without a name or spec.
absl::StatusOr<std::vector<SealedSecretDocument>> ParseSealedSecrets(
    absl::string_view text, absl::string_view source);

// The SealedSecret as kubeseal -o yaml writes it: "---" first, keys sorted,
// creationTimestamp: null, two-space indent.
std::string FormatSealedSecretYaml(const SealedSecretObject& sealed);

struct SealOptions {
  // Overrides the scope the Secret's annotations declare (kubeseal --scope).
  std::optional<SealingScope> scope;
  // Values of this SealedSecret that open (with `open_keys`, under the new
  // label) to exactly the value being sealed are kept byte for byte, so an
  // unchanged Secret re-seals without a diff.
  const SealedSecretObject* previous = nullptr;
  absl::Span<const PrivateKey> open_keys;
};

struct SealResult {
  SealedSecretObject sealed;
  std::vector<std::string> kept;      // Data keys whose ciphertext was kept.
  std::vector<std::string> resealed;  // Data keys sealed afresh.
};

// Seals `secret` for `certificate_key` (RSA) the way kubeseal does: each
// entry separately with the scope's label; the scope annotation on the
// SealedSecret's metadata and, with the Secret's other metadata (minus
// kubectl's last-applied annotation), on spec.template.metadata; type and
// immutable into the template. InvalidArgument when a non-cluster-wide scope
// lacks a namespace ("secret must declare a namespace").
absl::StatusOr<SealResult> SealSecret(const SecretObject& secret,
                                      const PublicKey& certificate_key,
                                      const SealOptions& options = {});

// Opens one value: the blob (base64) under `label` with each key in turn.
// InvalidArgument for bad base64 or a malformed blob; PermissionDenied "no
// key could decrypt secret" when none opens it. `opened_by` (optional) gets
// the index of the key that did.
absl::StatusOr<Secret> OpenSealedValue(absl::string_view base64_blob,
                                       absl::string_view label,
                                       absl::Span<const PrivateKey> keys,
                                       size_t* opened_by = nullptr);

// The Secret the controller would make from `sealed`: name, namespace and the
// label from the SealedSecret's own metadata, the template's labels,
// annotations, type and immutable, every encryptedData value decrypted (or
// the legacy spec.data). template.data (Go templates) is not rendered: its
// keys are reported as FailedPrecondition. PermissionDenied "data key K: no
// key could decrypt secret" on the first value that does not open.
absl::StatusOr<SecretObject> UnsealSecret(const SealedSecretObject& sealed,
                                          absl::Span<const PrivateKey> keys);

// --- The controller's key Secrets (facts §4) --------------------------------

struct KeySecret {
  ObjectMeta metadata;
  Secret private_key_pem;       // data.tls.key
  std::string certificate_pem;  // data.tls.crt
};

// Every sealing-key Secret in `text` (documents, Lists such as
// `kubectl get secret -l ... -o yaml`): a Secret with data tls.crt and
// tls.key that carries the sealed-secrets key label (any value) or whose
// name starts with "sealed-secrets-key". Other documents are skipped.
// InvalidArgument when such a Secret lacks tls.crt or tls.key or they are
// not base64. The PEM inside is not checked here.
absl::StatusOr<std::vector<KeySecret>> ParseKeySecrets(
    absl::string_view text, absl::string_view source);

// A YAML scalar as the formatters above write it: plain, or double-quoted
// when plain style would change its meaning ("true", "1", ": ") or break YAML.
std::string YamlScalar(absl::string_view value);

}  // namespace coldstart

#endif  // COLDSTART_TOOLS_SEAL_KEYSTORE_SEALED_SECRET_H_
