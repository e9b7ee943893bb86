#!/usr/bin/env python3
"""Turns kv-bench.sh's raw.csv into a markdown table, the ratios to redis-server and an ASCII bar chart."""
import csv
import statistics
import sys
from collections import defaultdict

rows_csv, run_txt = sys.argv[1], sys.argv[2]
cells = defaultdict(list)
order = []
for r in csv.DictReader(open(rows_csv)):
    key = (r["row"], int(r["pipeline"]), r["test"])
    if key not in cells:
        order.append(key)
    cells[key].append(r)


def fig(values, fmt):
    med = statistics.median(values)
    if len(values) == 1:
        return fmt.format(med)
    return (fmt + " ({}–{})").format(med, fmt.format(min(values)), fmt.format(max(values)))


def per_cpu(x):
    """Requests per second of server CPU: its capacity when the generator, not the server, is the limit."""
    return float(x["rps"]) / max(1e-9, float(x["server_cpu"]))


def med(key, field):
    return statistics.median(float(x[field]) for x in cells[key])


runs = max(len(v) for v in cells.values()) if cells else 0
print(open(run_txt).read().strip().replace("\n", "  \n"))
print()
print(f"Median of {runs} run(s){', range in brackets' if runs > 1 else ''}.")
print()
# CPU columns (1.00 = one core): redis-benchmark's user+system time over its wall time, the server
# process's, and the busy share (softirq included) of the server's core and of the generator's core(s).
has_cpu = all("gen_cpu" in x and x["gen_cpu"] for v in cells.values() for x in v)
cpu_head = " generator CPU | server CPU | server core busy | generator core busy | requests per server CPU-second |" if has_cpu else ""
# Steal: the machine's share of time the hypervisor gave to other guests during the test (this VM is
# noisy; a test with a high share measured the neighbours as much as the server).
has_steal = all(x.get("steal") for v in cells.values() for x in v)
steal_head = " steal |" if has_steal else ""
print("| server | -P | test | requests | requests/s | p50 ms | p99 ms |" + cpu_head + steal_head)
print("|---|---:|---|---:|---:|---:|---:|" + ("---:|" * 5 if has_cpu else "") + ("---:|" if has_steal else ""))
for key in sorted(order, key=lambda k: (k[1], k[2], k[0])):
    v = cells[key]
    cpu = "".join(f" {fig([float(x[f]) for x in v], '{:.2f}')} |" for f in ("gen_cpu", "server_cpu", "server_core_busy", "load_core_busy")) if has_cpu else ""
    if has_cpu:
        cpu += f" {fig([per_cpu(x) for x in v], '{:,.0f}')} |"
    if has_steal:
        cpu += f" {fig([float(x['steal']) for x in v], '{:.2f}')} |"
    print(f"| {key[0]} | {key[1]} | {key[2]} | {int(v[0]['requests']):,} | {fig([float(x['rps']) for x in v], '{:,.0f}')} | "
          f"{fig([float(x['p50_ms']) for x in v], '{:.3f}')} | {fig([float(x['p99_ms']) for x in v], '{:.3f}')} |" + cpu)
print()
servers = sorted({k[0] for k in order})
if "redis" in servers:
    print("| ratio to redis-server | -P | test | requests/s | p99 |" + (" requests per server CPU-second |" if has_cpu else ""))
    print("|---|---:|---|---:|---:|" + ("---:|" if has_cpu else ""))
    for key in sorted(order, key=lambda k: (k[1], k[2], k[0])):
        if key[0] == "redis":
            continue
        ref = ("redis", key[1], key[2])
        if ref not in cells:
            continue
        # Per-run ratios (same run, side by side), then their median and range.
        by_run = {x["run"]: x for x in cells[ref]}
        rps = [float(x["rps"]) / float(by_run[x["run"]]["rps"]) for x in cells[key] if x["run"] in by_run]
        p99 = [float(x["p99_ms"]) / max(1e-9, float(by_run[x["run"]]["p99_ms"])) for x in cells[key] if x["run"] in by_run]
        line = f"| {key[0]} | {key[1]} | {key[2]} | {fig(rps, '{:.2f}x')} | {fig(p99, '{:.2f}x')} |"
        if has_cpu:
            line += f" {fig([per_cpu(x) / per_cpu(by_run[x['run']]) for x in cells[key] if x['run'] in by_run], '{:.2f}x')} |"
        print(line)
    print()
# Frames per request on the generator's veth end (to the server, to the client): how many segments
# and acknowledgements each side's TCP makes per request, which the generator's kernel pays for.
if all(x.get("frames_to_server") for v in cells.values() for x in v):
    print("| frames per request | -P | test | to the server | to the client |")
    print("|---|---:|---|---:|---:|")
    for key in sorted(order, key=lambda k: (k[1], k[2], k[0])):
        v = cells[key]
        print(f"| {key[0]} | {key[1]} | {key[2]} | {fig([float(x['frames_to_server']) for x in v], '{:.3f}')} | "
              f"{fig([float(x['frames_to_client']) for x in v], '{:.3f}')} |")
    print()
print("```")
width = 50
top = max((med(k, "rps") for k in order), default=1)
for p in sorted({k[1] for k in order}):
    print(f"-P {p}  requests/s (median)")
    for key in sorted((k for k in order if k[1] == p), key=lambda k: (k[2], k[0])):
        value = med(key, "rps")
        bar = "#" * max(1, round(width * value / top))
        print(f"  {key[2]:<4} {key[0]:<12} {bar} {value:,.0f}")
print("```")
