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
usage: arena_guest.py OUT_DIR   (PID 1's child: test/vm/guest-init.sh, mmp_program=)
"""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback

BOOTED = time.time()
OUT = sys.argv[1]
CONFIG = json.load(open(os.path.join(OUT, "config.json")))
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
import peers  # noqa: E402  (the peers' configurations and daemons)
from guestlib import (MiB, Mmrun, NoDaemon, become_harness, cgdir, keyed, kill_cgroup, make_cgroup,  # noqa: E402
                      meminfo, populated, pressure, read, remove_tree, run_cells, save_cell, set_swap, settle_memory,
                      spawn, stop_contender, unshield, vmstat, write)

BIN = CONFIG["bin"]
DAEMON_CG = "/arena.slice/daemon"
SAMPLE_S = 0.02
SI_KERNEL = 0x80  # siginfo code of a signal the kernel sends for itself
SETTLE_S = 1.0   # after the culprit's death: time for collateral kills to show
BURST_S = 0.05   # signals this close to a contender's first are one action (a cgroup.kill)


# --- who signalled whom: the kernel's signal_generate tracepoint ----------------------
class SignalTrace:
    """Every SIGKILL and SIGTERM the kernel generates, as it happens: when
    (CLOCK_MONOTONIC, moved to wall time), to which process and cgroup, from
    which process and cgroup (the task that sent it: a daemon's, the
    allocating task's for the kernel's OOM killer, the writer's for
    cgroup.kill). What the contenders log is not needed to know what they
    did."""
    LINE = re.compile(r"^\s*(?P<scomm>.*)-(?P<spid>\d+)\s+\[\d+\]\s+\S*\s*(?P<ts>\d+\.\d+): signal_generate: "
                      r"sig=(?P<sig>\d+) errno=-?\d+ code=(?P<code>-?\d+) comm=(?P<comm>.*) pid=(?P<pid>\d+) "
                      r"grp=\d+ res=(?P<res>\d+)")

    def __init__(self):
        self.events, self.lock = [], threading.Lock()
        self.dir = next((d for d in ("/sys/kernel/tracing", "/sys/kernel/debug/tracing")
                         if os.path.exists(d + "/trace_pipe")), None)
        if self.dir is None:
            subprocess.run(["mount", "-t", "tracefs", "tracefs", "/sys/kernel/tracing"], capture_output=True)
            self.dir = "/sys/kernel/tracing"
        write(self.dir + "/trace_clock", "mono")
        ev = self.dir + "/events/signal/signal_generate"
        write(ev + "/filter", "sig == 9 || sig == 15")
        write(ev + "/enable", "1")
        write(self.dir + "/tracing_on", "1")
        self.offset = time.time() - time.monotonic()
        threading.Thread(target=self._read, daemon=True).start()

    @staticmethod
    def cgroup_of(pid):
        try:
            for line in read(f"/proc/{pid}/cgroup").splitlines():
                if line.startswith("0::"):
                    return line[3:]
        except OSError:
            pass
        return None

    def _read(self):
        with open(self.dir + "/trace_pipe") as pipe:
            for line in pipe:
                m = self.LINE.match(line)
                if not m:
                    continue
                e = {"t": float(m["ts"]) + self.offset, "sig": int(m["sig"]), "pid": int(m["pid"]), "code": int(m["code"]),
                     "comm": m["comm"], "res": int(m["res"]), "sender": int(m["spid"]),
                     "sender_comm": m["scomm"].strip()}
                e["cgroup"] = self.cgroup_of(e["pid"])
                e["sender_cgroup"] = self.cgroup_of(e["sender"])
                with self.lock:
                    self.events.append(e)

    def sync(self, timeout=20):
        """Waits until the reader has caught up with now: a SIGTERM of the
        harness's own, to a child, must come through (under memory
        pressure the reader can lag seconds behind the kernel)."""
        with self.lock:
            seen = len(self.events)  # the marker comes after these (a storm's kills may follow it)
        marker = subprocess.Popen(["sleep", "60"])
        marker.terminate()
        marker.wait()
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self.lock:
                if any(e["pid"] == marker.pid for e in self.events[seen:]):
                    return True
            time.sleep(0.05)
        return False

    def between(self, t0, t1):
        with self.lock:
            return [e for e in self.events if t0 <= e["t"] <= t1]


# --- processes ----------------------------------------------------------------------
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
def contender_for(cell, scenario, name):
    kind = cell["contender"]
    if kind == "kernel":
        return NoDaemon()
    if kind.startswith("mmp"):
        # run_arena.py --record: what the rules saw, for `mmrun replay`.
        record = None
        if CONFIG.get("record"):
            os.makedirs(os.path.join(OUT, "traces"), exist_ok=True)
            record = os.path.join(OUT, "traces", name + ".trace")
        return Mmrun(BIN, cell["objects"], record)
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


class Cell:
    """One run: the scenario's workloads under one contender."""

    def __init__(self, cell, scenario, trace):
        self.cell, self.sc, self.trace = cell, scenario, trace
        self.name = f"{cell['scenario']}.{cell['contender']}.{cell['config']}.{cell['rep']}"
        self.workloads = [Workload(w, scenario) for w in scenario["workloads"]]
        self.contender = contender_for(cell, scenario, self.name)
        self.series, self.probe, self.pids = [], None, {}  # pids: pid -> workload cgroup, as sampled
        self.daemon_pids = set()
        self.crossing = self.leak_start = self.emptied = None
        self.min_avail = 100.0

    def prepare(self):
        for rel in self.sc["cgroups"]:  # what an earlier cell left: its whole top-level slice
            remove_tree("/" + rel.strip("/").split("/")[0])
        remove_tree(DAEMON_CG)  # not its parent: the harness lives there
        set_swap(self.sc.get("swap", 0))
        settle_memory()
        for rel, files in self.sc["cgroups"].items():
            make_cgroup(rel, files)
        self.daemon_dir = make_cgroup(DAEMON_CG)

    def start(self):
        self.contender.start(self.daemon_dir)
        self.t_contender = time.time()
        # What starting cost (for mmrun: verifying and attaching its programs,
        # CO-RE against the kernel's BTF), apart from what running costs.
        self.start_cpu_usec = keyed(self.daemon_dir + "/cpu.stat").get("usage_usec", 0)
        unshield(self.daemon_dir)
        self.daemon_pids = set(read(self.daemon_dir + "/cgroup.procs").split())
        for w in sorted(self.workloads, key=lambda w: w.spec.get("start_s", 0)):
            if w.role == "culprit":
                continue
            w.start()
            if not w.ready(120):
                raise RuntimeError(f"workload {w.name} did not get ready")
            w.setup()
        if self.sc.get("service"):
            self.probe = RedisProbe(self.sc["service"]["port"])
            self.probe.start()

    def run(self):
        """Starts the culprits and samples until the culprit is gone and
        the rest settled, or the scenario's duration is over."""
        self.t0 = t0 = time.time()
        culprits = [w for w in self.workloads if w.role == "culprit"]
        pending = sorted(culprits, key=lambda w: w.spec.get("start_s", 0))
        deadline = t0 + self.sc["duration_s"]
        culprit_cg = self.sc["culprit"]
        # A contender that has not acted this long after the crossing is
        # recorded as never having acted (the machine had frozen or the
        # leak had won by then); the cell stops waiting for it.
        give_up = self.sc.get("give_up_s")
        while time.time() < deadline:
            now = time.time()
            while pending and t0 + pending[0].spec.get("start_s", 0) <= now:
                w = pending.pop(0)
                w.start()
                self.leak_start = self.leak_start or w.started
            mi, files, sys_psi = sample(self.sc)
            avail = 100.0 * mi["MemAvailable"] / mi["MemTotal"]
            self.min_avail = min(self.min_avail, avail)
            self.series.append([round(now - t0, 3), round(avail, 2), sys_psi["full"]["avg10"],
                                files.get("psi_full_avg10"), files.get("usage")])
            for rel in {w.cgroup for w in self.workloads}:
                try:
                    for pid in read(cgdir(rel) + "/cgroup.procs").split():
                        self.pids[int(pid)] = rel
                except OSError:
                    pass
            if self.leak_start and self.crossing is None and self.emptied is None and crossed(self.sc, mi, files):
                self.crossing = now
                if give_up is not None:
                    deadline = min(deadline, now + give_up)
            if self.leak_start and not pending and self.emptied is None and not populated(culprit_cg):
                self.emptied = now
            if self.emptied and now - self.emptied > SETTLE_S:
                break
            time.sleep(SAMPLE_S)
        self.ended = time.time()
        if self.probe:
            self.probe.finish()

    def signals(self):
        """The SIGKILLs and SIGTERMs to workload processes during the cell,
        each with who sent it: `kernel` (the OOM killer), `contender` (a
        process of the daemon's cgroup), `workload` (a workload's own), not
        the harness's."""
        out = []
        harness = str(os.getpid())
        for e in self.trace.between(self.t0, self.ended):
            tops = {"/" + rel.strip("/").split("/")[0] for rel in self.sc["cgroups"]}
            seen = e["cgroup"] if e["cgroup"] and any(e["cgroup"].startswith(t + "/") for t in tops) else None
            target = seen or self.pids.get(e["pid"])  # a process gone before the trace read it: as sampled
            if target is None or str(e["sender"]) == harness:
                continue
            from_daemon = (e["sender_cgroup"] or "").startswith(DAEMON_CG) or str(e["sender"]) in self.daemon_pids
            # The OOM killer signals with SI_KERNEL (code 128); kill(2),
            # pidfd_send_signal and cgroup.kill with SI_USER (0). A
            # workload's own kill (the churner removing a pod) is no one's.
            by = "kernel" if e["code"] == SI_KERNEL else "contender" if from_daemon else "workload"
            out.append({"at_s": round(e["t"] - self.t0, 3), "sig": e["sig"], "pid": e["pid"], "comm": e["comm"],
                        "cgroup": target, "by": by, "sender": e["sender_comm"]})
        return out

    def verdict(self):
        t0, sc, culprit_cg = self.t0, self.sc, self.sc["culprit"]
        # What the cell left running (a storm no one stopped) is killed
        # first: it would starve the trace's reader, and what is signalled
        # after `ended` is not the cell's (nor is the harness's own kill).
        for rel in sc["cgroups"]:
            kill_cgroup(rel)
        if not self.trace.sync(timeout=30):
            raise RuntimeError("the signal trace did not catch up")
        signals = self.signals()
        kernel_kills = vmstat("oom_kill") - self.oom_before
        # The kernel contender acts through the OOM killer; the others
        # through their own signals (the kernel's are counted apart).
        actor = "kernel" if self.cell["contender"] == "kernel" else "contender"
        acts = [x for x in signals if x["by"] == actor]
        if actor == "kernel" and not acts:
            # A signal the trace lost under exhaustion: memory.events tells
            # which cgroup the OOM killer took a process of; its death, when.
            for w in sorted((w for w in self.workloads if w.died), key=lambda w: w.died):
                if keyed(cgdir(w.cgroup) + "/memory.events").get("oom_kill", 0) > 0:
                    acts = [{"at_s": round(w.died - t0, 3), "sig": 9, "pid": w.proc.pid, "comm": w.name,
                             "cgroup": w.cgroup, "by": "kernel", "sender": "?", "from": "memory.events"}]
                    signals.append(acts[0])
                    break
        first = acts[0] if acts else None
        # The first action: a cgroup.kill signals its processes in no set
        # order, so its whole burst is the victim, not its first signal.
        burst = {x["cgroup"] for x in acts if first and x["at_s"] - first["at_s"] <= BURST_S}
        collateral = {x["pid"] for x in signals if x["cgroup"] != culprit_cg and x["by"] != "workload"}
        protected = sc.get("protected", [])
        r = {
            "acted": bool(acts),
            "right_victim": (culprit_cg in burst) if first else None,
            "collateral": len(collateral),
            # Until the culprit's cgroup is empty: the leak (or the storm,
            # every process of it) is dead, whoever killed it.
            "time_to_action_s": (round(self.emptied - self.crossing, 3) if self.emptied and self.crossing and acts
                                 and any(x["cgroup"] == culprit_cg for x in acts) else None),
            "time_to_signal_s": round(t0 + first["at_s"] - self.crossing, 3) if first and self.crossing else None,
            "time_from_start_s": (round(self.emptied - self.leak_start, 3) if self.emptied and self.leak_start and acts
                                  else None),
            "acted_before_threshold": bool(acts and self.crossing is None),
            "crossed": self.crossing is not None,
            "protected_touched": any(x["cgroup"] in protected and x["by"] != "workload" for x in signals),
            "kernel_oom_kills": kernel_kills,
            "min_mem_available_pct": round(self.min_avail, 2),
            "signals": signals,
            "deaths": [{"name": w.name, "at_s": round(w.died - t0, 3), "signal": w.signal}
                       for w in self.workloads if w.died and w.died <= self.ended],
            "crossing_s": round(self.crossing - t0, 3) if self.crossing else None,
            "leak_start_s": round(self.leak_start - t0, 3) if self.leak_start else None,
            "emptied_s": round(self.emptied - t0, 3) if self.emptied else None,
            "duration_s": round(self.ended - t0, 2),
        }
        if self.probe:
            p99, mx, stall = latency_figures(self.probe.samples)
            r.update({"service_p99_ms": p99, "service_max_ms": mx, "service_stall_s": stall,
                      "service_requests": len(self.probe.samples)})
        else:
            r.update({"service_p99_ms": None, "service_max_ms": None, "service_stall_s": None})
        stat = keyed(self.daemon_dir + "/cpu.stat")
        peak = self.daemon_dir + "/memory.peak"
        r["daemon_cpu_s"] = round(stat.get("usage_usec", 0) / 1e6, 3)
        r["daemon_start_cpu_s"] = round(self.start_cpu_usec / 1e6, 3)
        r["daemon_rss_mib"] = round(int(read(peak if os.path.exists(peak) else self.daemon_dir + "/memory.current"))
                                    / MiB, 1)
        r["daemon_up_s"] = round(self.ended - self.t_contender, 2)
        if isinstance(self.contender, Mmrun):
            r["decisions"] = [{k: d.get(k) for k in ("action", "cgroup", "outcome", "detail", "rule", "time", "latency_ms")}
                              | {"logged_s": round(d["_arrived"] - t0, 3)} for d in self.contender.decisions()]
        return r

    def finish(self, result):
        stop_contender(self.contender, result)
        for w in self.workloads:
            if w.proc and w.proc.poll() is None:
                w.proc.kill()
        for rel in self.sc["cgroups"]:
            kill_cgroup(rel)
        save_cell(OUT, self.name, self.contender.log(), {
            "columns": ["t_s", "mem_available_pct", "system_psi_full_avg10", "culprit_psi_full_avg10", "culprit_usage"],
            "rows": self.series, "signals": result.get("signals", []), "crossing_s": result.get("crossing_s"),
            "latency": [(round(t - self.t0, 3), v) for t, v in (self.probe.samples if self.probe else [])]})


def run_cell(cell, scenario, trace):
    c = Cell(cell, scenario, trace)
    began = time.time()
    print(f"cell {c.name} at {began - BOOTED:.1f} s", flush=True)
    result = {"scenario": cell["scenario"], "contender": cell["contender"], "config": cell["config"],
              "rep": cell["rep"], "expect_kill": scenario["expect_kill"], "void": None}
    try:
        c.prepare()
        c.oom_before = vmstat("oom_kill")
        c.start()
        c.run()
        result.update(c.verdict())
    except Exception as e:  # a cell that could not run is void; the run goes on
        traceback.print_exc()
        result["void"] = f"{type(e).__name__}: {e}"
    finally:
        c.finish(result)
    # The whole cell, setting the machine back included: where a run's
    # time goes (bench/arena/README.md, "Time").
    result["cell_wall_s"] = round(time.time() - began, 2)
    print("  " + json.dumps({k: v for k, v in result.items() if k not in ("signals", "decisions", "deaths")}),
          flush=True)
    return result


def main():
    become_harness(OUT, "/arena.slice/harness")
    scenarios = {n: json.load(open(os.path.join(HERE, "scenarios", n + ".json")))
                 for n in sorted({c["scenario"] for c in CONFIG["cells"]})}
    trace = SignalTrace()
    run_cells(OUT, CONFIG["cells"], lambda cell: run_cell(cell, scenarios[cell["scenario"]], trace),
              budget_s=CONFIG.get("budget_s"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
