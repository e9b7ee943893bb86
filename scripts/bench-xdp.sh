#!/usr/bin/env bash
# Measures AF_XDP over veth (raw XSK->XSK frames/s, alloc/frame; UDP 64 B echo Demi-XDP vs kernel,
# msgs/s and RTT p50/p99) in Release. Needs root. All traffic stays inside test namespaces.
# Usage: scripts/bench-xdp.sh [seconds]   (results also appended to /tmp/demi-xdp-bench.txt)
set -euo pipefail
cd "$(dirname "$0")/.."
export DEMI_BENCH_SECONDS="${1:-5}"
export DEMI_ARTIFACTS="${DEMI_ARTIFACTS:-$PWD/artifacts}"
dotnet test tests/Demi.Transport.Xdp.Tests -c Release --filter "FullyQualifiedName~Benchmarks" \
  --logger "console;verbosity=detailed" 2>&1 | grep -E 'raw xsk|udp echo|Passed!|Failed'
