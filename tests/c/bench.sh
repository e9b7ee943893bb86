#!/usr/bin/env bash
# The C ABI overhead figure: ns per pushto + wait round trip through libdemi.so (C) and through the
# C# errno API, same shape (UDP to a never-reading kernel socket on 127.0.0.1, wait for each push).
#   tests/c/bench.sh [N] [WARMUP]      defaults 100000 10000; also prints the size of libdemi.so
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${DEMI_NATIVE_OUT:-${DEMI_ARTIFACTS:-$root/artifacts}/libdemi}
n=${1:-100000}
warmup=${2:-10000}
"$here/run.sh" >/dev/null
echo "libdemi.so: $(stat -c %s "$out/libdemi.so") bytes (stripped; $(numfmt --to=iec "$(stat -c %s "$out/libdemi.so")"))"
dotnet build -c Release "$here/bench/BenchPushTo.csproj" -nologo -v quiet >/dev/null
csbench=$(find "${DEMI_ARTIFACTS:-$root/artifacts}/bin/BenchPushTo" -name BenchPushTo.dll | head -n 1)
# Round trips cross threads (caller -> shard -> caller), so they are noisy on 2 shared cores: run 3 times each.
for i in 1 2 3; do
    "$out/ctests/bench_pushto" "$n" "$warmup"
    dotnet "$csbench" "$n" "$warmup"
done
