#!/usr/bin/env python3
"""The reclaim benchmark: proactive reclaim on a real service under real
load, in the cgroup v2 guest of test/vm (same kernel, initramfs, 9p root;
zram swap), measured against no policy, a fixed memory.high, mmp's
std/senpai, mmp's std/proactive and oomd's own Senpai (bench/RECLAIM.md).

Compiles the mmp contenders' policies on the host (against the host's BTF:
the guest loads them through CO-RE), boots the guest with
reclaim_guest.py as the program its PID 1 runs, gathers the cells into one
results file, {"header": {...}, "runs": [one object per cell]}, and adds
to each run its figures relative to `none` on the same workload (the mean
of none's repetitions).

usage: run_reclaim.py BIN_DIR [--workload W]... [--contender C]... [--reps N]
                      [--out FILE] [--smoke] [--collect] [--paired | --twin]
  --twin: every cell runs a second instance of its service beside the
  first, outside every contender's reach, loaded from the same second;
  each cell's saved, loss and p99 figures are then against its twin.
  --smoke: the CI version: redis, none against mmp-best, two repetitions
  (none, best, best, none), short phases; exits 1 unless mmp-best saves,
  on average, at least SMOKE_SAVED_PCT of the memory none holds while the
  service keeps serving: fewer than SMOKE_STARVED_PCT of none's ops/s
  means reclaim took the hot set. Throughput is not judged finer here:
  under TCG on a shared host one contender's samples swing by a quarter
  between runs of the same build (CI saw a 28% loss where the previous
  run passed under 20%); the benchmark measures it, over 5 repetitions.
"""
import argparse
import gzip
import json
import os
import shutil
import signal
import statistics
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "test", "vm"))
sys.path.insert(0, os.path.dirname(HERE))
import hostlib  # noqa: E402  (commit, policies, provenance)
import run_vm  # noqa: E402  (the guest: kernel, initramfs, boot)

CONTENDERS = ("none", "fixed", "mmp-senpai", "mmp-best", "oomd-senpai")
POLICIES = {"mmp-senpai": "senpai", "mmp-best": "proactive"}  # stdlib/std/NAME.mmp, imported unchanged
WORKLOADS = {
    # 160,000 cold values of 1,000 bytes (about 185 MiB in redis) beside
    # a hot set of 10,000 keys that redis-benchmark reads and writes.
    "redis": {"cold_keys": 160000, "hot_keys": 10000, "value_bytes": 1000, "round_requests": 5000},
    # The same cold set in memcached beside memaslap's 8 x 1,000 keys.
    "memcached": {"cold_keys": 160000, "hot_keys": 8000, "value_bytes": 1000, "round_requests": None},
    # pgbench's tables at scale 4 (400,000 accounts, about 60 MiB with their
    # index) prewarmed into shared_buffers of 160 MiB; the load updates and
    # reads 20,000 of the accounts (5%).
    "postgresql": {"scale": 4, "shared_buffers_mib": 160, "hot_rows": 20000, "round_requests": None},
    # The redis workload beside container churn: a job every 2 s, each in a
    # cgroup of its own for 6 s, writing 32 MiB over and over.
    "churn": {"cold_keys": 160000, "hot_keys": 10000, "value_bytes": 1000, "round_requests": 5000,
              "job_every_s": 2, "job_s": 6, "job_mib": 32},
}
TOOLS = {"redis": ("redis-server", "redis-benchmark"), "memcached": ("memcached", "memcaslap"),
         "postgresql": ("/usr/lib/postgresql/15/bin/postgres", "pgbench", "psql", "setpriv"),
         "churn": ("redis-server", "redis-benchmark", "stress-ng")}
# Sized so that the full run (4 workloads, 5 contenders, 3 repetitions:
# 60 cells of about 2 minutes) fits in 2 hours of guest time.
TIMING = {"load_s": 80, "steady_s": 30, "return_s": 15}
FIXED_SHARE = 0.8  # the fixed contender's memory.high: 80% of the filled service's memory.current
# The smoke's window (32 to 44 s) follows std/proactive's first 10 s of
# quiet and, when its first step makes redis stall, the 10 s it then
# waits: at 32 s it saw only that first step.
SMOKE = {"workloads": {"redis": {"cold_keys": 90000, "hot_keys": 4000, "value_bytes": 1000,
                                 "round_requests": 2500}},
         "timing": {"load_s": 44, "steady_s": 12, "return_s": 0},
         "contenders": ["none", "mmp-best"], "reps": 2}
SMOKE_SAVED_PCT = 10.0
SMOKE_STARVED_PCT = 50.0
RECOVERED = 1.25   # return phase: recovered once every later round's p99 is within 1.25x none's


def parse_with(items, contenders):
    """--with CONTENDER:NAME=VALUE, each: the `with` of an mmp contender's
    import by contender ({"mmp-best": ["refaults = 200/1s"]}); a
    ValueError says what is wrong with one."""
    params = {}
    for item in items:
        c, sep, assign = item.partition(":")
        if c not in POLICIES or not sep or "=" not in assign:
            raise ValueError(f"--with {item}: expected CONTENDER:NAME=VALUE with CONTENDER one of "
                             f"{', '.join(POLICIES)}")
        if c not in contenders:
            raise ValueError(f"--with {item}: {c} is not among this run's contenders")
        params.setdefault(c, []).append(assign.replace("=", " = ", 1))
    return params


def import_source(contender, params=None):
    """The policy an mmp contender runs: its std policy, imported unchanged
    but for the parameters given."""
    with_ = f" with {', '.join(params[contender])}" if params and params.get(contender) else ""
    return f'policy bench_{POLICIES[contender]}\nimport "std/{POLICIES[contender]}"{with_}\n'


def compile_objects(mmpc, objdir, contenders, params=None):
    objects = {}
    for c in contenders:
        if c not in POLICIES:
            continue
        src, obj = os.path.join(objdir, c + ".mmp"), os.path.join(objdir, c + ".bpf.o")
        with open(src, "w") as f:
            f.write(import_source(c, params))
        hostlib.compile_policy(mmpc, src, obj, "run_reclaim")
        objects[c] = [obj]
    return objects


def pct(a, b):
    return round(100.0 * a / b, 2) if a is not None and b else None


def relate(runs):
    """Each run's figures against none's mean on the same workload."""
    for w in {r["workload"] for r in runs}:
        base = [r for r in runs if r["workload"] == w and r["contender"] == "none" and not r.get("void")]
        if not base:
            continue
        def mean(k):  # none where the load tool gives no such figure (memaslap: no p99)
            xs = [r[k] for r in base if r.get(k) is not None]
            return statistics.mean(xs) if xs else None
        mem, zr, ops, p99 = mean("mem_mean_mib"), mean("zram_mib"), mean("ops_per_s"), mean("p99_ms")
        ret_p99 = mean("return_p99_ms") if all(r.get("return_p99_ms") for r in base) else None
        for r in runs:
            if r["workload"] != w or r.get("void"):
                continue
            r["mem_saved_pct"] = round(100 - pct(r["mem_mean_mib"], mem), 2)
            r["net_saved_pct"] = round(100 - pct(r["mem_mean_mib"] + r["zram_mib"], mem + zr), 2)
            r["ops_loss_pct"] = round(100 - pct(r["ops_per_s"], ops), 2) if r.get("ops_per_s") and ops else None
            r["p99_increase_pct"] = round(pct(r["p99_ms"], p99) - 100, 2) if r.get("p99_ms") and p99 else None
            if ret_p99 and r.get("return_rounds"):
                slow = [t for t, _, p in r["return_rounds"] if p > RECOVERED * ret_p99]
                r["recovery_s"] = slow[-1] if slow else 0.0
                r["return_p99_increase_pct"] = round(pct(r["return_p99_ms"], ret_p99) - 100, 2)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("bin")
    ap.add_argument("--workload", action="append", choices=sorted(WORKLOADS))
    ap.add_argument("--contender", action="append", choices=CONTENDERS)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--memory", type=int, default=1024, help="guest memory, MiB")
    ap.add_argument("--out", default=os.path.join(HERE, "results", "latest.json"))
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--timeout", type=float, default=2 * 3600)
    ap.add_argument("--paired", action="store_true",
                    help="two guests side by side: each cell of a contender beside a cell of none started with it")
    ap.add_argument("--twin", action="store_true",
                    help="a second, untouched instance of the service beside each cell's, loaded with it")
    ap.add_argument("--collect", action="store_true",
                    help="write OUT from the cells the last run left in the build directory, and run none")
    ap.add_argument("--with", dest="params", action="append", default=[], metavar="CONTENDER:NAME=VALUE",
                    help="set a parameter of an mmp contender's policy (mmp-best:refaults=200/1s); "
                         "the results' header records it")
    a = ap.parse_args()
    if a.twin and (a.paired or a.smoke):
        ap.error("--twin runs one guest, not with --paired or --smoke")
    bindir = os.path.abspath(a.bin)
    qemu, busybox, modinfo = run_vm.prerequisites()
    workloads = {w: WORKLOADS[w] for w in (a.workload or WORKLOADS)}
    contenders, timing = a.contender or list(CONTENDERS), TIMING
    if a.smoke:
        workloads, timing, contenders, a.reps = SMOKE["workloads"], SMOKE["timing"], SMOKE["contenders"], SMOKE["reps"]
    for tool in (t for w in workloads for t in TOOLS[w]):
        if not shutil.which(tool):
            run_vm.skip(f"{tool} is not installed (bench/arena/setup installs it; scripts/setup runs that)")
    try:
        params = parse_with(a.params, contenders)
    except ValueError as e:
        ap.error(str(e))
    if "oomd-senpai" in contenders and not os.path.exists("/usr/bin/oomd"):
        print("reclaim: oomd is not installed: no oomd-senpai cells", flush=True)
        contenders = [c for c in contenders if c != "oomd-senpai"]
    work = os.path.join(os.path.dirname(bindir), "bench", "reclaim")
    if a.collect:
        return collect(a, work)
    objdir = os.path.join(work, "objects")
    shutil.rmtree(objdir, ignore_errors=True)
    os.makedirs(objdir)
    objects = compile_objects(os.path.join(bindir, "mmpc"), objdir, contenders, params)
    # Repetitions outermost and contenders innermost: a drift of the host
    # over the run falls on every contender alike.
    # Odd repetitions run the contenders in reverse (A B B A ...): a drift
    # of the host's speed over the run weighs on all alike.
    cells = [{"workload": w, "contender": c, "rep": rep, "objects": objects.get(c)}
             for rep in range(a.reps) for w in workloads for c in (contenders[::-1] if rep % 2 else contenders)]
    if a.paired:
        # Pair K is cell K of each guest: a contender's cell and a cell of
        # none. The guests swap roles from pair to pair (a guest that ran
        # faster would favour no one), and none's own cells, when asked
        # for, are paired with none: how far two runs of the same thing
        # differ side by side, the floor under every other pair's figures.
        plans, turns = [[], []], {}
        for k, c in enumerate(cells):
            side = turns[c["workload"], c["contender"]] = 1 - turns.get((c["workload"], c["contender"]), 1)
            base = dict(c, contender="none", objects=None, pair=k, partner=c["contender"], base=True)
            plans[side].append(base)
            plans[1 - side].append(dict(c, pair=k, partner="none"))
    else:
        plans = [cells]
    prov = hostlib.provenance(sys.argv)
    started = time.monotonic()
    vmlinux, kver, outdir, initrd = run_vm.guest_files(work, busybox, modinfo)
    outdirs = [outdir] + [pair_dir(outdir)] * a.paired
    shutil.rmtree(pair_dir(outdir), ignore_errors=True)
    for d, plan in zip(outdirs, plans):
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump({"bin": bindir, "cells": plan, "workloads": workloads, "timing": timing,
                       "fixed_share": FIXED_SHARE, "twin": a.twin}, f)
    planned = sum(len(p) for p in plans)
    print(f"reclaim: {planned} cells, {len(plans)} guest(s) {kver} with {a.memory} MiB each under QEMU TCG",
          flush=True)
    boot = lambda d, label: run_vm.boot(  # noqa: E731
        qemu, vmlinux, initrd, d, a.timeout, run_vm.hidden_trees([os.path.dirname(HERE), bindir, REPO]),
        program=os.path.join(HERE, "reclaim_guest.py"), memory_mib=a.memory, label=label)
    if a.paired:
        rc, seconds = boot_pair(boot, outdirs, len(plans[0]))
    else:
        rc, seconds = boot(outdir, "guest")
    header = dict(prov, kind="header", guest_kernel=kver, guest_memory_mib=a.memory, guest_cpus=2,
                  accel="QEMU TCG", zram_mib=1024, workloads=workloads, timing=timing, fixed_share=FIXED_SHARE,
                  policies={c: f"stdlib/std/{p}.mmp" for c, p in POLICIES.items()}, params=params, paired=a.paired, twin=a.twin,
                  guests=len(plans), cells_planned=planned, guest_seconds=round(seconds, 1), guest_exit=rc)
    with open(os.path.join(outdir, "header.json"), "w") as f:
        json.dump(header, f)  # for --collect, should what follows fail
    runs = gather(outdir, header, None if a.smoke else a.out)
    print(f"reclaim: guest ran {seconds:.0f} s, {len(runs)} of {planned} cells, "
          f"whole run {time.monotonic() - started:.0f} s", flush=True)
    for r in runs:
        print(f"{r['workload']:<8} {r['contender']:<12} rep {r['rep']}: mem {r.get('mem_mean_mib')} MiB "
              f"(saved {r.get('mem_saved_pct')}%, net {r.get('net_saved_pct')}%), ops/s {r.get('ops_per_s')} "
              f"(loss {r.get('ops_loss_pct')}%), p99 {r.get('p99_ms')} ms (+{r.get('p99_increase_pct')}%), "
              f"converge {r.get('converge_s')} s, void {r.get('void')}")
    if rc is None:
        print(f"FAIL the guest did not finish within {a.timeout:.0f} s (console: {outdir}/console.log)")
        return 1
    if a.smoke:
        return smoke_verdict(runs, planned, outdir)
    return 0


def pair_dir(outdir):
    return outdir + "-pair"


def boot_pair(boot, outdirs, pairs):
    """Boots the two guests of a paired run side by side and starts each
    pair's load in both at once: go-K in both folders once each guest has
    filled its cell of pair K (ready-K) or ended it (done-K). Returns the
    worse guest's exit status (None if one timed out) and the longer
    time."""
    results = [None, None]
    signal.signal(signal.SIGTERM, run_vm.stop_guests)  # the threads cannot: both guests go
    signal.signal(signal.SIGINT, run_vm.stop_guests)

    def run(i):
        results[i] = boot(outdirs[i], f"guest{i}")

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(2)]
    for t in threads:
        t.start()
    k = 0
    while any(t.is_alive() for t in threads):
        if k < pairs and all(os.path.exists(os.path.join(d, f"ready-{k}")) or os.path.exists(os.path.join(d, f"done-{k}"))
                             for d in outdirs):
            for d in outdirs:
                with open(os.path.join(d, f"go-{k}"), "w"):
                    pass
            k += 1
        time.sleep(0.02)
    for t in threads:
        t.join()
    rcs = [r[0] for r in results]
    rc = None if None in rcs else max(rcs)
    return rc, max(r[1] for r in results)


def relate_pairs(runs):
    """A paired run: each contender's figures against the none that ran
    beside it, started with it (same pair), rather than none's mean."""
    nones = {r["pair"]: r for r in runs if r.get("base") and not r.get("void")}
    for r in runs:
        base = nones.get(r.get("pair"))
        if r is base or r.get("void") or "pair" not in r:
            continue
        if base is None:
            r["paired_void"] = "its none cell is void"
            continue
        relate_to(r, base)


def relate_twins(runs):
    """A --twin run: each cell's figures against its own twin, the same
    service untouched beside it under the same load in the same seconds
    (none's cells: how far two untouched instances differ, the floor)."""
    for r in runs:
        if not r.get("void") and r.get("twin"):
            relate_to(r, r["twin"])


def relate_to(r, base):
    """Run r's saved, loss and p99 figures against `base`'s."""
    r["mem_saved_pct"] = round(100 - pct(r["mem_mean_mib"], base["mem_mean_mib"]), 2)
    r["net_saved_pct"] = round(100 - pct(r["mem_mean_mib"] + r["zram_mib"],
                                         base["mem_mean_mib"] + base["zram_mib"]), 2)
    r["ops_loss_pct"] = (round(100 - pct(r["ops_per_s"], base["ops_per_s"]), 2)
                         if r.get("ops_per_s") and base.get("ops_per_s") else None)
    r["p99_increase_pct"] = (round(pct(r["p99_ms"], base["p99_ms"]) - 100, 2)
                             if r.get("p99_ms") and base.get("p99_ms") else None)


def gather(outdir, header, out):
    """The cells of OUTDIR with their figures against none's; written to
    `out` (and the samples beside it) unless it is None."""
    dirs = [outdir] + [pair_dir(outdir)] * bool(header.get("paired"))
    runs = []
    for d in dirs:
        cells_path = os.path.join(d, "cells.jsonl")
        runs += [json.loads(line) for line in open(cells_path) if line.strip()] if os.path.exists(cells_path) else []
    relate(runs)
    if header.get("paired"):
        relate_pairs(runs)
    if header.get("twin"):
        relate_twins(runs)
    header["cells_run"] = len(runs)
    if out is None:
        return runs
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w") as f:
        json.dump({"header": header, "runs": runs}, f, indent=1)
    series = {}
    for sdir in (os.path.join(d, "series") for d in dirs):
        for name in sorted(os.listdir(sdir)) if os.path.isdir(sdir) else []:
            series[name[:-5]] = json.load(open(os.path.join(sdir, name)))
    with gzip.open(os.path.splitext(out)[0] + "-series.json.gz", "wt") as f:
        json.dump(series, f, separators=(",", ":"))
    print(f"reclaim: wrote {out}")
    return runs


def collect(a, work):
    """--collect: the last run's cells, as it would have written them."""
    outdir = os.path.join(work, "out")
    path = os.path.join(outdir, "header.json")
    if not os.path.exists(path):
        print(f"reclaim: no header.json in {outdir}: nothing to collect", file=sys.stderr)
        return 1
    runs = gather(outdir, json.load(open(path)), a.out)
    print(f"reclaim: collected {len(runs)} cells from {outdir}")
    return 0


def smoke_verdict(runs, planned, outdir):
    bad = []
    if len(runs) != planned:
        bad.append(f"only {len(runs)} of {planned} cells ran (console: {outdir}/console.log)")
    bad += [f"{r['contender']}: void ({r['void']})" for r in runs if r.get("void")]
    best = [r for r in runs if r["contender"] == "mmp-best" and not r.get("void")]
    if best and all(r.get("mem_saved_pct") is not None for r in best):
        # Each repetition is already against the mean of none's.
        saved = round(statistics.mean(r["mem_saved_pct"] for r in best), 2)
        losses = [r["ops_loss_pct"] for r in best]
        loss = round(statistics.mean(losses), 2) if None not in losses else None
        print(f"mmp-best on average: saved {saved}% of none's memory, lost {loss}% of its ops/s")
        if saved < SMOKE_SAVED_PCT:
            bad.append(f"mmp-best saved {saved}% of none's memory (at least {SMOKE_SAVED_PCT}%)")
        if loss is None or loss > 100 - SMOKE_STARVED_PCT:
            bad.append(f"mmp-best lost {loss}% of none's ops/s: the service starved "
                       f"(it must keep at least {SMOKE_STARVED_PCT}%)")
    elif not bad:
        bad.append("no figures for mmp-best against none")
    for b in bad:
        print("FAIL " + b)
    print(f"{len(bad)} check(s) failed")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
