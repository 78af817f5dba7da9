#!/usr/bin/env bash
# Installs the real Samba peers the compat suites run against (Debian's smbd and smbclient for the upgrade smbd suite,
# ctdbd 4.17, ctdb CLI, tdb tools; nft for partition tests; iptables and ethtool for
# the 10.interface event script of netns clusters; systemd-analyze to verify our units; arping and ndptool
# (libndp-tools: IPv6 neighbour advertisements) for failoverd's native mode announcing addresses) when they are missing. Needs root and
# Debian's apt; otherwise it says what to install and fails.
set -euo pipefail
packages=(ctdb tdb-tools samba smbclient iproute2 procps nftables iptables ethtool util-linux mount systemd iputils-arping libndp-tools)
missing=()
for pkg in "${packages[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "ctdb-bridge tests need Debian packages: ${missing[*]} (apt-get install -y ${missing[*]})" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y "${missing[@]}"
