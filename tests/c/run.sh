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
    newer=$(find "$root/src/Demi.Native" "$root/src/Demi.Actors" "$root/src/Demi.Transport.Dpdk" "$root/Directory.Build.props" \
        \( -name bin -o -name obj \) -prune -o -type f \( -name '*.cs' -o -name '*.csproj' -o -name '*.h' -o -name '*.c' -o -name '*.props' \) \
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
    echo "== $name"
    if timeout 120 "$@"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        failures+=("$name")
    fi
}
for name in "${programs[@]}"; do
    case $name in
        bench_* | pingpong) ;;
        *) run "$name" "$bin/$name" ;;
    esac
done
# Two processes, catnap over 127.0.0.1.
run "pingpong tcp (catnap, 127.0.0.1)" "$bin/pingpong" tcp
run "pingpong udp (catnap, 127.0.0.1)" "$bin/pingpong" udp

# ---- two network namespaces joined by a veth pair, for the two-process tests on the user-space
# stack. Nothing is sent from the root namespace; the namespaces (with the veth) and the config
# folder are deleted by remove_namespaces, which also runs on exit, so also on failure.
netns_made=()
scratch_made=()
remove_namespaces() {
    local ns
    for ns in "${netns_made[@]}"; do
        ip netns del "$ns" 2>/dev/null || true
    done
    rm -rf "${scratch_made[@]}"
    netns_made=()
    scratch_made=()
}
trap remove_namespaces EXIT
# veth_namespaces TAG DEV_A DEV_B: namespaces $ns_a (holding DEV_A) and $ns_b (holding DEV_B), named
# after TAG and this process, joined by the veth DEV_A-DEV_B, both up, and an empty config folder $cfg.
veth_namespaces() {
    local tag=$1 dev_a=$2 dev_b=$3 side ns dev
    ns_a="demi-$tag-a-$$"
    ns_b="demi-$tag-b-$$"
    cfg=$(mktemp -d "/tmp/demi-$tag-XXXXXX")
    scratch_made+=("$cfg")
    ip netns add "$ns_a"
    netns_made+=("$ns_a")
    ip netns add "$ns_b"
    netns_made+=("$ns_b")
    ip -n "$ns_a" link add "$dev_a" type veth peer name "$dev_b" netns "$ns_b"
    for side in "$ns_a:$dev_a" "$ns_b:$dev_b"; do
        ns=${side%%:*}
        dev=${side##*:}
        # No kernel addresses (net_af_packet shares the link with the kernel): only Demi's stacks
        # answer. No IPv6 chatter on the link either.
        ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
        ip -n "$ns" link set lo up
        ip -n "$ns" link set "$dev" up
    done
}
# pingpongs LIBOS WHAT SERVER_IP: pingpong udp and tcp, the server in $ns_a with $cfg/a.yaml, the
# client in $ns_b with $cfg/b.yaml.
pingpongs() {
    local libos=$1 what=$2 server_ip=$3 proto
    for proto in udp tcp; do
        run "pingpong $proto ($libos, $what between namespaces)" env LIBOS="$libos" DEMI_TEST_SERVER_IP="$server_ip" \
            DEMI_TEST_SERVER_NETNS="$ns_a" DEMI_TEST_CLIENT_NETNS="$ns_b" \
            DEMI_TEST_SERVER_CONFIG="$cfg/a.yaml" DEMI_TEST_CLIENT_CONFIG="$cfg/b.yaml" "$bin/pingpong" "$proto"
    done
}

# ---- catpowder (AF_XDP): both sides run Demi's user-space stack.
skipped=0
if [[ $EUID -ne 0 ]]; then
    echo "SKIP catpowder pingpong and exit_drain: needs root (network namespaces and AF_XDP); run as root (CI does)"
    skipped=$((skipped + 3))
elif [[ -z "$(ldconfig -p | grep 'libxdp.so.1' || true)" ]]; then
    echo "SKIP catpowder pingpong and exit_drain: libxdp1/libbpf1 are not installed (scripts/install-deps.sh installs them)"
    skipped=$((skipped + 3))
else
    veth_namespaces cabi va vb
    mac_a=$(ip -n "$ns_a" -br link show va | awk '{print $3}')
    mac_b=$(ip -n "$ns_b" -br link show vb | awk '{print $3}')
    write_config() { # file iface ip mac peer_mac peer_ip
        cat >"$1" <<YAML
demikernel:
  local_ipv4_addr: $3
  local_link_addr: "$4"
raw_socket:
  linux_interface_name: $2
inetstack_config:
  arp_table:
    "$5": $6
demi:
  prefix_length: 24
YAML
    }
    write_config "$cfg/a.yaml" va 10.77.0.1 "$mac_a" "$mac_b" 10.77.0.2
    write_config "$cfg/b.yaml" vb 10.77.0.2 "$mac_b" "$mac_a" 10.77.0.1
    pingpongs catpowder "AF_XDP" 10.77.0.1
    # exit_drain on the user-space stack: a Linux kernel listener on va (ns_a, no XDP there now), the
    # Demi client on vb (ns_b) with Demikernel's default linger {on, 0} in its file.
    ip -n "$ns_a" addr add 10.77.0.1/24 dev va
    cp "$cfg/b.yaml" "$cfg/b-linger.yaml"
    printf 'tcp_socket_options:\n  linger: { enabled: true, time_seconds: 0 }\n' >>"$cfg/b-linger.yaml"
    run "exit_drain (catpowder client, kernel peer between namespaces)" ip netns exec "$ns_a" env LIBOS=catpowder \
        DEMI_TEST_SERVER_IP=10.77.0.1 DEMI_TEST_CLIENT_NETNS="$ns_b" DEMI_TEST_CLIENT_CONFIG="$cfg/b-linger.yaml" "$bin/exit_drain"
    remove_namespaces
fi

# ---- catnip (DPDK, net_af_packet) on a veth pair of its own. Each child starts its EAL without
# hugepages inside its namespace; ARP is resolved both ways (no static entries).
if [[ $EUID -ne 0 ]]; then
    echo "SKIP catnip pingpong and exit_drain: needs root (network namespaces, DPDK's raw sockets); run as root (CI does)"
    skipped=$((skipped + 3))
elif [[ ! -f "$out/libdemi_dpdk.so" || -z "$(ldconfig -p | grep 'librte_eal.so.23' || true)" ]]; then
    echo "SKIP catnip pingpong and exit_drain: DPDK is not installed (scripts/install-deps.sh installs dpdk, libdpdk-dev)"
    skipped=$((skipped + 3))
else
    veth_namespaces cnip na nb
    write_catnip_config() { # file iface ip prefix
        cat >"$1" <<YAML
demikernel:
  local_ipv4_addr: $3
dpdk:
  eal_init: ["demi", "-l", "0", "--no-huge", "--no-shconf", "-m", "256", "--no-pci", "--iova-mode=va", "--no-telemetry",
             "--log-level=*:warning", "--file-prefix=$4", "--vdev=net_af_packet0,iface=$2"]
demi:
  prefix_length: 24
YAML
    }
    write_catnip_config "$cfg/a.yaml" na 10.78.0.1 "$ns_a"
    write_catnip_config "$cfg/b.yaml" nb 10.78.0.2 "$ns_b"
    pingpongs catnip "DPDK net_af_packet" 10.78.0.1
    # exit_drain on DPDK: a Linux kernel listener on na (ns_a), the Demi client on nb (ns_b) with
    # Demikernel's default linger {on, 0} in its file.
    ip -n "$ns_a" addr add 10.78.0.1/24 dev na
    # The kernel's veth TX leaves TCP checksums partial (offloaded); net_af_packet hands DPDK the raw
    # frame, which Demi's stack rightly drops as a bad checksum: have the kernel peer compute them.
    ip netns exec "$ns_a" ethtool -K na tx off >/dev/null
    cp "$cfg/b.yaml" "$cfg/b-linger.yaml"
    printf 'tcp_socket_options:\n  linger: { enabled: true, time_seconds: 0 }\n' >>"$cfg/b-linger.yaml"
    run "exit_drain (catnip client, kernel peer between namespaces)" ip netns exec "$ns_a" env LIBOS=catnip \
        DEMI_TEST_SERVER_IP=10.78.0.1 DEMI_TEST_CLIENT_NETNS="$ns_b" DEMI_TEST_CLIENT_CONFIG="$cfg/b-linger.yaml" "$bin/exit_drain"
    remove_namespaces
fi
if [[ $bench == 1 ]]; then
    "$bin/bench_pushto" "${BENCH_N:-100000}"
fi

[[ $failed -gt 0 ]] && echo "run.sh: failed: ${failures[*]}" >&2
echo "c-abi: $passed passed, $failed failed, $skipped skipped"
[[ $failed == 0 ]]
