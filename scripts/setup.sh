#!/usr/bin/env bash
# Everything kvmgr needs on a Debian 12 host, installed where missing; quick when all is there.
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "kvmgr setup: $*" >&2; exit 1; }

# Run through npm (npm test, npm start), the command to repeat as root is npm's, not this script.
again="${npm_lifecycle_event:+npm $npm_lifecycle_event}"
[ "$(id -u)" = 0 ] || die "run as root: kvmgr creates bridges, taps and network namespaces (try: sudo ${again:-$0})."
# The test guest is built from Debian packages with apt and dpkg: without them there is no set-up.
command -v apt-get >/dev/null && command -v dpkg-query >/dev/null \
  || die "this is not Debian: kvmgr's set-up needs Debian 12 with Node.js 20+, where it installs qemu-system-x86, qemu-utils, dnsmasq-base, nftables, iproute2, tcpdump, busybox-static, qemu-guest-agent, cpio, kmod and osinfo-db with apt and builds the test guest from Debian packages."
grep -q '^12' /etc/debian_version 2>/dev/null \
  || echo "kvmgr setup: this is not Debian 12 but has apt: going on with its packages (tested on Debian 12 only)." >&2
command -v node >/dev/null || die "Node.js 20 or newer is missing: install it (e.g. from NodeSource or the nodejs package of Debian 13)."
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' || die "Node.js $(node -v) is too old: kvmgr needs 20 or newer."

# chromium and a CJK font: the browser tests (and their Chinese screenshots).
PKGS=(qemu-system-x86 qemu-utils dnsmasq-base nftables iproute2 procps iputils-ping tcpdump busybox-static qemu-guest-agent cpio kmod osinfo-db gzip chromium fonts-wqy-microhei)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "kvmgr setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm packages: only when the lock file changed since the last install.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
npm run --silent build

bash guest/build-test-guest.sh
