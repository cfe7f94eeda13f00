#!/usr/bin/env python3
"""The arena inside the cgroup v2 guest: every cell (scenario, contender,
configuration, repetition) of config.json, one after another, each on a
machine set back to the same state (swap, page cache, cgroups).

A cell: make the scenario's cgroups; start the contender in /arena.slice/
daemon (mmrun, a peer, or nothing for `kernel`); start the workloads, each
placed in its cgroup before it runs; sample what the kernel reports every
SAMPLE_S (MemAvailable, PSI, the culprit's memory.current and pressure);
note each workload's death (time, signal) and the kernel's OOM kills
(memory.events oom_kill of each workload's cgroup, /proc/vmstat oom_kill);
end once the culprit is dead and the rest has settled, or at the
scenario's duration; end the contender with cgroup.kill (a cell whose
contender left anything behind is void) and every workload.

Writes OUT/cells.jsonl (one object per cell, as it ends) and
OUT/series/CELL.json (the samples, for the plots).
usage: arena_guest.py OUT_DIR   (PID 1's child: see guest-init.sh)
"""
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback

OUT = sys.argv[1]
CONFIG = json.load(open(os.path.join(OUT, "config.json")))
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import peers  # noqa: E402  (the peers' configurations and daemons)

BIN = CONFIG["bin"]
CG = "/sys/fs/cgroup"
DAEMON_CG = "/arena.slice/daemon"
SAMPLE_S = 0.02
SETTLE_S = 2.0   # after the culprit's death: time for collateral kills to show
MiB = 1 << 20


# --- kernel files ---------------------------------------------------------------
def read(path):
    with open(path) as f:
        return f.read()


def write(path, value):
    with open(path, "w") as f:
        f.write(str(value))


def keyed(path):
    out = {}
    for line in read(path).splitlines():
        k, _, v = line.partition(" ")
        out[k] = int(v) if v.strip().isdigit() else v
    return out


def meminfo():
    out = {}
    for line in read("/proc/meminfo").splitlines():
        k, v = line.split(":", 1)
        out[k] = int(v.split()[0]) * 1024
    return out


def pressure(path):
    """{"some": {"avg10": 1.5, ..., "total": us}, "full": {...}}"""
    out = {}
    for line in read(path).splitlines():
        kind, *items = line.split()
        out[kind] = {k: float(v) for k, v in (i.split("=") for i in items)}
    return out


def vmstat(key):
    for line in read("/proc/vmstat").splitlines():
        k, v = line.split()
        if k == key:
            return int(v)
    return 0


def cgdir(rel):
    return CG + rel


def populated(rel):
    try:
        return keyed(cgdir(rel) + "/cgroup.events").get("populated", 0) == 1
    except FileNotFoundError:
        return False


def make_cgroup(rel, files=None):
    path = CG
    for part in rel.strip("/").split("/"):
        write(path + "/cgroup.subtree_control", "+memory")
        path = os.path.join(path, part)
        if not os.path.isdir(path):
            os.mkdir(path)
    for name, value in (files or {}).items():
        write(path + "/" + name, value)
    return path


def kill_cgroup(rel, timeout=10.0):
    """cgroup.kill, then waits until nothing is left; True if empty."""
    d = cgdir(rel)
    if not os.path.isdir(d):
        return True
    write(d + "/cgroup.kill", "1")
    deadline = time.time() + timeout
    while populated(rel) and time.time() < deadline:
        time.sleep(0.05)
    return not populated(rel)


def remove_tree(rel):
    """Removes a cgroup and everything below it (emptied first)."""
    d = cgdir(rel)
    if not os.path.isdir(d):
        return
    kill_cgroup(rel)
    for root, dirs, _ in os.walk(d, topdown=False):
        for name in dirs:
            _rmdir(os.path.join(root, name))
    _rmdir(d)


def _rmdir(d):
    for _ in range(100):
        try:
            os.rmdir(d)
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.05)


# --- the machine, set back before each cell ----------------------------------------
def set_swap(mib):
    subprocess.run(["swapoff", "-a"], capture_output=True)
    if os.path.exists("/sys/block/zram0/reset"):
        write("/sys/block/zram0/reset", "1")
    if mib:
        write("/sys/block/zram0/disksize", f"{mib}M")
        subprocess.run(["busybox", "mkswap", "/dev/zram0"], check=True, capture_output=True)
        subprocess.run(["busybox", "swapon", "/dev/zram0"], check=True, capture_output=True)


def settle_memory():
    write("/proc/sys/vm/drop_caches", "3")
    if os.path.exists("/proc/sys/vm/compact_memory"):
        write("/proc/sys/vm/compact_memory", "1")


# --- processes ----------------------------------------------------------------------
def unshield(cgroup_dir):
    """A daemon started by the harness inherited its oom_score_adj -1000:
    back to 0, unless the daemon set its own."""
    for pid in read(cgroup_dir + "/cgroup.procs").split():
        try:
            if read(f"/proc/{pid}/oom_score_adj").strip() == "-1000":
                write(f"/proc/{pid}/oom_score_adj", "0")
        except OSError:
            pass


def spawn(argv, cgroup_rel, **kw):
    """Starts argv with its first instruction in the cgroup (moved there
    by the child before exec): nothing of it runs elsewhere."""
    procs = cgdir(cgroup_rel) + "/cgroup.procs"

    def enter():
        with open(procs, "w") as f:
            f.write(str(os.getpid()))
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write("0")  # not the harness's -1000
    return subprocess.Popen(argv, preexec_fn=enter, **kw)


class Workload:
    """One workload process; a thread notes the moment it dies."""

    def __init__(self, spec, scenario):
        self.spec, self.name, self.cgroup = spec, spec["name"], spec["cgroup"]
        self.role = spec.get("role", "bystander")
        self.argv = [substitute(a, spec) for a in spec["cmd"]]
        self.proc, self.died, self.started = None, None, None

    def start(self):
        self.started = time.time()
        self.proc = spawn(self.argv, self.cgroup, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE)
        threading.Thread(target=self._wait, daemon=True).start()

    def _wait(self):
        self.proc.wait()
        self.died = time.time()

    def ready(self, timeout):
        """`ready`: a command that succeeds once the workload serves;
        `ready_usage_mib`: its cgroup holds that much."""
        cmd, mib = self.spec.get("ready"), self.spec.get("ready_usage_mib")
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.died:
                return False
            ok = not cmd or subprocess.run([substitute(a, self.spec) for a in cmd], capture_output=True).returncode == 0
            if ok and mib:
                ok = int(read(cgdir(self.cgroup) + "/memory.current")) >= mib * MiB
            if ok:
                return True
            time.sleep(0.1)
        return False

    def setup(self):
        """`setup`: commands run once the workload is ready (in its cgroup:
        what they allocate is the workload's)."""
        for cmd in self.spec.get("setup", []):
            p = spawn([substitute(a, self.spec) for a in cmd], self.cgroup, stdout=subprocess.PIPE,
                      stderr=subprocess.STDOUT, text=True)
            out, _ = p.communicate(timeout=300)
            if p.returncode != 0:
                raise RuntimeError(f"{self.name}: setup {cmd} failed: {out.strip()}")

    @property
    def signal(self):
        rc = self.proc.returncode if self.proc else None
        return signal.Signals(-rc).name if rc is not None and rc < 0 else None


def substitute(arg, spec):
    return (arg.replace("{BIN}", BIN).replace("{HERE}", HERE)
            .replace("{CGROUP}", cgdir(spec["cgroup"])).replace("{PY}", sys.executable))


# --- the service's latency ----------------------------------------------------------
class RedisProbe:
    """A closed loop of GETs on one connection: each round trip's latency,
    and the time spent in round trips over 1 s (stalls)."""

    def __init__(self, port):
        self.port, self.samples, self.stop_ = port, [], False
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self.thread.start()

    def _run(self):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        request = b"*2\r\n$3\r\nGET\r\n$9\r\nkey:00001\r\n"
        while not self.stop_:
            t0 = time.monotonic()
            try:
                s.sendall(request)
                data = s.recv(65536)
                if not data:
                    break
            except OSError:
                self.samples.append((time.time(), None))
                break
            self.samples.append((time.time(), time.monotonic() - t0))
            time.sleep(0.005)

    def finish(self):
        self.stop_ = True
        self.thread.join(timeout=5)


def latency_figures(samples, t0=None, t1=None):
    lat = sorted(v for t, v in samples if v is not None and (t0 is None or t >= t0) and (t1 is None or t <= t1))
    if not lat:
        return None, None, None
    p99 = lat[min(len(lat) - 1, int(0.99 * len(lat)))]
    return 1000 * p99, 1000 * lat[-1], sum(v for v in lat if v > 1.0)


# --- contenders ---------------------------------------------------------------------
class Mmrun:
    """mmrun load OBJECT in the daemon cgroup, JSON log."""

    def __init__(self, objects):
        self.objects, self.lines, self.proc = objects, [], None

    def start(self, cgroup_dir):
        rel = cgroup_dir[len(CG):]
        self.proc = spawn([os.path.join(BIN, "mmrun"), "load", "--log-format=json", *self.objects], rel,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        started = threading.Event()

        def pump():
            for line in self.proc.stdout:
                self.lines.append((time.time(), line.rstrip("\n")))
                if '"outcome":"started"' in line:
                    started.set()
        threading.Thread(target=pump, daemon=True).start()
        if not started.wait(60):
            raise RuntimeError("mmrun did not start: " + " | ".join(l for _, l in self.lines[-5:]))

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        if not kill_cgroup(DAEMON_CG):
            raise RuntimeError("mmrun's cgroup is not empty after cgroup.kill")

    def log(self):
        return [l for _, l in self.lines]

    def decisions(self):
        out = []
        for t, l in self.lines:
            if l.startswith("{"):
                rec = json.loads(l)
                if rec.get("kind") == "decision":
                    rec["_arrived"] = t
                    out.append(rec)
        return out


class NoDaemon:
    def start(self, cgroup_dir):
        pass

    def stop(self):
        pass

    def log(self):
        return []


def contender_for(cell, scenario):
    kind = cell["contender"]
    if kind == "kernel":
        return NoDaemon()
    if kind.startswith("mmp"):
        return Mmrun(cell["objects"])
    return peers.make(kind, cell["config"], scenario)


# --- one cell -----------------------------------------------------------------------
def crossed(scenario, mi, culprit_files):
    th = scenario["threshold"]
    if th["kind"] == "mem_available_pct":
        return 100.0 * mi["MemAvailable"] / mi["MemTotal"] < th["below"]
    if th["kind"] == "psi_full_avg10":
        return culprit_files.get("psi_full_avg10", 0) > th["above"]
    if th["kind"] == "usage_pct_of_max":
        return culprit_files.get("usage_pct_of_max", 0) > th["above"]
    raise ValueError(f"unknown threshold kind {th['kind']}")


def sample(scenario):
    mi = meminfo()
    th = scenario["threshold"]
    files = {}
    where = th.get("cgroup", scenario["culprit"])
    try:
        files["usage"] = int(read(cgdir(where) + "/memory.current"))
        files["psi_full_avg10"] = pressure(cgdir(where) + "/memory.pressure")["full"]["avg10"]
        if th["kind"] == "usage_pct_of_max":
            mx = read(cgdir(where) + "/memory.max").strip()
            files["usage_pct_of_max"] = 100.0 * files["usage"] / int(mx) if mx != "max" else 0
    except (FileNotFoundError, KeyError, ValueError):
        pass
    sys_psi = pressure("/proc/pressure/memory")
    return mi, files, sys_psi


def run_cell(cell, scenario):
    name = f"{cell['scenario']}.{cell['contender']}.{cell['config']}.{cell['rep']}"
    print(f"cell {name}", flush=True)
    for rel in scenario["cgroups"]:  # what an earlier cell left: its whole top-level slice
        remove_tree("/" + rel.strip("/").split("/")[0])
    remove_tree(DAEMON_CG)  # not its parent: the harness lives there
    set_swap(scenario.get("swap", 0))
    settle_memory()
    for rel, files in scenario["cgroups"].items():
        make_cgroup(rel, files)
    daemon_dir = make_cgroup(DAEMON_CG)
    oom_before = vmstat("oom_kill")
    workloads = [Workload(w, scenario) for w in scenario["workloads"]]
    contender = contender_for(cell, scenario)
    result = {"scenario": cell["scenario"], "contender": cell["contender"], "config": cell["config"],
              "rep": cell["rep"], "expect_kill": scenario["expect_kill"], "void": None}
    series, probe = [], None
    try:
        contender.start(daemon_dir)
        t_contender = time.time()
        unshield(daemon_dir)
        for w in sorted(workloads, key=lambda w: w.spec.get("start_s", 0)):
            if w.role == "culprit":
                continue
            w.start()
            if not w.ready(60):
                raise RuntimeError(f"workload {w.name} did not get ready")
            w.setup()
        if scenario.get("service"):
            probe = RedisProbe(scenario["service"]["port"])
            probe.start()
        t0 = time.time()
        culprits = [w for w in workloads if w.role == "culprit"]
        pending = sorted(culprits, key=lambda w: w.spec.get("start_s", 0))
        crossing, min_avail, acted_at = None, 100.0, None
        deadline = t0 + scenario["duration_s"]
        start_at = {id(w): t0 + w.spec.get("start_s", 0) for w in pending}
        leak_start = None
        while time.time() < deadline:
            now = time.time()
            while pending and start_at[id(pending[0])] <= now:
                w = pending.pop(0)
                w.start()
                leak_start = leak_start or w.started
            mi, files, sys_psi = sample(scenario)
            avail = 100.0 * mi["MemAvailable"] / mi["MemTotal"]
            min_avail = min(min_avail, avail)
            series.append([round(now - t0, 3), round(avail, 2), sys_psi["full"]["avg10"],
                           files.get("psi_full_avg10"), files.get("usage")])
            if leak_start and crossing is None and crossed(scenario, mi, files):
                crossing = now
            dead = [w for w in workloads if w.died]
            if acted_at is None and dead:
                acted_at = min(w.died for w in dead)
            culprit_done = leak_start and not pending and all(w.died for w in culprits)
            if culprit_done and now - max(w.died for w in culprits) > SETTLE_S:
                break
            if acted_at and now - acted_at > SETTLE_S + 3 and not scenario["expect_kill"]:
                break
            time.sleep(SAMPLE_S)
        ended = time.time()
        if probe:
            probe.finish()
        # What happened, from what the kernel reports.
        kernel_kills = {}
        for w in workloads:
            try:
                kernel_kills[w.cgroup] = keyed(cgdir(w.cgroup) + "/memory.events").get("oom_kill", 0)
            except FileNotFoundError:
                kernel_kills[w.cgroup] = 0
        deaths = [{"name": w.name, "cgroup": w.cgroup, "role": w.role, "signal": w.signal,
                   "at_s": round(w.died - t0, 3), "by_kernel": kernel_kills.get(w.cgroup, 0) > 0}
                  for w in workloads if w.died and w.signal]
        finished = [w.name for w in workloads if w.died and not w.signal]
        victims = [d for d in deaths if not (cell["contender"] != "kernel" and d["by_kernel"])]
        culprit_cg = scenario["culprit"]
        first = min(victims, key=lambda d: d["at_s"]) if victims else None
        result.update({
            "acted": bool(victims),
            "right_victim": (first["cgroup"] == culprit_cg) if first else None,
            "collateral": sum(1 for d in deaths if d["cgroup"] != culprit_cg),
            "time_to_action_s": round(t0 + first["at_s"] - crossing, 3) if first and crossing else None,
            "crossed": crossing is not None,
            "time_from_start_s": round(t0 + first["at_s"] - leak_start, 3) if first and leak_start else None,
            "protected_touched": any(d["cgroup"] in scenario.get("protected", []) for d in deaths),
            "kernel_oom_kills": vmstat("oom_kill") - oom_before,
            "min_mem_available_pct": round(min_avail, 2),
            "deaths": deaths, "finished": finished,
            "duration_s": round(ended - t0, 2),
        })
        # Acted before the stated threshold was ever crossed: time zero
        # never came (time_to_action_s stays null; time_from_start_s tells).
        result["acted_before_threshold"] = bool(first and crossing is None)
        if probe:
            whole = latency_figures(probe.samples)
            result.update({"service_p99_ms": whole[0], "service_max_ms": whole[1], "service_stall_s": whole[2],
                           "service_requests": len(probe.samples)})
        else:
            result.update({"service_p99_ms": None, "service_max_ms": None, "service_stall_s": None})
        daemon_stat = keyed(daemon_dir + "/cpu.stat")
        peak = daemon_dir + "/memory.peak"
        result["daemon_cpu_s"] = round(daemon_stat.get("usage_usec", 0) / 1e6, 3)
        result["daemon_rss_mib"] = (round(int(read(peak)) / MiB, 1) if os.path.exists(peak)
                                    else round(int(read(daemon_dir + "/memory.current")) / MiB, 1))
        result["daemon_up_s"] = round(ended - t_contender, 2)
        if isinstance(contender, Mmrun):
            result["decisions"] = [{k: d.get(k) for k in ("action", "cgroup", "outcome", "detail", "rule")}
                                   | {"at_s": round(d["_arrived"] - t0, 3)} for d in contender.decisions()]
        result["actions"] = [{"at_s": round(w.died - t0, 3), "name": w.name} for w in workloads
                             if w.died and w.signal]
        result["crossing_s"] = round(crossing - t0, 3) if crossing else None
        result["leak_start_s"] = round(leak_start - t0, 3) if leak_start else None
    except Exception as e:  # a cell that could not run is void, the run goes on
        traceback.print_exc()
        result["void"] = f"{type(e).__name__}: {e}"
    finally:
        try:
            contender.stop()
        except Exception as e:
            result["void"] = result["void"] or f"the contender left something behind: {e}"
        for w in workloads:
            if w.proc and w.proc.poll() is None:
                w.proc.kill()
        for rel in scenario["cgroups"]:
            kill_cgroup(rel)
        log = contender.log() if hasattr(contender, "log") else []
        with open(os.path.join(OUT, "logs", name + ".log"), "w") as f:
            f.write("\n".join(log if isinstance(log, list) else [str(log)]) + "\n")
        with open(os.path.join(OUT, "series", name + ".json"), "w") as f:
            json.dump({"columns": ["t_s", "mem_available_pct", "system_psi_full_avg10", "culprit_psi_full_avg10",
                                   "culprit_usage"], "rows": series,
                       "actions": result.get("actions", []), "crossing_s": result.get("crossing_s"),
                       "latency": [(round(t - t0, 3), v) for t, v in (probe.samples if probe else [])]}, f)
    print("  " + json.dumps({k: v for k, v in result.items() if k not in ("deaths", "decisions", "actions")}),
          flush=True)
    return result


def main():
    os.makedirs(os.path.join(OUT, "series"), exist_ok=True)
    os.makedirs(os.path.join(OUT, "logs"), exist_ok=True)
    # The harness itself is never a victim: it is the measurement.
    write("/proc/self/oom_score_adj", "-1000")
    make_cgroup("/arena.slice/harness")
    write(cgdir("/arena.slice/harness") + "/cgroup.procs", os.getpid())
    scenarios = {n: json.load(open(os.path.join(HERE, "scenarios", n + ".json")))
                 for n in sorted({c["scenario"] for c in CONFIG["cells"]})}
    with open(os.path.join(OUT, "cells.jsonl"), "a") as out:
        for cell in CONFIG["cells"]:
            r = run_cell(cell, scenarios[cell["scenario"]])
            out.write(json.dumps(r) + "\n")
            out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
