#!/usr/bin/env bash
# Removes test namespaces left by killed runs: demi-PID-SEQ-a/b whose PID is gone (deleting a
# namespace removes its veth and any XDP program on it). Live runs' namespaces are kept.
set -euo pipefail
for ns in $(ip netns list | awk '{print $1}' | grep -E '^demi-[0-9]+-[0-9]+-[ab]$' || true); do
  pid=$(echo "$ns" | cut -d- -f2)
  if [[ ! -d /proc/$pid ]]; then
    echo "clean-stale: deleting $ns"
    ip netns del "$ns" || true
  fi
done
