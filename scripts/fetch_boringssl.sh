#!/usr/bin/env bash
# Unpacks Debian's android-platform-external-boringssl source into third_party/boringssl/src.
# Uses a private deb-src list (the system's apt lists are left untouched) and checks the
# orig tarball's sha256. Idempotent: does nothing when the pinned source is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
readonly VERSION="13.0.0+r24-2"
readonly ORIG="android-platform-external-boringssl_13.0.0+r24.orig.tar.xz"
readonly SHA256="583b7aeee1fca68b8244d086cea6fca23bd19d517bd63f0b9de714e048f92a7d"
readonly DEST="third_party/boringssl/src"
readonly STAMP="$DEST/.coldstart-source"

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$VERSION $SHA256" ]]; then
  echo "boringssl: source $VERSION already unpacked"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n1)
mirror=${mirror:-http://deb.debian.org/debian}
mkdir -p "$work/parts" "$work/lists/partial"
echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror bookworm main" \
  >"$work/src.list"
apt_opts=(-o "Dir::Etc::SourceList=$work/src.list" -o "Dir::Etc::SourceParts=$work/parts"
  -o "Dir::State::Lists=$work/lists" -o "APT::Sandbox::User=root")
apt-get "${apt_opts[@]}" update -qq
(cd "$work" && apt-get "${apt_opts[@]}" source --download-only -qq \
  "android-platform-external-boringssl=$VERSION")
if ! echo "$SHA256  $work/$ORIG" | sha256sum -c --quiet -; then
  echo "boringssl: $ORIG does not have the pinned sha256 $SHA256" >&2
  exit 1
fi
rm -rf "$DEST"
mkdir -p "$DEST"
tar -xJf "$work/$ORIG" -C "$DEST" --strip-components=1
echo "$VERSION $SHA256" >"$STAMP"
echo "boringssl: unpacked source $VERSION into $DEST"
