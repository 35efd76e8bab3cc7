#!/usr/bin/env bash
# Installs everything coldstart needs on Debian 12, and checks it. Idempotent: a second run
# changes nothing and takes about a second.
#
#   scripts/setup.sh                 install what is missing, check versions, fetch sources
#   scripts/setup.sh --check-only    only check the pinned versions (exit 1 on a mismatch)
#   scripts/setup.sh --packages F    use pin file F instead of scripts/debian-packages.txt
#
# Never starts system services: package installs run with a policy-rc.d that forbids it.
set -euo pipefail
cd "$(dirname "$0")/.."

pins=scripts/debian-packages.txt
check_only=0
while (($#)); do
  case "$1" in
    --check-only) check_only=1 ;;
    --packages) pins=$2; shift ;;
    -h | --help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[[ -r "$pins" ]] || { echo "setup.sh: cannot read pin file $pins" >&2; exit 2; }

say() { echo "setup: $*"; }
as_root() { if ((EUID == 0)); then "$@"; else sudo "$@"; fi; }

# package min max, one per line, comments stripped.
mapfile -t pin_lines < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$pins")
packages=()
for line in "${pin_lines[@]}"; do
  read -r name min max <<<"$line"
  if [[ -z "${max:-}" ]]; then
    echo "setup.sh: $pins: bad line '$line' (want: package min max)" >&2
    exit 2
  fi
  packages+=("$name")
done

declare -A versions=()
read_installed_versions() {  # one dpkg-query for all pinned packages
  versions=()
  local name status version
  while read -r name status version; do
    [[ "$status" == "installed" ]] && versions[$name]=$version
  done < <(dpkg-query -W -f='${Package} ${db:Status-Status} ${Version}\n' "${packages[@]}" 2>/dev/null || true)
}
installed_version() { echo "${versions[$1]:-}"; }
read_installed_versions

# 1. Install what is missing (apt-get update only then).
if ((!check_only)); then
  missing=()
  for name in "${packages[@]}"; do
    [[ -n "$(installed_version "$name")" ]] || missing+=("$name")
  done
  if ((${#missing[@]})); then
    say "installing ${#missing[@]} missing package(s): ${missing[*]}"
    policy=/usr/sbin/policy-rc.d
    created_policy=0
    if [[ ! -e $policy ]]; then
      printf '#!/bin/sh\n# coldstart setup: no service starts during package installs\nexit 101\n' |
        as_root tee "$policy" >/dev/null
      as_root chmod 755 "$policy"
      created_policy=1
    fi
    cleanup_policy() { if ((created_policy)); then as_root rm -f "$policy"; fi; }
    trap cleanup_policy EXIT
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      "${missing[@]}" >/dev/null
    cleanup_policy
    trap - EXIT
    read_installed_versions
    say "installed: ${missing[*]}"
  else
    say "all ${#packages[@]} pinned Debian packages already installed"
  fi
fi

# 2. Check every pinned package against its upstream version range.
bad=0
for line in "${pin_lines[@]}"; do
  read -r name min max _ <<<"$line"
  version=$(installed_version "$name")
  if [[ -z "$version" ]]; then
    echo "setup: $name is not installed (expected upstream version in [$min, $max))" >&2
    bad=1
    continue
  fi
  upstream=${version#*:}        # drop the epoch
  upstream=${upstream%-*}       # drop the Debian revision
  if ! dpkg --compare-versions "$upstream" ge "$min" || ! dpkg --compare-versions "$upstream" lt "$max"; then
    echo "setup: $name: expected upstream version in [$min, $max), found $upstream (Debian $version)" >&2
    bad=1
  fi
done
if ((bad)); then
  echo "setup: version check failed; fix the packages above or update $pins deliberately" >&2
  exit 1
fi
say "versions: all ${#packages[@]} packages inside their pinned ranges"
((check_only)) && exit 0

# 3. npm (for buildifier): use the machine's, or Debian's when there is none.
if ! command -v npm >/dev/null; then
  say "npm not found; installing Debian's nodejs + npm"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi

# 4. BoringSSL source, through apt (pinned version + sha256).
bash scripts/fetch_boringssl.sh | sed 's/^/setup: /'

# 5. buildifier from the npm registry, pinned by package.json + package-lock.json.
want_buildifier=$(sed -n 's/.*"@bazel\/buildifier": "\(.*\)".*/\1/p' package.json)
have_buildifier=$(node_modules/.bin/buildifier --version 2>/dev/null | sed -n 's/^buildifier version: \([^ ]*\).*/\1/p' || true)
if [[ "$have_buildifier" == "$want_buildifier" ]]; then
  say "buildifier $want_buildifier already installed"
else
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
  say "installed buildifier $(node_modules/.bin/buildifier --version | sed -n 's/^buildifier version: //p')"
fi

# 6. Real clients that do not come from Debian's archive.
if command -v kubectl >/dev/null; then
  say "kubectl: $(kubectl version --client 2>/dev/null | head -n1)"
else
  say "kubectl: not found (preinstalled on the coldstart machine image; tests that drive it will fail)"
fi
say "done"
