#!/usr/bin/env python3
"""A manual check of peers.py in the cgroup v2 guest: starts each peer with
each configuration on two small scenarios and shows whether it kills the
culprit by its own logic (not the kernel's OOM killer), and that stop()
leaves nothing. Not part of the test suite; run from the host as root:

    MMP_VM_COMMAND="python3 $PWD/bench/arena/try_peers.py" \
        python3 test/vm/run_vm.py build/bin
    (optionally: try_peers.py PEER[:CONFIG[:SCENARIO]] ...)

Scenarios (guest -m 1024):
  leak    no swap; `tail /dev/zero` in /workload.slice/leak.service, a
          protected `sleep` in /system.slice/keep.service; threshold
          MemAvailable below 10 %.
  thrash  zram swap; a hog touching 160 MiB over and over in
          /user.slice/thrash.service under memory.high = 64M, a protected
          service holding 450 MiB in /system.slice/keep.service; threshold
          PSI full avg10 of the hog's cgroup above 10 %.
  swapleak  the leak with 256 MiB of zram swap, in /system.slice/leak.service
          (where Debian's oomd ruleset looks); threshold MemAvailable below 10 %.
Each peer's log goes to OUT/peers/ (OUT: the results share, /run/mmp-out).
"""
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
import peers  # noqa: E402
from guestlib import meminfo, read, set_swap, vmstat, write  # noqa: E402

CG = "/sys/fs/cgroup"
OUT = os.path.join(os.environ.get("MMP_OUT", "/run/mmp-out"), "peers")

SCENARIOS = {
    "leak": {
        "title": "a tail /dev/zero leak, no swap",
        "swap": 0,
        "cgroups": {"/workload.slice/leak.service": {}, "/system.slice/keep.service": {}},
        "workloads": [
            {"name": "keep", "cgroup": "/system.slice/keep.service", "cmd": ["sleep", "100000"], "role": "service"},
            {"name": "leak", "cgroup": "/workload.slice/leak.service", "cmd": ["tail", "/dev/zero"],
             "role": "culprit"},
        ],
        "culprit": "/workload.slice/leak.service",
        "protected": ["/system.slice/keep.service"],
        "expect_kill": True,
        "threshold": {"kind": "mem_available_pct", "below": 10},
        "duration_s": 90,
    },
    "swapleak": {
        "title": "the same leak with zram swap, in system.slice (the layout Debian's oomd ruleset watches)",
        "swap": 256,
        "cgroups": {"/system.slice/leak.service": {}, "/system.slice/keep.service": {}},
        "workloads": [
            {"name": "keep", "cgroup": "/system.slice/keep.service", "cmd": ["sleep", "100000"], "role": "service"},
            {"name": "leak", "cgroup": "/system.slice/leak.service", "cmd": ["tail", "/dev/zero"],
             "role": "culprit"},
        ],
        "culprit": "/system.slice/leak.service",
        "protected": ["/system.slice/keep.service"],
        "expect_kill": True,
        "threshold": {"kind": "mem_available_pct", "below": 10},
        "duration_s": 90,
    },
    "thrash": {
        "title": "a hog thrashing under memory.high, zram swap",
        "swap": 256,
        "cgroups": {"/user.slice/thrash.service": {"memory.high": "64M"}, "/system.slice/keep.service": {}},
        "workloads": [
            # A protected service holding 450 MiB: MemAvailable about 40 %,
            # below nohang's widest PSI gate (50 %, see its tuned config).
            {"name": "keep", "cgroup": "/system.slice/keep.service",
             "cmd": ["python3", os.path.abspath(__file__), "hold", "450"], "role": "service"},
            {"name": "thrash", "cgroup": "/user.slice/thrash.service",
             "cmd": ["python3", os.path.abspath(__file__), "hog", "160"], "role": "culprit"},
        ],
        "culprit": "/user.slice/thrash.service",
        "protected": ["/system.slice/keep.service"],
        "expect_kill": True,
        "threshold": {"kind": "psi_full_avg10", "cgroup": "/user.slice/thrash.service", "above": 10},
        "duration_s": 75,
    },
}
# earlyoom reads /proc/meminfo only: the PSI scenario is no test of it.
PLAN = [(p, c, "leak") for p in peers.NAMES for c in peers.CONFIGS] + \
       [(p, c, "swapleak") for p in peers.NAMES for c in peers.CONFIGS] + \
       [(p, c, "thrash") for p in ("oomd", "systemd-oomd", "nohang") for c in peers.CONFIGS]


def hog(mib):
    """Touches every page of mib MiB, over and over (a working set that
    does not fit under memory.high: reclaim, swap-in, pressure)."""
    a = bytearray(mib << 20)
    n = 0
    while True:
        for i in range(0, len(a), 4096):
            a[i] = n & 255
        n += 1


def hold(mib):
    """Holds mib MiB of touched memory and sleeps."""
    a = bytearray(mib << 20)
    for i in range(0, len(a), 4096):
        a[i] = 1
    while True:
        time.sleep(3600)


def mkcg(path, files=None):
    parts = path.strip("/").split("/")
    for i in range(1, len(parts) + 1):
        d = os.path.join(CG, *parts[:i])
        if not os.path.isdir(d):
            os.mkdir(d)
        if i < len(parts):
            ctl = read(os.path.join(d, "cgroup.subtree_control"))
            if "memory" not in ctl.split():
                write(os.path.join(d, "cgroup.subtree_control"), "+memory")
    for k, v in (files or {}).items():
        write(os.path.join(CG, path.strip("/"), k), str(v))
    return os.path.join(CG, path.strip("/"))


def rmcg(path):
    """Kills what is left in path and removes it and its empty parents."""
    d = os.path.join(CG, path.strip("/"))
    if not os.path.isdir(d):
        return
    write(os.path.join(d, "cgroup.kill"), "1")
    for _ in range(200):
        if "populated 0" in read(os.path.join(d, "cgroup.events")):
            break
        time.sleep(0.05)
    while d != CG:
        try:
            os.rmdir(d)
        except OSError:
            break
        d = os.path.dirname(d)


def enter(cgdir):
    def f():
        write(os.path.join(cgdir, "cgroup.procs"), "0")
    return f


def run(name, config, sname):
    sc = SCENARIOS[sname]
    tag = f"{name}-{config}-{sname}"
    print(f"=== {tag}", flush=True)
    set_swap(sc["swap"])
    for c, files in sc["cgroups"].items():
        mkcg(c, files)
    peer_cg = mkcg(f"/peers.slice/{tag}")
    result = {"peer": name, "config": config, "scenario": sname}
    contender = peers.make(name, config, sc)
    t0 = time.monotonic()
    try:
        contender.start(peer_cg)
    except peers.PeerError as e:
        result["start"] = f"failed: {e}"
        print(f"RESULT {tag}: start failed: {str(e).splitlines()[0]}", flush=True)
        os.makedirs(OUT, exist_ok=True)
        write(os.path.join(OUT, tag + ".log"), str(e))
        rmcg(f"/peers.slice/{tag}")
        return result
    result["start_s"] = round(time.monotonic() - t0, 1)
    oom0 = vmstat("oom_kill")
    procs = {}
    for w in sc["workloads"]:
        procs[w["name"]] = subprocess.Popen(w["cmd"], preexec_fn=enter(os.path.join(CG, w["cgroup"].strip("/"))),
                                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                            stderr=subprocess.DEVNULL, close_fds=True)
    t1 = time.monotonic()
    culprit = next(w["name"] for w in sc["workloads"] if w["role"] == "culprit")
    low = None
    while time.monotonic() - t1 < sc["duration_s"]:
        if procs[culprit].poll() is not None:
            break
        mi = meminfo()
        avail = 100 * mi["MemAvailable"] / mi["MemTotal"]
        low = avail if low is None else min(low, avail)
        time.sleep(0.2)
    rc = procs[culprit].poll()
    result["culprit_exit"] = rc
    result["culprit_s"] = round(time.monotonic() - t1, 1)
    result["kernel_oom_kills"] = vmstat("oom_kill") - oom0
    result["lowest_mem_available_pct"] = round(low or 0, 1)
    result["protected_alive"] = all(procs[w["name"]].poll() is None for w in sc["workloads"]
                                    if any(w["cgroup"].startswith(p) for p in sc["protected"]))
    if sname == "thrash":
        result["culprit_pressure"] = read(os.path.join(CG, sc["culprit"].strip("/"), "memory.pressure")).strip()
    try:
        contender.stop()
        result["stop"] = "clean"
    except peers.PeerError as e:
        result["stop"] = f"RAISED: {e}"
    result["peer_cgroup_procs_after_stop"] = read(os.path.join(peer_cg, "cgroup.procs")).split()
    log = contender.log()
    os.makedirs(OUT, exist_ok=True)
    write(os.path.join(OUT, tag + ".log"), log)
    for c in sc["cgroups"]:
        rmcg(c)
    for p in procs.values():
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
    rmcg(f"/peers.slice/{tag}")
    killed = rc is not None and rc < 0
    verdict = ("KILLED by the peer" if killed and result["kernel_oom_kills"] == 0
               else "killed by the KERNEL OOM killer" if killed
               else f"not killed in {sc['duration_s']} s" if rc is None else f"exited {rc}")
    result["verdict"] = verdict
    print(f"RESULT {tag}: {verdict}; " + json.dumps(result), flush=True)
    keys = ("SIGTERM", "SIGKILL", "sending", "kill", "Kill", "victim", "Marked", "varlink", "ERROR", "rror",
            "Failed", "monitoring", "started")
    for line in log.splitlines():
        if any(k in line for k in keys):
            print(f"  log| {line[:300]}", flush=True)
    return result


def main():
    if len(sys.argv) > 2 and sys.argv[1] in ("hog", "hold"):
        {"hog": hog, "hold": hold}[sys.argv[1]](int(sys.argv[2]))
        return 0
    # Each argument PEER[:CONFIG[:SCENARIO]] runs what it names (again if repeated).
    plan = [step for w in sys.argv[1:] for step in PLAN
            if f"{step[0]}:{step[1]}:{step[2]}".startswith(w) and (":" in w or step[0] == w)] \
        if sys.argv[1:] else PLAN
    results = [run(*step) for step in plan]
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    print("SUMMARY")
    for r in results:
        print(f"  {r['peer']:13} {r['config']:9} {r['scenario']:7} {r.get('verdict', r.get('start'))[:100]}"
              f" | stop: {r.get('stop', '-')[:60]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
