#!/usr/bin/env bash
# Installs the Debian packages Demi needs to build, test and benchmark its kernel-bypass
# transports (AF_XDP via libxdp/libbpf, DPDK) and to drive kernel peers in test namespaces
# (python3-scapy crafts malformed frames there); libfuzzer-14-dev is libFuzzer for fuzz/run.sh.
# Non-interactive, idempotent, and quick when everything is already there (no apt-get update then).
set -euo pipefail

PACKAGES=(
  libxdp1 libxdp-dev libbpf1 libbpf-dev xdp-tools bpftool clang llvm
  iproute2 ethtool iputils-ping tcpdump tshark socat netcat-openbsd
  python3 gcc make pkg-config
  dpdk dpdk-dev libdpdk-dev
  libfuzzer-14-dev python3-scapy
  redis-server redis-tools
)

export DEBIAN_FRONTEND=noninteractive

missing=()
for p in "${PACKAGES[@]}"; do
  # dpkg-query prints "install ok installed" only for fully installed packages.
  if [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" != "install ok installed" ]]; then
    missing+=("$p")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#PACKAGES[@]} packages already installed"
  exit 0
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo -E"; else
    echo "install-deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1
  fi
fi

echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
# tshark asks whether non-root users may capture; preseed "no" so the install never prompts.
echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections
$SUDO apt-get install -y -qq --no-install-recommends \
  -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}"
echo "install-deps: done"
