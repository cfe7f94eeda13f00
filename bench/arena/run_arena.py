#!/usr/bin/env python3
"""The arena: mmp against earlyoom, oomd, systemd-oomd, nohang and the
kernel's OOM killer, on the same scenarios, in one boot of the cgroup v2
guest of test/vm (same kernel, initramfs, 9p root; bench/arena/README.md).

Compiles the mmp contenders' policies on the host (against the host's BTF:
the guest loads them through CO-RE), boots the guest with arena_guest.py
as the program its PID 1 runs, and gathers the cells it ran into one
results file: {"header": {...}, "runs": [one object per cell]}.

usage: run_arena.py BIN_DIR [--scenario S]... [--contender C]... [--config K]...
                    [--reps N] [--memory MIB] [--out FILE] [--resume] [--budget S] [--smoke] [--collect]
  --resume: keep the cells OUT already holds and run only the others,
  adding them to it: a full run in several sittings. A cell of the plan
  is kept only when what makes it is the same (its fingerprint: the hog,
  the arena, the guest, its scenario, and for mmp cells mmrun and the
  compiled policy); a cell outside the plan (a sitting of some scenarios
  or contenders) is kept as it is. Each sitting's commit is recorded.
  --budget S: start no cell after S seconds of guest time (cells run
  repetition by repetition), so that a sitting has a bounded length.
  --collect: a sitting whose host process was cut off (its guest with
  it) left its finished cells in BIN_DIR's out directory: add them to OUT.
  --smoke: the CI version: one repetition of mmp-best and earlyoom (tuned)
  on fast_leak, benign_build and protected_service; asserts mmp's
  invariants (right victim, no kill where none is expected, nothing
  protected touched) and exits 1 when one fails.
"""
import argparse
import datetime
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "test", "vm"))
sys.path.insert(0, os.path.dirname(HERE))
import hostlib  # noqa: E402  (commit, policies, provenance)
import run_vm  # noqa: E402  (the guest: kernel, initramfs, boot)
import series  # noqa: E402  (the samples beside the results)

PEERS = ("earlyoom", "oomd", "systemd-oomd", "nohang")
CONTENDERS = ("kernel",) + PEERS + ("mmp-std", "mmp-best")
# The standard library's replica of each peer, and the peer it copies.
REPLICAS = {"std_earlyoom": "earlyoom", "std_systemd_oomd": "systemd-oomd", "std_oomd_desktop": "oomd"}
# A replica runs as its peer's `defaults` configuration does: systemd-oomd's
# are Fedora's (peers/systemd-oomd/defaults.*), the others' the tools' own.
REPLICA_WITH = {"std_systemd_oomd": " with pressure_limit = 50%, pressure_duration = 20s"}
BEST = "oom_guard"  # stdlib/std/oom_guard.mmp: the policy we recommend
SMOKE = {"scenarios": ["fast_leak", "benign_build", "protected_service"],
         "cells": [("mmp-best", "best"), ("earlyoom", "tuned")]}


def scenarios(names):
    found = sorted(n[:-5] for n in os.listdir(os.path.join(HERE, "scenarios")) if n.endswith(".json"))
    for n in names or []:
        if n not in found:
            sys.exit(f"run_arena: no scenario {n} (have: {', '.join(found)})")
    return names or found


def configs_of(contender):
    if contender == "kernel":
        return ["none"]
    if contender == "mmp-std":
        return list(REPLICAS)
    if contender == "mmp-best":
        return ["best"]
    return ["defaults", "tuned"]


def mmp_policy(scenario, config):
    """The text of an mmp contender's policy for a scenario: the standard
    library's policy imported as it ships; mmp-best also protects what the
    scenario protects (what its operator would write)."""
    if config == "best":
        lines = [f"policy best_{scenario['name']}", f'import "std/{BEST}"']
        lines += [f'protect "{p}"' for p in scenario.get("protected", [])]
    else:
        lines = [f"policy {config}_{scenario['name']}", f'import "std/{config[4:]}"{REPLICA_WITH.get(config, "")}']
    return "\n".join(lines) + "\n"


def compile_objects(mmpc, work, cells, scenario_data):
    for cell in cells:
        if not cell["contender"].startswith("mmp"):
            continue
        sc = scenario_data[cell["scenario"]]
        name = f"{cell['scenario']}.{cell['config']}"
        src, obj = os.path.join(work, name + ".mmp"), os.path.join(work, name + ".bpf.o")
        if not os.path.exists(obj):
            with open(src, "w") as f:
                f.write(mmp_policy(sc, cell["config"]))
            hostlib.compile_policy(mmpc, src, obj, "run_arena")
        cell["objects"] = [obj]


def _digest(h, path):
    h.update(os.path.relpath(path, REPO).encode() + b"\0")
    with open(path, "rb") as fh:
        h.update(hashlib.sha256(fh.read()).digest())


def fingerprint_cells(bindir, cells):
    """Sets each cell's `fingerprint`: a digest of what its outcome depends
    on, but the host. Every cell: the hog, the guest's side of the arena
    (harness, peers' configurations, workloads), the guest's own scripts
    and its scenario; an mmp cell also mmrun and its compiled object. So a
    change to mmrun or the standard library sets back only the mmp cells,
    and --resume keeps the peers' (mmpc's output is reproducible)."""
    common = hashlib.sha256()
    files = [os.path.join(bindir, "mmp_hog")]
    files += [os.path.join(HERE, n) for n in ("arena_guest.py", "peers.py", "setup")]
    files.append(os.path.join(os.path.dirname(HERE), "guestlib.py"))
    files += [os.path.join(REPO, "test", "vm", n) for n in ("run_vm.py", "guest-init.sh")]
    for top in (os.path.join(HERE, "peers"), os.path.join(HERE, "workloads")):
        for d, dirs, found in os.walk(top):
            dirs[:] = sorted(x for x in dirs if x != "__pycache__")
            files += [os.path.join(d, n) for n in sorted(found) if not n.endswith(".md")]
    for f in files:
        _digest(common, f)
    for cell in cells:
        h = common.copy()
        _digest(h, os.path.join(HERE, "scenarios", cell["scenario"] + ".json"))
        for f in ([os.path.join(bindir, "mmrun")] + cell["objects"]) if "objects" in cell else []:
            _digest(h, f)
        cell["fingerprint"] = h.hexdigest()


def smoke_verdict(runs):
    """mmp's invariants on the smoke cells: the messages of those broken."""
    bad = []
    for r in runs:
        where = f"{r['scenario']}/{r['contender']}/{r['config']}"
        if r.get("void"):
            bad.append(f"{where}: void ({r['void']})")
            continue
        if not r["contender"].startswith("mmp"):
            continue
        if r["protected_touched"]:
            bad.append(f"{where}: a protected cgroup was touched")
        if r["expect_kill"] and not (r["acted"] and r["right_victim"]):
            bad.append(f"{where}: expected the culprit to be killed (acted {r['acted']}, right {r['right_victim']})")
        if r["expect_kill"] and r["collateral"]:
            bad.append(f"{where}: {r['collateral']} collateral kill(s)")
        if not r["expect_kill"] and r["acted"]:
            bad.append(f"{where}: killed where no kill is expected ({r['deaths']})")
    return bad


def gather(a, outdir, cells, kept, chunks, planned, prov, rc, seconds, kver):
    """Reads the cells the guest wrote to OUTDIR and, but for a smoke run,
    writes OUT: the KEPT cells and these, with their samples beside them."""
    runs = []
    cells_path = os.path.join(outdir, "cells.jsonl")
    if os.path.exists(cells_path):
        runs = [json.loads(line) for line in open(cells_path) if line.strip()]
    for r, cell in zip(runs, cells):  # the guest runs the cells in order
        r["fingerprint"], r["commit"] = cell["fingerprint"], prov["commit"]
    date = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    chunks.append({"date": date, "commit": prov["commit"], "dirty": prov["dirty"], "command": prov["command"],
                   "cells_run": len(runs), "guest_seconds": round(seconds, 1), "guest_exit": rc})
    header = {"kind": "header", "date": date, "commit": prov["commit"], "dirty": prov["dirty"],
              "guest_kernel": kver, "guest_memory_mib": a.memory, "guest_cpus": 2, "accel": "QEMU TCG",
              "host_kernel": platform.release(), "host_cpus": os.cpu_count(),
              "command": prov["command"], "cells_planned": planned, "cells_run": len(kept) + len(runs),
              "guest_seconds": round(sum(c["guest_seconds"] for c in chunks), 1), "guest_exit": rc,
              "chunks": chunks}
    if a.smoke:
        return runs
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, "w") as f:
        json.dump({"header": header, "runs": kept + runs}, f, indent=1)
    # The samples behind the plots, beside the results (series.py).
    names = {f"{r['scenario']}.{r['contender']}.{r['config']}.{r['rep']}" for r in kept}
    fresh, sdir = {}, os.path.join(outdir, "series")
    for name in sorted(os.listdir(sdir)) if os.path.isdir(sdir) else []:
        fresh[name[:-5]] = json.load(open(os.path.join(sdir, name)))
    series.save(a.out, names, fresh)  # a dropped cell's samples go with it
    print(f"arena: wrote {a.out}")
    return runs


def collect(a, bindir):
    """--collect: a sitting cut off with its host process (a session's end)
    leaves the cells its guest finished in the out directory; adds them to
    OUT as one more sitting, made by the build in BIN_DIR."""
    outdir = os.path.join(os.path.dirname(bindir), "bench", "arena", "out")
    config = json.load(open(os.path.join(outdir, "config.json")))
    cells = config["cells"]
    old = json.load(open(a.out))
    key = lambda c: (c["scenario"], c["contender"], c["config"], c["rep"])  # noqa: E731
    cut = {key(c) for c in cells}
    kept = [r for r in old["runs"] if key(r) not in cut]
    repo = os.path.dirname(os.path.dirname(bindir))
    git = lambda *args: subprocess.run(["git", "-C", repo, *args], capture_output=True,  # noqa: E731
                                       text=True).stdout.strip()
    prov = hostlib.provenance(sys.argv)
    prov["commit"], prov["dirty"] = git("rev-parse", "HEAD"), bool(git("status", "--porcelain", "--untracked-files=no"))
    done = [json.loads(line) for line in open(os.path.join(outdir, "cells.jsonl")) if line.strip()]
    seconds = sum(r.get("cell_wall_s", 0) for r in done)  # the guest's clock ended with it
    runs = gather(a, outdir, cells, kept, old["header"].get("chunks", []), old["header"]["cells_planned"],
                  prov, "cut off", seconds, old["header"]["guest_kernel"])
    print(f"arena: collected {len(runs)} of the sitting's {len(cells)} cells; {len(kept) + len(runs)} in all")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("bin")
    ap.add_argument("--scenario", action="append")
    ap.add_argument("--contender", action="append", choices=CONTENDERS)
    ap.add_argument("--config", action="append")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--memory", type=int, default=1024, help="guest memory, MiB")
    ap.add_argument("--out", default=os.path.join(HERE, "results", "latest.json"))
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--collect", action="store_true",
                    help="add the cells of a sitting cut off with this process to OUT, and run none")
    ap.add_argument("--budget", type=float, metavar="SECONDS",
                    help="start no cell after this long in the guest; --resume runs the rest later")
    ap.add_argument("--timeout", type=float, default=None, help="the guest's limit (default 3 h, or budget + 15 min)")
    ap.add_argument("--record", action="store_true",
                    help="mmrun --record in mmp cells: traces in the run's out/traces, for mmrun replay")
    a = ap.parse_args()
    if a.timeout is None:
        a.timeout = a.budget + 900 if a.budget else 3 * 3600
    bindir = os.path.abspath(a.bin)
    if a.collect:
        return collect(a, bindir)
    qemu, busybox, modinfo = run_vm.prerequisites()
    missing = [p for p in PEERS if p != "systemd-oomd" and not shutil.which(p) and not os.path.exists(f"/usr/sbin/{p}")]
    if a.smoke:
        a.scenario, a.reps = SMOKE["scenarios"], 1
        if shutil.which("earlyoom") is None:
            run_vm.skip("earlyoom is not installed (bench/arena/setup installs the peers; scripts/setup runs it)")
    names = scenarios(a.scenario)
    scenario_data = {}
    for n in names:
        scenario_data[n] = json.load(open(os.path.join(HERE, "scenarios", n + ".json")))
        scenario_data[n]["name"] = n
    cells = []
    for rep in range(a.reps):
        for n in names:
            pairs = SMOKE["cells"] if a.smoke else [(c, k) for c in (a.contender or CONTENDERS) for k in configs_of(c)]
            for contender, config in pairs:
                if a.config and config not in a.config:
                    continue
                if contender in missing:
                    continue
                cells.append({"scenario": n, "contender": contender, "config": config, "rep": rep})
    prov = hostlib.provenance(sys.argv)
    kept, chunks, planned = [], [], len(cells)
    work = os.path.join(os.path.dirname(bindir), "bench", "arena")
    objdir = os.path.join(work, "objects")
    shutil.rmtree(objdir, ignore_errors=True)
    os.makedirs(objdir)
    compile_objects(os.path.join(bindir, "mmpc"), objdir, cells, scenario_data)
    fingerprint_cells(bindir, cells)
    if a.resume and os.path.exists(a.out):
        # A cell is kept only when made by what would make it now (its
        # fingerprint); results of two builds of mmrun do not mix.
        old = json.load(open(a.out))
        key = lambda c: (c["scenario"], c["contender"], c["config"], c["rep"])  # noqa: E731
        now = {key(c): c["fingerprint"] for c in cells}
        # A cell this sitting would not run (another scenario, contender or
        # configuration than asked) stays as it is: only a run that plans
        # it can tell whether it is still current.
        kept = [r for r in old["runs"] if not r.get("void") and now.get(key(r), r.get("fingerprint")) == r.get("fingerprint")]
        done = {key(r) for r in kept}
        cells = [c for c in cells if key(c) not in done]
        planned = max(planned, old["header"].get("cells_planned", 0))
        # A sitting none of whose cells is kept no longer counts (its guest time with it).
        chunks = [c for c in old["header"].get("chunks", []) if any(r.get("commit") == c["commit"] for r in kept)]
        outside = sum(1 for r in kept if key(r) not in now)
        print(f"arena: {len(kept)} cells kept from {a.out} ({outside} of them outside this sitting's plan), "
              f"{len(old['runs']) - len(kept)} dropped (void, or made by another build)", flush=True)
    if not cells:
        sys.exit("run_arena: no cell to run")
    started = time.monotonic()
    vmlinux, kver, outdir, initrd = run_vm.guest_files(work, busybox, modinfo)
    with open(os.path.join(outdir, "config.json"), "w") as f:
        json.dump({"bin": bindir, "cells": cells, "budget_s": a.budget, "record": a.record}, f)
    print(f"arena: {len(cells)} cells, guest {kver} with {a.memory} MiB under QEMU TCG "
          f"(host {platform.release()}); missing peers: {missing or 'none'}", flush=True)
    rc, seconds = run_vm.boot(qemu, vmlinux, initrd, outdir, a.timeout,
                              run_vm.hidden_trees([os.path.dirname(HERE), bindir, REPO]),
                              program=os.path.join(HERE, "arena_guest.py"), memory_mib=a.memory)
    runs = gather(a, outdir, cells, kept, chunks, planned, prov, rc, seconds, kver)
    print(f"arena: guest ran {seconds:.0f} s, {len(runs)} of {len(cells)} cells, "
          f"whole run {time.monotonic() - started:.0f} s", flush=True)
    if rc is None:
        print(f"FAIL the guest did not finish within {a.timeout:.0f} s (console: {outdir}/console.log)")
        return 1
    if a.smoke:
        bad = smoke_verdict(runs)
        if len(runs) != len(cells):
            bad.append(f"only {len(runs)} of {len(cells)} cells ran (console: {outdir}/console.log)")
        for r in runs:
            print(f"{r['scenario']:<20} {r['contender']:<10} {r['config']:<8} acted={r.get('acted')} "
                  f"right={r.get('right_victim')} t={r.get('time_to_action_s')} void={r.get('void')}")
        for b in bad:
            print("FAIL " + b)
        print(f"{len(bad)} invariant(s) broken")
        return 1 if bad else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
