#!/usr/bin/env bash
# Demi-KV against redis-server, measured with redis-benchmark, in one run with the same namespaces
# and core pinning for every row:
#   demi-xdp     demi kv on AF_XDP (XdpBackend, user-space TCP) on the server's veth end
#   demi-dpdk    demi kv on DPDK (DpdkBackend, net_af_packet vdev on the server's veth end, user-space TCP)
#   demi-kernel  demi kv on Linux kernel sockets
#   redis        Debian's redis-server (kernel TCP)
# The server runs in namespace A pinned to --server-core (one core, the whole process), redis-benchmark
# in namespace B pinned to --load-core, across one veth pair. Nothing is sent from the root namespace;
# both namespaces are deleted on exit (also on failure or Ctrl+C).
#
# usage: sudo perf/kv/kv-bench.sh [-n 1000000] [--n-p1 N (requests for -P 1; default -n)] [--runs 3] [--pipelines "1 16"] [--clients 50]
#                                 [--rows "demi-xdp demi-dpdk demi-kernel redis"] [--server-core 0] [--load-core 1 (a taskset list)]
#                                 [--threads 0 (redis-benchmark --threads; 0: its single-threaded default)]
#                                 [--idle spin-then-park|spin|park] [--warmup-seconds 10] [--out DIR]
#                                 [--xdp-mode auto|native|generic] [--server-rps]
# --server-rps: the server-side veth end's receive processing runs on --server-core (RPS), so each
# server pays for its own receive path (TCP for the kernel rows, generic XDP and the copy into UMEM for
# demi-xdp; native XDP on veth runs in the sender's NAPI and ignores RPS, so pair it with --xdp-mode generic).
# Without it, veth delivers every frame in the sender's context: the generator's core runs the server's receive path.
# Each server first gets --warmup-seconds of the same mix at -P 16, half SET, half GET (not measured): for pools and
# tables (demi jits optimized code at once; with DOTNET_TieredCompilation=1 in front, 10 s is not enough for the JIT to finish).
# Each test (SET, GET) is its own redis-benchmark run, so that its CPU use is its own: the CSV has the
# generator's CPU (its user+system time / wall time, across threads), the server process's, and each
# pinned core's busy share from /proc/stat (softirq included: veth delivers a frame in the sender's context;
# steal, time the hypervisor gave other guests, is not busy: the machine's steal share is a column of its own).
set -euo pipefail

N=1000000
N_P1=""
RUNS=1
PIPELINES="1 16"
CLIENTS=50
ROWS="demi-xdp demi-dpdk demi-kernel redis"
SERVER_CORE=0
LOAD_CORE=1
IDLE=spin-then-park
WARMUP_SECONDS=10
THREADS=0
XDP_MODE=auto
SERVER_RPS=0
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
OUT=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    -n) N="$2"; shift 2 ;;
    --n-p1) N_P1="$2"; shift 2 ;;
    --runs) RUNS="$2"; shift 2 ;;
    --pipelines) PIPELINES="$2"; shift 2 ;;
    --clients) CLIENTS="$2"; shift 2 ;;
    --rows) ROWS="$2"; shift 2 ;;
    --server-core) SERVER_CORE="$2"; shift 2 ;;
    --load-core) LOAD_CORE="$2"; shift 2 ;;
    --idle) IDLE="$2"; shift 2 ;;
    --warmup-seconds) WARMUP_SECONDS="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    --xdp-mode) XDP_MODE="$2"; shift 2 ;;
    --server-rps) SERVER_RPS=1; shift ;;
    -h|--help) sed -n 2,26p "$0"; exit 0 ;;
    *) echo "kv-bench: unknown option $1" >&2; exit 2 ;;
  esac
done
[[ $(id -u) -eq 0 ]] || { echo "kv-bench: needs root (namespaces, AF_XDP)" >&2; exit 1; }
for tool in redis-server redis-benchmark redis-cli nsenter taskset ip ethtool timeout /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "kv-bench: $tool is missing (scripts/install-deps.sh)" >&2; exit 1; }
done

ARTIFACTS="${DEMI_ARTIFACTS:-$REPO/artifacts}"
DEMI="$ARTIFACTS/bin/Demi.Cli/release/demi"
if [[ ! -x "$DEMI" || -n "${KV_BENCH_BUILD:-}" ]]; then
  (cd "$REPO" && dotnet build src/Demi.Cli -c Release -v q -nologo >/dev/null)
fi
OUT="${OUT:-$HERE/results/$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$OUT"

NSA="demi-kv-$$-a"; NSB="demi-kv-$$-b"
IFA="kv$$a"; IFB="kv$$b"
IPA=10.99.14.1; IPB=10.99.14.2
PORT=6379
SERVER_PID=""

cleanup() {
  stop_server
  ip netns del "$NSA" 2>/dev/null || true
  ip netns del "$NSB" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

stop_server() {
  if [[ -n "$SERVER_PID" ]]; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
  fi
}

in_b() { nsenter --net="/run/netns/$NSB" -- "$@"; }

# One veth pair, created straight inside the namespaces (it never appears in the root namespace).
ip netns add "$NSA"
ip netns add "$NSB"
ip link add "$IFA" netns "$NSA" type veth peer name "$IFB" netns "$NSB"
ip -n "$NSA" link set lo up
ip -n "$NSB" link set lo up
ip -n "$NSA" link set "$IFA" up
ip -n "$NSB" link set "$IFB" up
ip -n "$NSB" addr add "$IPB/24" dev "$IFB"
# AF_XDP sees the peer's frames raw: let the peer compute full TCP checksums (no CHECKSUM_PARTIAL).
in_b ethtool -K "$IFB" tx off >/dev/null
if [[ $SERVER_RPS -eq 1 ]]; then
  # /sys shows the namespace's own devices only inside it (ip netns exec mounts it so).
  ip netns exec "$NSA" sh -c "printf '%x' $((1 << SERVER_CORE)) >/sys/class/net/$IFA/queues/rx-0/rps_cpus"
fi
MAC_A=$(ip -n "$NSA" -br link show "$IFA" | awk '{print $3}')
MAC_B=$(ip -n "$NSB" -br link show "$IFB" | awk '{print $3}')
ip -n "$NSB" neigh replace "$IPA" lladdr "$MAC_A" dev "$IFB" nud permanent

start_server() {
  local row="$1"
  ip -n "$NSA" addr flush dev "$IFA"
  case "$row" in
    demi-xdp)
      # The user-space stack owns IPA; the kernel side of the veth has no address.
      nsenter --net="/run/netns/$NSA" -- taskset -c "$SERVER_CORE" "$DEMI" kv --bind "$IPA:$PORT" --cores "$SERVER_CORE" --idle "$IDLE" \
        --backend xdp --iface "$IFA" --ip "$IPA" --xdp-mode "$XDP_MODE" >"$OUT/$row.log" 2>&1 &
      ;;
    demi-dpdk)
      # As demi-xdp: the user-space stack owns IPA. net_af_packet hands the kernel every frame too,
      # so the kernel side must have no address (else it answers as well). EAL lcore = the server core.
      nsenter --net="/run/netns/$NSA" -- taskset -c "$SERVER_CORE" "$DEMI" kv --bind "$IPA:$PORT" --cores "$SERVER_CORE" --idle "$IDLE" \
        --backend dpdk --ip "$IPA" --eal "-l $SERVER_CORE -m 256 --no-huge --no-shconf --no-pci --no-telemetry --iova-mode=va --file-prefix=demi-kv-$$ --log-level=*:warning --vdev net_af_packet0,iface=$IFA" \
        >"$OUT/$row.log" 2>&1 &
      ;;
    demi-kernel)
      ip -n "$NSA" addr add "$IPA/24" dev "$IFA"
      ip -n "$NSA" neigh replace "$IPB" lladdr "$MAC_B" dev "$IFA" nud permanent
      nsenter --net="/run/netns/$NSA" -- taskset -c "$SERVER_CORE" "$DEMI" kv --bind "$IPA:$PORT" --cores "$SERVER_CORE" --idle "$IDLE" >"$OUT/$row.log" 2>&1 &
      ;;
    redis)
      ip -n "$NSA" addr add "$IPA/24" dev "$IFA"
      ip -n "$NSA" neigh replace "$IPB" lladdr "$MAC_B" dev "$IFA" nud permanent
      nsenter --net="/run/netns/$NSA" -- taskset -c "$SERVER_CORE" redis-server --bind "$IPA" --port "$PORT" --save "" --appendonly no \
        --protected-mode no --io-threads 1 --logfile "" >"$OUT/$row.log" 2>&1 &
      ;;
  esac
  # nsenter and taskset exec: $! is the server itself, so stop_server's signal reaches it.
  SERVER_PID=$!
  for _ in $(seq 100); do
    if [[ "$(in_b timeout 1 redis-cli -h "$IPA" -p "$PORT" PING 2>/dev/null)" == "PONG" ]]; then return 0; fi
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.2
  done
  echo "kv-bench: $row did not come up; its log:" >&2
  cat "$OUT/$row.log" >&2
  return 1
}

CSV="$OUT/raw.csv"
echo "run,row,pipeline,requests,test,rps,avg_ms,min_ms,p50_ms,p95_ms,p99_ms,max_ms,gen_cpu,server_cpu,server_core_busy,load_core_busy,frames_to_server,frames_to_client,steal" >"$CSV"
THREAD_ARGS=(); [[ "$THREADS" -gt 0 ]] && THREAD_ARGS=(--threads "$THREADS")
echo "kv-bench: -n $N${N_P1:+ (-P 1: $N_P1)} -c $CLIENTS, pipelines [$PIPELINES], rows [$ROWS], $RUNS run(s); server on core $SERVER_CORE, redis-benchmark${THREAD_ARGS[*]:+ ${THREAD_ARGS[*]}} on core(s) $LOAD_CORE; idle $IDLE; warm-up ${WARMUP_SECONDS}s; load before: $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$OUT/run.txt"

# CPU accounting: a process's run time in ns (its threads' schedstat: exact, where utime+stime in
# clock ticks read up to 1.5 cores for a process pinned to one over a ~1 s test), and a core's (busy, total) ticks.
proc_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ns += $1} END {printf "%.0f", ns}'; }
# Steal (field 9: the hypervisor ran someone else) is neither busy nor idle: it is its own column.
core_ticks() { awk -v c="cpu$1" '$1 == c {busy = $2 + $3 + $4 + $7 + $8; print busy, busy + $5 + $6 + $9}' /proc/stat; }
# The whole machine's (steal, total) ticks: a test with a high steal share measured the neighbours, not us.
steal_ticks() { awk '$1 == "cpu" {print $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9}' /proc/stat; }
# Busy share of a taskset list's cores (e.g. "1" or "0-1") between two snapshots of /proc/stat.
cores_of() { python3 -c 'import sys; r=[]; [r.extend(range(int(a.split("-")[0]), int(a.split("-")[-1])+1)) for a in sys.argv[1].split(",")]; print(*r)' "$1"; }
cores_snapshot() { local c; for c in $(cores_of "$1"); do core_ticks "$c"; done | awk '{b += $1; t += $2} END {print b, t}'; }
# Frames the generator's veth end sent and received (tx rx): frames per request show how the server
# segments its replies and acknowledgements, which is what the generator's kernel pays for per frame.
frames_of_b() { in_b cat /proc/net/dev | tr ':' ' ' | awk -v d="$IFB" '$1 == d {print $11, $3}'; }
per_request() { awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN {split(a, x, " "); split(b, y, " "); printf "%.3f,%.3f", (y[1] - x[1]) / n, (y[2] - x[2]) / n}'; }
share() { awk -v a="$1" -v b="$2" 'BEGIN {split(a, x, " "); split(b, y, " "); d = y[2] - x[2]; printf "%.2f", (d > 0 ? (y[1] - x[1]) / d : 0)}'; }

for run in $(seq "$RUNS"); do
  for row in $ROWS; do
    start_server "$row"
    # Half the warm-up each for SET and GET: one "-t set,get" run would spend all of it on SET (its
    # first test), and GET's own paths would then be measured while the JIT still compiled them.
    for warm in set get; do
      in_b taskset -c "$LOAD_CORE" timeout "$(awk -v s="$WARMUP_SECONDS" 'BEGIN {print s / 2}')" redis-benchmark -h "$IPA" -p "$PORT" -t "$warm" -n 100000000 -c "$CLIENTS" -P 16 "${THREAD_ARGS[@]}" -q >/dev/null 2>&1 || true
    done
    for p in $PIPELINES; do
      n="$N"; [[ "$p" == 1 && -n "$N_P1" ]] && n="$N_P1"
      for test in set get; do
        s0=$(proc_ns "$SERVER_PID"); c0=$(cores_snapshot "$SERVER_CORE"); l0=$(cores_snapshot "$LOAD_CORE"); f0=$(frames_of_b); st0=$(steal_ticks); in_b nstat -n >/dev/null 2>&1 || true; t0=$(date +%s.%N)
        # redis-benchmark --csv: "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
        line=$(in_b taskset -c "$LOAD_CORE" /usr/bin/time -f '%e %U %S' -o "$OUT/gen.time" redis-benchmark -h "$IPA" -p "$PORT" -t "$test" -n "$n" -c "$CLIENTS" -P "$p" "${THREAD_ARGS[@]}" --csv 2>/dev/null \
          | grep -v '^"test"' | tr -d '"')
        t1=$(date +%s.%N); s1=$(proc_ns "$SERVER_PID"); c1=$(cores_snapshot "$SERVER_CORE"); l1=$(cores_snapshot "$LOAD_CORE"); f1=$(frames_of_b); st1=$(steal_ticks)
        # The generator's TCP counters over the test (retransmits, out-of-order, zero windows): why a row stalled.
        in_b nstat -s >"$OUT/nstat-$run-$row-P$p-$test.txt" 2>/dev/null || true
        gen_cpu=$(awk '{printf "%.2f", ($1 > 0 ? ($2 + $3) / $1 : 0)}' "$OUT/gen.time")
        server_cpu=$(awk -v a="$s0" -v b="$s1" -v t0="$t0" -v t1="$t1" 'BEGIN {printf "%.2f", (b - a) / 1e9 / (t1 - t0)}')
        IFS=, read -r name rps avg min p50 p95 p99 max <<<"$line"
        echo "$run,$row,$p,$n,$name,$rps,$avg,$min,$p50,$p95,$p99,$max,$gen_cpu,$server_cpu,$(share "$c0" "$c1"),$(share "$l0" "$l1"),$(per_request "$f0" "$f1" "$n"),$(share "$st0" "$st1")" >>"$CSV"
        printf 'run %s  %-12s -P %-3s %-4s %12s req/s  p50 %s ms  p99 %s ms  cpu: generator %s server %s, core %s busy %s, core(s) %s busy %s, steal %s\n' \
          "$run" "$row" "$p" "$name" "$rps" "$p50" "$p99" "$gen_cpu" "$server_cpu" "$SERVER_CORE" "$(share "$c0" "$c1")" "$LOAD_CORE" "$(share "$l0" "$l1")" "$(share "$st0" "$st1")"
      done
    done
    stop_server
  done
done
echo "kv-bench: load after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/run.txt"
python3 "$HERE/report.py" "$CSV" "$OUT/run.txt" >"$OUT/results.md"
cat "$OUT/results.md"
echo "kv-bench: results in $OUT"
