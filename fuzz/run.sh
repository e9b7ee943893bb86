#!/usr/bin/env bash
# Coverage-guided fuzzing of the stack's parsers (SharpFuzz instrumentation + libFuzzer).
#   fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]      default: 5 s each, every target
#   FUZZ_MERGE=1 fuzz/run.sh 600                      long run; new coverage merged into fuzz/corpus
# Builds fuzz/Demi.Fuzz, copies its output to a scratch folder, instruments Demi.Inet.dll and
# Demi.Native.dll there with the sharpfuzz tool (dotnet-tools.json), builds the libFuzzer driver
# (fuzz/driver) and runs each target from its seed corpus (fuzz/corpus/TARGET) and regressions
# (fuzz/regressions/TARGET). A crash is saved as fuzz/findings/TARGET/crash-* and fails the run:
# add it to fuzz/regressions/TARGET (tests/Demi.Fuzz.Tests replays that folder) with the fix.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-5}
shift || true
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

artifacts=${DEMI_ARTIFACTS:-$PWD/artifacts}
dotnet build fuzz/Demi.Fuzz -c Release -nologo -v q >/dev/null
dotnet tool restore >/dev/null

work=$(mktemp -d /tmp/demi-fuzz-XXXXXX)
trap '[[ -n "${FUZZ_KEEP:-}" ]] || rm -rf "$work"' EXIT
cp -r "$artifacts/bin/Demi.Fuzz/release/." "$work/bin/" 2>/dev/null || { mkdir -p "$work/bin"; cp -r "$artifacts/bin/Demi.Fuzz/release/." "$work/bin/"; }
for dll in Demi.Inet.dll Demi.Native.dll; do
  dotnet sharpfuzz "$work/bin/$dll" >/dev/null
done
clang -O1 -Wall -Wextra -Werror fuzz/driver/demi-libfuzzer.c /usr/lib/llvm-14/lib/libFuzzer.a -lstdc++ -lpthread -lm -o "$work/demi-libfuzzer"

targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  mapfile -t targets < <(dotnet "$work/bin/Demi.Fuzz.dll" --list)
fi

export DEMI_FUZZ_DOTNET=$(command -v dotnet) DEMI_FUZZ_DLL="$work/bin/Demi.Fuzz.dll"
failed=()
for target in "${targets[@]}"; do
  mkdir -p "$work/corpus/$target" "fuzz/findings/$target" "fuzz/regressions/$target"
  log="$work/$target.log"
  set +e
  DEMI_FUZZ_TARGET=$target "$work/demi-libfuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -max_len=2048 \
    -print_final_stats=1 -artifact_prefix="fuzz/findings/$target/" \
    "$work/corpus/$target" "fuzz/corpus/$target" "fuzz/regressions/$target" >"$log" 2>&1
  status=$?
  set -e
  runs=$(grep -oP 'stat::number_of_executed_units:\s*\K\d+' "$log" || echo "?")
  features=$(grep -oP 'DONE\s+ft: \K\d+' "$log" || echo "?")
  corpus=$(ls "fuzz/corpus/$target" | wc -l)
  new=$(ls "$work/corpus/$target" | wc -l)
  echo "fuzz: $target: ${seconds}s, $runs runs, $features coverage features, seed corpus $corpus, new inputs $new, exit $status"
  if [[ $status -ne 0 ]]; then
    tail -40 "$log" >&2
    failed+=("$target")
  elif [[ "${FUZZ_MERGE:-0}" == 1 ]]; then
    # Keep only inputs that add coverage to what the repo already has.
    DEMI_FUZZ_TARGET=$target "$work/demi-libfuzzer" -merge=1 "fuzz/corpus/$target" "$work/corpus/$target" >"$work/$target.merge.log" 2>&1 || true
    echo "fuzz: $target: corpus now $(ls "fuzz/corpus/$target" | wc -l) inputs"
  fi
  rmdir "fuzz/findings/$target" 2>/dev/null || true
done
rmdir fuzz/findings 2>/dev/null || true
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "fuzz: FAILED: ${failed[*]} (inputs in fuzz/findings/)" >&2
  exit 1
fi
echo "fuzz: all ${#targets[@]} targets ran clean"
