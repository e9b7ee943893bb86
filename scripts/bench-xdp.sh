#!/usr/bin/env bash
# Measures AF_XDP over veth in Release. Needs root. All traffic stays inside test namespaces.
#  - raw XSK->XSK frames/s, alloc/frame; UDP 64 B echo Demi-XDP vs kernel, msgs/s and RTT p50/p99
#  - Demi<->Demi UDP (ping-pong and windowed echo), TCP 10 MB transfers (kernel<->Demi, Demi<->Demi)
# Usage: scripts/bench-xdp.sh [seconds] [idle]   (idle: park | spin-then-park | spin for shards and
# waits, default park: on a 2-core machine spinning threads starve each other)
# Results also go to /tmp/demi-xdp-bench.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEMI_BENCH_SECONDS="${1:-5}"
export DEMI_SHARD_IDLE="${2:-park}" DEMI_WAIT_IDLE="${2:-park}"
export DEMI_ARTIFACTS="${DEMI_ARTIFACTS:-$PWD/artifacts}"
dotnet test tests/Demi.Transport.Xdp.Tests -c Release \
  --filter "FullyQualifiedName~Benchmarks|FullyQualifiedName~DemiToDemi|FullyQualifiedName~TcpInterop" \
  --logger "console;verbosity=detailed" 2>&1 | grep -E 'raw xsk|udp echo|demi<->demi|tcp |Passed!|Failed'
