#!/usr/bin/env bash
# Builds libdemi.so (NativeAOT, linux-x64) unless it is up to date, compiles every C test in this
# folder with gcc -Wall -Werror against the published headers and -ldemi, and runs them.
#   tests/c/run.sh            build if needed, run all tests
#   tests/c/run.sh --bench    also run the demi_pushto+demi_wait benchmark (bench_pushto.c)
# Output folder: $DEMI_NATIVE_OUT, else $DEMI_ARTIFACTS/libdemi, else artifacts/libdemi.
# Ends with the line "N passed, N failed" (tests = C programs) and exits non-zero on any failure.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${DEMI_NATIVE_OUT:-${DEMI_ARTIFACTS:-$root/artifacts}/libdemi}
bench=0
[[ "${1:-}" == "--bench" ]] && bench=1

# ---- build libdemi.so when any input is newer than it
lib="$out/libdemi.so"
stale=1
if [[ -f "$lib" ]]; then
    newer=$(find "$root/src/Demi.Native" "$root/src/Demi.Actors" "$root/Directory.Build.props" \
        \( -name bin -o -name obj \) -prune -o -type f \( -name '*.cs' -o -name '*.csproj' -o -name '*.h' -o -name '*.props' \) \
        -newer "$lib" -print | head -n 1)
    [[ -z "$newer" ]] && stale=0
fi
if [[ $stale == 1 ]]; then
    echo "run.sh: publishing libdemi.so to $out"
    dotnet publish "$root/src/Demi.Native/Demi.Native.csproj" -c Release -r linux-x64 -o "$out" -nologo -v quiet
    touch "$lib"
fi
[[ -f "$lib" ]] || { echo "run.sh: $lib was not produced" >&2; exit 1; }

# ---- compile
bin="$out/ctests"
mkdir -p "$bin"
cflags=(-std=gnu11 -O2 -g -Wall -Wextra -Werror -I"$out/include" -L"$out" -Wl,-rpath,"$out")
programs=()
for src in "$here"/*.c; do
    name=$(basename "$src" .c)
    gcc "${cflags[@]}" -o "$bin/$name" "$src" -ldemi -lpthread
    programs+=("$name")
done

# ---- run (each with a time bound; the programs bound their own loops too)
passed=0
failed=0
failures=()
run() {
    local name=$1
    shift
    echo "== $name $*"
    if timeout 120 "$@"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        failures+=("$name")
    fi
}
for name in "${programs[@]}"; do
    case $name in
        bench_*) ;;
        *) run "$name" "$bin/$name" ;;
    esac
done
if [[ $bench == 1 ]]; then
    "$bin/bench_pushto" "${BENCH_N:-100000}"
fi

[[ $failed -gt 0 ]] && echo "run.sh: failed: ${failures[*]}" >&2
echo "c-abi: $passed passed, $failed failed"
[[ $failed == 0 ]]
