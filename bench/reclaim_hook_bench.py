#!/usr/bin/env python3
"""What `memcg.since_reclaim` costs the reclaim hook, on this machine.

A policy that reads `memcg.since_reclaim` makes its memcg reclaim hook
stamp the reclaiming cgroup and its ancestors (up to 12 levels) in
`mmp_reclaim_seen` before it evaluates the rules. This runs the same
workload under two policies, in one run, alternating ROUNDS times:
  plain:   a `when` rule on the scope (the hook evaluates, stamps nothing);
  stamped: the same, and a rule reading memcg.since_reclaim (the hook
           stamps 4 levels: /mmp-bench/a/b/c and its ancestors, and the
           root's, then evaluates both rules).
The workload: dd writes 256 MiB into a file from a cgroup limited to 32 MiB
(cgroup v1), then reads it twice: the page cache is reclaimed within the
cgroup thousands of times (mm_vmscan_memcg_reclaim_begin), no OOM.
The kernel's own BPF statistics (kernel.bpf_stats_enabled) give each run's
hook count and time; the figure is nanoseconds per hook run, and the ratio
stamped / plain of the medians.

Needs root and a cgroup v1 memory hierarchy (/sys/fs/cgroup/memory).
usage: reclaim_hook_bench.py BIN_DIR [--rounds N]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

V1 = "/sys/fs/cgroup/memory"
POLICIES = {
    "plain": 'policy plain\nin "/mmp-bench/**" {\n  when memcg.usage > 1TiB log "never"\n}\n',
    "stamped": 'policy stamped\nin "/mmp-bench/**" {\n  when memcg.usage > 1TiB log "never"\n'
               '  when memcg.since_reclaim < 1s and memcg.usage > 1TiB log "never"\n}\n',
}


def reclaim_progs():
    """{id: (run count, run time ns)} of the loaded memcg reclaim programs."""
    out = subprocess.run(["bpftool", "prog", "show", "--json"], capture_output=True, text=True).stdout
    return {p["id"]: (p.get("run_cnt", 0), p.get("run_time_ns", 0))
            for p in json.loads(out or "[]") if p.get("name", "").startswith("mmp_memcg_recl")}


def one_run(mmrun, obj, cgdir, scratch):
    before = set(reclaim_progs())
    m = subprocess.Popen([mmrun, "load", "--dry-run", obj], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    mine = set(reclaim_progs()) - before  # bpftool here cannot name a program's process
    work = (f"echo $$ > {cgdir}/cgroup.procs; dd if=/dev/zero of={scratch} bs=1M count=256 2>/dev/null; "
            f"cat {scratch} > /dev/null; cat {scratch} > /dev/null")
    subprocess.run(["sh", "-c", work], check=True)
    now = reclaim_progs()
    stats = next((now[i] for i in mine if i in now), None)
    m.terminate()
    m.wait(timeout=10)
    os.unlink(scratch)
    return stats


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bin")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    if os.geteuid() != 0 or not os.path.exists(os.path.join(V1, "memory.limit_in_bytes")):
        print("SKIPPED: needs root and a cgroup v1 memory hierarchy")
        return 0
    mmpc, mmrun = (os.path.join(args.bin, n) for n in ("mmpc", "mmrun"))
    tmp = tempfile.mkdtemp()
    objs = {}
    for name, text in POLICIES.items():
        src = os.path.join(tmp, name + ".mmp")
        with open(src, "w") as f:
            f.write(text)
        objs[name] = os.path.join(tmp, name + ".bpf.o")
        subprocess.run([mmpc, "compile", src, "-o", objs[name]], check=True)
    with open("/proc/sys/kernel/bpf_stats_enabled") as f:
        was = f.read().strip()
    with open("/proc/sys/kernel/bpf_stats_enabled", "w") as f:
        f.write("1")
    dirs = [os.path.join(V1, "mmp-bench", *["a", "b", "c"][:i]) for i in range(4)]
    for d in dirs:
        os.makedirs(d, exist_ok=True)
    with open(os.path.join(dirs[-1], "memory.limit_in_bytes"), "w") as f:
        f.write(str(32 << 20))
    per_run = {name: [] for name in POLICIES}
    try:
        for _ in range(args.rounds):
            for name, obj in objs.items():
                stats = one_run(mmrun, obj, dirs[-1], os.path.join(tmp, "data"))
                if stats and stats[0]:
                    per_run[name].append((stats[0], stats[1] / stats[0]))
    finally:
        with open("/proc/sys/kernel/bpf_stats_enabled", "w") as f:
            f.write(was)
        for d in reversed(dirs):
            for _ in range(20):
                try:
                    os.rmdir(d)
                    break
                except OSError:
                    time.sleep(0.1)
    print(f"memcg reclaim hook, {args.rounds} rounds each (runs of the hook, ns per run)")
    medians = {}
    for name, runs in per_run.items():
        if not runs:
            print(f"{name}: no hook runs measured")
            return 1
        medians[name] = statistics.median(ns for _, ns in runs)
        print(f"  {name:8s} median {medians[name]:7.0f} ns   runs/round {statistics.median(n for n, _ in runs):.0f}   "
              f"all: {', '.join(f'{ns:.0f}' for _, ns in runs)}")
    print(f"  stamped / plain: {medians['stamped'] / medians['plain']:.2f}x "
          f"(+{medians['stamped'] - medians['plain']:.0f} ns per reclaim begin)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
