#!/usr/bin/env python3
"""Instruction-level profile of one JIT-compiled .NET method, read from the live process.

perf annotate cannot show JIT code (it is not in any file). This reads the method's machine code from
/proc/PID/mem at the address the runtime's perf map gives, disassembles it with objdump, and puts each
sample of a `perf record` of that process beside its instruction.

    DOTNET_PerfMapEnabled=3 DOTNET_EnableWriteXorExecute=0 <start the .NET process>
    perf record -F 9999 -p PID -o perf.data -- sleep 4
    sudo perf/tools/annotate-jit.py PID perf.data 'Shard::DrainMailbox()' > drain.txt   # while PID still runs

When several compiled versions match (tier 0, instrumented, tier 1), the one with the most samples is
shown. Samples land on the instruction after a stalled one (skid): a hot store right after a wide load
is usually that load waiting.
"""
import collections
import re
import subprocess
import sys


def main() -> None:
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    pid, data, wanted = sys.argv[1], sys.argv[2], sys.argv[3]
    candidates = []
    with open(f'/tmp/perf-{pid}.map') as perf_map:
        for line in perf_map:
            start, size, name = line.rstrip('\n').split(' ', 2)
            if wanted in name:
                candidates.append((int(start, 16), int(size, 16), name))
    if not candidates:
        sys.exit(f'no method matching {wanted!r} in /tmp/perf-{pid}.map')
    script = subprocess.run(['perf', 'script', '-i', data, '-F', 'ip'], capture_output=True, text=True, check=True)
    ips = [int(x, 16) for x in script.stdout.split()]
    start, size, name = max(candidates, key=lambda c: sum(1 for ip in ips if c[0] <= ip < c[0] + c[1]))
    counts = collections.Counter(ip for ip in ips if start <= ip < start + size)
    total = sum(counts.values())
    with open(f'/proc/{pid}/mem', 'rb') as memory:
        memory.seek(start)
        code = memory.read(size)
    with open('/tmp/annotate-jit.bin', 'wb') as out:
        out.write(code)
    listing = subprocess.run(['objdump', '-D', '-b', 'binary', '-m', 'i386:x86-64', '--adjust-vma', hex(start),
                              '--no-show-raw-insn', '/tmp/annotate-jit.bin'], capture_output=True, text=True, check=True).stdout
    print(name)
    print(f'{total} samples of {len(ips)} in the method')
    for line in listing.split('\n'):
        if not re.match(r'\s+[0-9a-f]+:', line):
            continue
        n = counts.get(int(line.split(':')[0], 16), 0)
        print(f'{100 * n / total:5.1f}%' if n and total else '      ', line)


if __name__ == '__main__':
    main()
