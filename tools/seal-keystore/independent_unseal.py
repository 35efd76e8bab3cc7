#!/usr/bin/python3
"""An independent sealed-secrets decryptor, written from facts/sealed-secrets.md
§1-§2 with python3-cryptography (Debian), sharing no code with seal-keystore.

usage: independent_unseal.py KEY.pem SEALED.yaml
Prints "<data key>=<base64 of plaintext>" per value, sorted; exits 1 with a
message when a value does not decrypt, 2 on bad input.
"""
import base64
import struct
import sys

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


def parse_sealed(text):
    """The few fields we need from kubeseal-shaped YAML, without a YAML
    library (python3-yaml is not a dependency): metadata name, namespace,
    annotations and spec.encryptedData (block style, 2-space indent)."""
    meta, annotations, data = {}, {}, {}
    path = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("---"):
            continue
        indent = (len(line) - len(line.lstrip(" "))) // 2
        key, _, value = line.strip().partition(":")
        value = value.strip()
        if value.startswith('"') and value.endswith('"'):
            value = value[1:-1]
        path = path[:indent] + [key]
        if path[:1] == ["metadata"] and len(path) == 2 and value:
            meta[key] = value
        elif path[:2] == ["metadata", "annotations"] and len(path) == 3:
            annotations[key] = value
        elif path[:2] == ["spec", "encryptedData"] and len(path) == 3:
            data[key] = value
    return meta, annotations, data


def label_for(meta, annotations):
    if annotations.get("sealedsecrets.bitnami.com/cluster-wide") == "true":
        return b""
    if annotations.get("sealedsecrets.bitnami.com/namespace-wide") == "true":
        return meta.get("namespace", "").encode()
    return ("%s/%s" % (meta.get("namespace", ""), meta.get("name", ""))).encode()


def open_blob(private_key, blob, label):
    if len(blob) < 2:
        raise ValueError("too short")
    (n,) = struct.unpack(">H", blob[:2])
    if len(blob) < 2 + n:
        raise ValueError("too short")
    session_key = private_key.decrypt(
        blob[2:2 + n],
        padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()),
                     algorithm=hashes.SHA256(), label=label or None))
    return AESGCM(session_key).decrypt(b"\0" * 12, blob[2 + n:], None)


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    with open(sys.argv[1], "rb") as f:
        private_key = serialization.load_pem_private_key(f.read(), password=None)
    with open(sys.argv[2]) as f:
        meta, annotations, data = parse_sealed(f.read())
    if not data:
        print("no spec.encryptedData", file=sys.stderr)
        return 2
    label = label_for(meta, annotations)
    for key in sorted(data):
        try:
            plaintext = open_blob(private_key, base64.b64decode(data[key]), label)
        except Exception as e:  # noqa: BLE001 - any failure means "does not open"
            print("%s: does not decrypt (%s)" % (key, type(e).__name__),
                  file=sys.stderr)
            return 1
        print("%s=%s" % (key, base64.b64encode(plaintext).decode()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
