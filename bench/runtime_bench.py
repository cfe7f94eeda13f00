#!/usr/bin/env python3
"""mmrun's reaction latency and footprint, on this machine's cgroup v1.

1. Reaction latency: from the moment a cgroup crosses a rule's threshold to
   the action taking effect (`kill largest process`: the victim's pidfd
   reports its exit), over TRIALS trials per path:
   - event-driven: the rule `memcg.usage > 95%` of a 64 MiB limit; the hog
     fills 56 MiB, then (t0) touches 16 MiB more, which reaches the limit and
     makes the kernel reclaim in the cgroup: the reclaim hook decides at
     once. The cgroup's OOM killer is disabled (memory.oom_control), so the
     hog waits at the limit instead of being killed by the kernel. Twice:
     mmrun kills; the rule kills `in kernel` (the hook signals the victim
     itself where the kernel has bpf_send_signal_task, 6.13+).
   - periodic: the rule `memcg.usage > 40MiB`, no limit, interval 1 s; the
     hog fills 32 MiB, waits a random 0-1 s (so that crossings fall
     anywhere in the interval), then (t0) 16 MiB more; the next walk decides.
   t0 is the hog's CLOCK_MONOTONIC just before it touches the memory that
   crosses; the end is when this script's poll on the hog's pidfd returns
   (CLOCK_MONOTONIC too): both include the kill's delivery and the exit.
   Also from t0 to the signal: the record's decided_ns (CLOCK_MONOTONIC),
   plus its latency_ms where mmrun sent the signal (the action's end).
   Every policy sets max_actions_per_second = 1000: trials come faster than
   the default 10 a second.
2. Footprint: mmrun running bench/policies/ten_v1.mmp (10 rules) in dry run
   over CGROUPS memory cgroups at a 1 s interval: resident memory (VmRSS,
   VmHWM) and CPU (utime + stime over SECONDS, after a warm-up).

Needs root and a cgroup v1 memory hierarchy (/sys/fs/cgroup/memory).
usage: runtime_bench.py BIN_DIR [--trials N] [--cgroups N] [--seconds S]
"""
import argparse
import json
import random
import os
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
V1 = "/sys/fs/cgroup/memory"
MIB = 1 << 20


def own_memory_cgroup():
    for line in open("/proc/self/cgroup"):
        _, ctrl, path = line.strip().split(":", 2)
        if "memory" in ctrl.split(","):
            return path
    return "/"


def write(path, value):
    with open(path, "w") as f:
        f.write(str(value))


def rmdir_retry(path):
    for _ in range(50):
        try:
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.1)


def compile_policy(bin_dir, tmp, name, text):
    src = os.path.join(tmp, name + ".mmp")
    with open(src, "w") as f:
        f.write(text)
    obj = os.path.join(tmp, name + ".bpf.o")
    subprocess.run([os.path.join(bin_dir, "mmpc"), "compile", src, "-o", obj], check=True)
    return obj


def start_mmrun(bin_dir, obj, interval, extra=()):
    p = subprocess.Popen([os.path.join(bin_dir, "mmrun"), "load", "--log-format=json", f"--interval={interval}",
                          *extra, obj], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return p


def stop_mmrun(p):
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=20)
    return [json.loads(l) for l in out.splitlines() if l.startswith("{")]


def trial(bin_dir, cgdir, pre, more, timeout, jitter=0.0):
    """One threshold crossing: (t0 in ns, the latency to the exit seen in
    ms or None on timeout)."""
    hog = subprocess.Popen([os.path.join(bin_dir, "mmp_hog"), cgdir, str(pre), str(more)],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        if not hog.stdout.readline().startswith("ready"):
            raise RuntimeError("the hog did not start")
        fd = os.pidfd_open(hog.pid)
        if jitter:
            time.sleep(jitter)  # not in step with the walk
        hog.stdin.write("go\n")
        hog.stdin.flush()
        go = hog.stdout.readline().split()
        t0 = int(go[1])
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        ready = poller.poll(timeout * 1000)
        end = time.monotonic_ns()
        os.close(fd)
        return t0, ((end - t0) / 1e6 if ready else None)
    finally:
        if hog.poll() is None:
            hog.kill()
        hog.wait()


def percentile(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def latency_path(bin_dir, base_rel, tmp, trials, prefix, rule, interval, limit, pre, more, jitter, where=""):
    """One path's trials: a cgroup per trial made before mmrun starts (so
    that the first walk puts it in scope), a hog crossing `rule`'s
    threshold in each. Returns (latencies to the exit in ms or None,
    latencies to the signal in ms or None, mmrun's records)."""
    base = V1 + base_rel
    obj = compile_policy(bin_dir, tmp, f"lat_{prefix}", f'policy lat_{prefix}\nset max_actions_per_second = 1000\n'
                         f'in "{base_rel}/{prefix}-*" {{\n'
                         f'  when {rule} kill largest process{where} cooldown 1s\n}}\n')
    dirs = []
    for i in range(trials):
        d = os.path.join(base, f"{prefix}-{i}")
        os.makedirs(d)
        if limit:
            write(os.path.join(d, "memory.limit_in_bytes"), limit)
            write(os.path.join(d, "memory.oom_control"), 1)  # mmrun kills, not the kernel
        dirs.append(d)
    p = start_mmrun(bin_dir, obj, interval)
    time.sleep(1.5)
    rng = random.Random(20261122)
    runs = [trial(bin_dir, d, pre, more, 10, rng.uniform(0, 1.0) if jitter else 0.0) for d in dirs]
    lat = [x for _, x in runs]
    records = stop_mmrun(p)
    signalled = []
    for i, (t0, _) in enumerate(runs):
        kill = next((r for r in records if r.get("action") == "kill" and r.get("outcome") == "enacted"
                     and r.get("cgroup", "").endswith(f"/{prefix}-{i}") and "decided_ns" in r), None)
        if not kill:
            signalled.append(None)
            continue
        at = kill["decided_ns"] + (0 if kill.get("by") == "kernel" else kill.get("latency_ms", 0) * 1e6)
        signalled.append((at - t0) / 1e6)
    by = sorted({r.get("by", "mmrun") for r in records if r.get("action") == "kill"})
    path = next((r.get("detail") for r in records if r.get("outcome") == "kill path"), None)
    if path:
        print(f"{prefix}: {path}; kills made by {', '.join(by)}")
    for d in dirs:
        rmdir_retry(d)
    other = [r for r in records if r.get("kind") != "info" and r.get("outcome") != "enacted"]
    if other:
        print(f"{prefix}: records other than enacted:", other[:3])
    # A trial with no reaction: what mmrun logged about its cgroup, to find out why.
    for i, x in enumerate(lat):
        if x is None:
            mine = [r for r in records if r.get("cgroup", "").endswith(f"/{prefix}-{i}")]
            print(f"{prefix} trial {i}: no reaction in 10 s; mmrun logged {mine or 'nothing'} for it")
    return lat, signalled, records


def latency(bin_dir, base_rel, tmp, trials):
    kills = lambda records: sum(1 for r in records if r.get("outcome") == "enacted" and r.get("action") == "kill")
    results = {}
    # Event-driven: the walk runs once a minute; the memcg reclaim hook decides.
    # The two event paths, one after the other in the same run.
    lat, sig, records = latency_path(bin_dir, base_rel, tmp, trials, "ev", "memcg.usage > 95%", "60s", 64 * MIB, 56,
                                     16, jitter=False)
    results["event, mmrun"] = (lat, sig, kills(records))
    lat, sig, records = latency_path(bin_dir, base_rel, tmp, trials, "ek", "memcg.usage > 95%", "60s", 64 * MIB, 56,
                                     16, jitter=False, where=" in kernel")
    results["event, in kernel"] = (lat, sig, kills(records))
    # Periodic: no limit, so no reclaim; the next walk decides.
    lat, sig, records = latency_path(bin_dir, base_rel, tmp, trials, "tk", "memcg.usage > 40MiB", "1s", 0, 32, 16,
                                     jitter=True)
    results["periodic (1 s)"] = (lat, sig, kills(records))

    print(f"reaction latency, {trials} trials per path, ms: threshold crossed -> victim's exit seen | -> signal sent")
    print(f"  {'path':<18} {'median':>8} {'p90':>8} {'p99':>8} {'max':>8} | {'median':>8} {'p99':>8} {'missed':>7} "
          f"{'kills':>6}")
    for name, (lat, sig, kills) in results.items():
        ok = [x for x in lat if x is not None]
        sent = [x for x in sig if x is not None]
        missed = len(lat) - len(ok)
        if not ok:
            print(f"  {name:<18} no reaction in {len(lat)} trials")
            continue
        signal_part = f"{statistics.median(sent):8.2f} {percentile(sent, 99):8.2f}" if sent else f"{'-':>8} {'-':>8}"
        print(f"  {name:<18} {statistics.median(ok):8.2f} {percentile(ok, 90):8.2f} {percentile(ok, 99):8.2f} "
              f"{max(ok):8.2f} | {signal_part} {missed:7d} {kills:6d}")


def proc_status(pid):
    out = {}
    for line in open(f"/proc/{pid}/status"):
        k, _, v = line.partition(":")
        if k in ("VmRSS", "VmHWM"):
            out[k] = int(v.split()[0])  # kB
    return out


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def footprint(bin_dir, base_rel, cgroups, seconds):
    base = V1 + base_rel
    fleet = os.path.join(base, "fleet")
    os.makedirs(fleet)
    dirs = []
    for i in range(cgroups):
        d = os.path.join(fleet, f"svc-{i // 25}", f"task-{i % 25}") if i % 25 else os.path.join(fleet, f"svc-{i // 25}")
        os.makedirs(d, exist_ok=True)
        dirs.append(d)
    obj_src = os.path.join(HERE, "policies", "ten_v1.mmp")
    tmp = tempfile.mkdtemp()
    obj = os.path.join(tmp, "ten_v1.bpf.o")
    subprocess.run([os.path.join(bin_dir, "mmpc"), "compile", obj_src, "-o", obj], check=True)
    p = start_mmrun(bin_dir, obj, "1s", ["--dry-run", "--cgroup-root", base])
    time.sleep(3)  # warm-up: first walks, scopes written
    c0, t0 = cpu_seconds(p.pid), time.monotonic()
    time.sleep(seconds)
    c1, t1 = cpu_seconds(p.pid), time.monotonic()
    mem = proc_status(p.pid)
    records = stop_mmrun(p)
    cpu = (c1 - c0) / (t1 - t0) * 100
    counted = sum(1 for e in os.scandir(fleet) if e.is_dir())
    print(f"footprint: bench/policies/ten_v1.mmp (10 rules), {cgroups} cgroups ({counted} services), "
          f"interval 1 s, dry run, {seconds} s")
    print(f"  RSS {mem.get('VmRSS', 0) / 1024:.1f} MiB (peak {mem.get('VmHWM', 0) / 1024:.1f} MiB), "
          f"CPU {cpu:.3f}% of one CPU ({c1 - c0:.2f} s in {t1 - t0:.1f} s), "
          f"{sum(1 for r in records if r.get('kind') == 'decision')} decisions")
    for d in reversed(dirs):
        rmdir_retry(d)
    for d in sorted(os.listdir(fleet)):
        rmdir_retry(os.path.join(fleet, d))
    rmdir_retry(fleet)
    shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("bin_dir")
    ap.add_argument("--trials", type=int, default=50)
    ap.add_argument("--cgroups", type=int, default=500)
    ap.add_argument("--seconds", type=int, default=30)
    ap.add_argument("--only", choices=["latency", "footprint"])
    a = ap.parse_args()
    if os.geteuid() != 0 or not os.path.exists(os.path.join(V1, "memory.usage_in_bytes")):
        print("runtime_bench.py: needs root and a cgroup v1 memory hierarchy", file=sys.stderr)
        return 1
    base_rel = f"{own_memory_cgroup().rstrip('/')}/mmp-bench-{os.getpid()}"
    os.makedirs(V1 + base_rel)
    tmp = tempfile.mkdtemp()
    print(f"machine: {os.uname().release}, {os.cpu_count()} CPUs, load average "
          f"{' '.join(open('/proc/loadavg').read().split()[:3])}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    try:
        if a.only != "footprint":
            latency(a.bin_dir, base_rel, tmp, a.trials)
        if a.only != "latency":
            footprint(a.bin_dir, base_rel, a.cgroups, a.seconds)
    finally:
        rmdir_retry(V1 + base_rel)
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
