"""What the benchmarks' guest programs share (bench/arena/arena_guest.py,
bench/reclaim/reclaim_guest.py): the kernel's files read and written, the
cgroups made and emptied, the machine set back, processes started inside
a cgroup, and mmrun run as a contender.

Python 3 standard library only; runs in the cgroup v2 guest of test/vm as
root (cgroup2 at /sys/fs/cgroup).
"""
import json
import os
import signal
import subprocess
import threading
import time

CG = "/sys/fs/cgroup"
MiB = 1 << 20


# --- kernel files ---------------------------------------------------------------
def read(path):
    with open(path) as f:
        return f.read()


def write(path, value):
    with open(path, "w") as f:
        f.write(str(value))


def keyed(path):
    """A file of `key value` lines (memory.stat, memory.events, cpu.stat)."""
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


# --- cgroups ----------------------------------------------------------------------
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
    """zram swap of `mib` MiB, empty (none for 0)."""
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


def become_harness(out, rel):
    """The harness itself is never a victim (it is the measurement) and
    runs in a cgroup of its own; OUT/series and OUT/logs are made."""
    os.makedirs(os.path.join(out, "series"), exist_ok=True)
    os.makedirs(os.path.join(out, "logs"), exist_ok=True)
    write("/proc/self/oom_score_adj", "-1000")
    make_cgroup(rel)
    write(cgdir(rel) + "/cgroup.procs", os.getpid())


def run_cells(out, cells, run_one, budget_s=None):
    """run_one(cell) for every cell in turn, each result a line of
    OUT/cells.jsonl as soon as it ends (a guest that dies keeps those).
    With budget_s, no cell starts once that many seconds have passed: a
    long run in sittings of bounded length (the rest is for --resume)."""
    began = time.time()
    with open(os.path.join(out, "cells.jsonl"), "a") as f:
        for cell in cells:
            if budget_s is not None and time.time() - began > budget_s:
                print(f"budget of {budget_s:.0f} s spent: the other cells are left for the next sitting", flush=True)
                return
            f.write(json.dumps(run_one(cell)) + "\n")
            f.flush()


def stop_contender(contender, result):
    """Stops a cell's contender; a cell whose contender left anything
    behind is void."""
    try:
        contender.stop()
    except Exception as e:
        result["void"] = result["void"] or f"the contender left something behind: {e}"


def save_cell(out, name, log, series):
    """A cell's contender log (OUT/logs/NAME.log) and samples
    (OUT/series/NAME.json, for the plots)."""
    with open(os.path.join(out, "logs", name + ".log"), "w") as f:
        f.write("\n".join(log if isinstance(log, list) else [str(log)]) + "\n")
    with open(os.path.join(out, "series", name + ".json"), "w") as f:
        json.dump(series, f)


# --- mmrun as a contender -----------------------------------------------------------
class Mmrun:
    """mmrun load OBJECT... in a cgroup of its own, JSON log; stopped with
    SIGTERM, then cgroup.kill of its cgroup."""

    def __init__(self, bindir, objects, record=None):
        self.bindir, self.objects, self.lines, self.proc, self.rel = bindir, objects, [], None, None
        self.record = record  # a file for `--record` (what the rules saw), or None

    def start(self, cgroup_dir):
        self.rel = cgroup_dir[len(CG):]
        extra = [f"--record={self.record}"] if self.record else []
        self.proc = spawn([os.path.join(self.bindir, "mmrun"), "load", "--log-format=json", *extra, *self.objects],
                          self.rel, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
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
        if self.rel and not kill_cgroup(self.rel):
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
    """The contender that runs nothing."""

    def start(self, cgroup_dir):
        pass

    def stop(self):
        pass

    def log(self):
        return []
