#!/usr/bin/env python3
"""End-to-end: mmpc and mmrun against real memory cgroups and real hogs.

Makes a child memory cgroup tree under this process's own, runs hogs in
it, and checks what mmrun does: a dry run logs a decision within 3 s and
touches nothing; a kill policy kills the hog within 3 s and nothing else;
a protected cgroup is never touched; a trace recorded during a live dry
run (`mmrun load --record`) replays (`mmrun replay`) to exactly the
decisions that run logged, and `mmrun record`'s trace to the kill the
policy makes; `kill -9` of mmrun leaves no BPF program, link or map behind. Prints SKIPPED: reason where the process may
not load BPF or write cgroups.
usage: run_e2e.py BIN_DIR
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

BIN = sys.argv[1]
MMPC, MMRUN, HOG = (os.path.join(BIN, n) for n in ("mmpc", "mmrun", "mmp_hog"))
V1 = "/sys/fs/cgroup/memory"
failures = []


def skip(why):
    print(f"SKIPPED: {why}")
    sys.exit(0)


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def require_bpf():
    """Skips unless this process may load BPF against the kernel's BTF."""
    if os.geteuid() != 0:
        skip("not root: loading BPF needs root")
    if not os.access("/sys/kernel/btf/vmlinux", os.R_OK):
        skip("no kernel BTF")


def memory_root():
    if os.path.exists(os.path.join(V1, "memory.usage_in_bytes")):
        own = ""
        for line in open("/proc/self/cgroup"):
            _, ctrl, path = line.strip().split(":", 2)
            if "memory" in ctrl.split(","):
                own = path
        return V1, own
    return None, None


def alive(proc):
    return proc.poll() is None


def start_hog(cgdir, mib):
    p = subprocess.Popen([HOG, cgdir, str(mib)], stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    if not line.startswith("ready"):
        p.kill()
        raise RuntimeError(f"the hog in {cgdir} did not start")
    return p


def compile_policy(tmp, name, text):
    """Writes `text` to TMP/NAME.mmp and compiles it; returns the object's path."""
    src = os.path.join(tmp, f"{name}.mmp")
    with open(src, "w") as f:
        f.write(text)
    obj = os.path.join(tmp, f"{name}.bpf.o")
    r = subprocess.run([MMPC, "compile", src, "-o", obj], capture_output=True, text=True)
    check(r.returncode == 0, f"policy {name} compiles" + (": " + r.stderr if r.returncode else ""))
    return obj


def test_cgroup(tag):
    """A fresh memory cgroup below this process's own: (path below the
    hierarchy's root, directory). Skips where that cannot be had."""
    if os.geteuid() != 0:
        skip("not root: loading BPF and writing cgroups need root")
    root, own = memory_root()
    if not root:
        skip("no cgroup v1 memory hierarchy here (the v2 guest tests cover v2)")
    base_rel = f"{own.rstrip('/')}/{tag}-{os.getpid()}"
    try:
        os.makedirs(root + base_rel)
    except OSError as e:
        skip(f"cannot make a memory cgroup: {e}")
    return base_rel, root + base_rel


def workspace(tag, *names):
    """test_cgroup(tag) with the cgroups NAMES made below it, and a
    temporary directory that also holds the status sockets of this run
    only (other mmruns on the machine, other checkouts' tests, answer in
    /run/mmrun with their own formats): (base_rel, base, {name: dir}, tmp)."""
    base_rel, base = test_cgroup(tag)
    dirs = {n: os.path.join(base, n) for n in names}
    for d in dirs.values():
        os.makedirs(d)
    tmp = tempfile.mkdtemp()
    os.environ["MMRUN_STATUS_DIR"] = os.path.join(tmp, "status")
    return base_rel, base, dirs, tmp


def stop_hogs(hogs):
    for h in hogs:
        if alive(h):
            h.kill()
        h.wait()


def remove_cgroups(dirs, tries=20):
    """Removes each cgroup (children first, as listed), waiting for killed
    processes to leave it."""
    for d in dirs:
        for _ in range(tries):
            try:
                os.rmdir(d)
                break
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.1)


def bpf_progs():
    """The loaded BPF programs, as (id, name) pairs."""
    out = subprocess.run(["bpftool", "prog", "show", "--json"], capture_output=True, text=True).stdout
    try:
        return {(p.get("id"), p.get("name", "")) for p in json.loads(out or "[]")}
    except json.JSONDecodeError:
        return set()


def run_mmrun(obj, extra, seconds, stop=signal.SIGTERM, during=None):
    """Runs mmrun for `seconds` (calling `during` halfway); returns (log records, exit code)."""
    p = subprocess.Popen([MMRUN, "load", "--log-format=json", "--interval=500ms", *extra, obj],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(seconds / 2)
    if during:
        during()
    time.sleep(seconds / 2)
    p.send_signal(stop)
    out, err = p.communicate(timeout=10)
    records = [json.loads(l) for l in out.splitlines() if l.startswith("{")]
    if err.strip():
        print(err.strip())
    return records, p.returncode


def run_until(obj, extra, until, seconds=15, interval="500ms"):
    """mmrun (JSON log) until `until(records)` holds or `seconds` pass; its
    records, those that follow within 0.3 s included."""
    p = subprocess.Popen([MMRUN, "load", "--log-format=json", f"--interval={interval}", *extra, obj],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    records = []

    def read():
        for line in p.stdout:
            if line.startswith("{"):
                records.append(json.loads(line))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    end = time.time() + seconds
    while time.time() < end and not until(list(records)) and p.poll() is None:
        time.sleep(0.05)
    time.sleep(0.3)
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=15)
    reader.join(timeout=5)
    err = p.stderr.read()
    if err.strip():
        print(err.strip())
    return records


class Mmrun:
    """`mmrun load ARGS...` in the background, its JSON records read as
    they come; in the memory cgroup `cgroup` (a directory) when given."""

    def __init__(self, args, cgroup=None):
        pre = f"echo $$ > {cgroup}/cgroup.procs; " if cgroup else ""
        self.p = subprocess.Popen(["sh", "-c", pre + 'exec "$@"', "sh", MMRUN, "load", "--log-format=json"] + args,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        os.set_blocking(self.p.stdout.fileno(), False)
        self.records, self.buf = [], ""

    def read(self):
        while True:
            try:
                chunk = os.read(self.p.stdout.fileno(), 65536)
            except BlockingIOError:
                break
            if not chunk:
                break
            self.buf += chunk.decode(errors="replace")
        *lines, self.buf = self.buf.split("\n")
        for line in lines:
            if line.startswith("{"):
                self.records.append(json.loads(line))
            elif line.strip():
                print("  mmrun: " + line)
        return self.records

    def wait_for(self, pred, seconds=15):
        """True once a record satisfies `pred` (False if mmrun exits first)."""
        end = time.time() + seconds
        while time.time() < end:
            if any(pred(r) for r in self.read()):
                return True
            if self.p.poll() is not None:
                break
            time.sleep(0.05)
        return any(pred(r) for r in self.read())

    def status(self, key):
        """A /proc/PID/status figure of mmrun, in kB (0 once it exited)."""
        if self.p.poll() is not None:
            return 0
        for line in open(f"/proc/{self.p.pid}/status"):
            if line.startswith(key + ":"):
                return int(line.split()[1])
        return 0

    def stop(self):
        """SIGTERM; returns mmrun's exit status."""
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
        self.p.wait(timeout=20)
        time.sleep(0.1)
        self.read()
        return self.p.returncode


def decisions(records):
    """The decision records, without their times (wall clock live, the
    snapshots' in replay) and latencies (live only), details and candidate
    tables (a live dry run names the victim a kill would take and the
    candidates it ranked, which replay, with no live system, cannot)."""
    live_only = ("time", "latency_ms", "queued_ms", "decided_ns", "detail", "candidates", "candidates_omitted")
    return [{k: v for k, v in r.items() if k not in live_only} for r in records if r.get("kind") == "decision"]


def record_and_replay(tmp, base_rel, kill_obj):
    """A trace recorded during a live dry run replays to exactly the decisions that run logged;
    `mmrun record`'s trace replays to the kill the live policy makes."""
    policy = os.path.join(tmp, "replay.mmp")
    with open(policy, "w") as f:
        f.write(f'policy replay\nprotect "{base_rel}/protected"\nin "{base_rel}/*" {{\n'
                f'  when memcg.usage > 64MiB for 1s kill largest process\n'
                f'  when memcg.usage > 8MiB log "{{memcg.path}} uses {{memcg.usage}}" cooldown 1s\n}}\n'
                f'when system.memory.available > 1MiB log "available {{system.memory.available}}" cooldown 1s\n')
    obj = os.path.join(tmp, "replay.bpf.o")
    r = subprocess.run([MMPC, "compile", policy, "-o", obj], capture_output=True, text=True)
    check(r.returncode == 0, "record: the policy compiles" + (": " + r.stderr if r.returncode else ""))
    trace = os.path.join(tmp, "live.jsonl")
    records, rc = run_mmrun(obj, ["--dry-run", "--record", trace], 3.0)
    live = decisions(records)
    check(rc == 0, f"record: mmrun load --record exits 0 (got {rc})")
    r = subprocess.run([MMRUN, "replay", "--log-format=json", obj, trace], capture_output=True, text=True)
    check(r.returncode == 0, "record: mmrun replay exits 0" + (": " + r.stderr if r.returncode else ""))
    replayed_records = [json.loads(l) for l in r.stdout.splitlines()]
    replayed = decisions(replayed_records)
    lived = [(x.get("latency_ms"), x.get("queued_ms")) for x in records if x.get("kind") == "decision"]
    check(bool(lived) and all(isinstance(v, (int, float)) and isinstance(q, (int, float)) and 0 <= q <= v < 10000
                              for v, q in lived)
          and not any("latency_ms" in x or "queued_ms" in x for x in replayed_records),
          f"record: each live decision carries its latency from the BPF decision and the wait within it, "
          f"replay's none ({lived[:3]})")
    kinds = {(d.get("action"), d.get("outcome"), d.get("cgroup")) for d in live}
    check(("kill", "dry-run", f"{base_rel}/victim") in kinds and ("log", "logged", "(scope)") in kinds,
          f"record: the live run decided a kill and logged system and cgroup lines ({len(live)} decisions)")
    check(replayed == live, f"record: the replay prints exactly the live run's {len(live)} decisions"
          + ("" if replayed == live else f"\n  live:   {live}\n  replay: {replayed}"))
    again = subprocess.run([MMRUN, "replay", obj, trace], capture_output=True, text=True).stdout
    check(again == subprocess.run([MMRUN, "replay", obj, trace], capture_output=True, text=True).stdout and again,
          "record: replay prints the same every run")

    # mmrun record: every cgroup and field, as the programs read them.
    recorded = os.path.join(tmp, "recorded.jsonl")
    with open(recorded, "w") as out:
        r = subprocess.run([MMRUN, "record", "--for", "2s", "--interval", "500ms"], stdout=out,
                           stderr=subprocess.PIPE, text=True)
    check(r.returncode == 0, "record: mmrun record exits 0" + (": " + r.stderr if r.returncode else ""))
    lines = [json.loads(l) for l in open(recorded)]
    victim = [x for x in lines[1:] if x.get("cgroup") == f"{base_rel}/victim"]
    check(lines and lines[0].get("mmp_trace") == 1 and len(victim) >= 3
          and all(x["memcg.usage"] >= 128 << 20 for x in victim),
          f"record: the trace holds the victim at every walk, at 128 MiB or more ({len(victim)} snapshots)")
    r = subprocess.run([MMRUN, "replay", "--log-format=json", kill_obj, recorded], capture_output=True, text=True)
    out = decisions(json.loads(l) for l in r.stdout.splitlines())
    check(r.returncode == 0 and out and all(d.get("cgroup") == f"{base_rel}/victim" and d.get("action") == "kill"
                                            for d in out),
          f"record: the kill policy replayed on it kills the victim and nothing else ({out})")


def main():
    base_rel, base, dirs, tmp = workspace("mmp-e2e", "victim", "protected", "bystander")
    hogs = []
    try:
        policy = os.path.join(tmp, "e2e.mmp")
        with open(policy, "w") as f:
            f.write(f'policy e2e\nprotect "{base_rel}/protected"\n'
                    f'in "{base_rel}/*" {{\n  when memcg.usage > 64MiB for 1s kill largest process\n}}\n')
        obj = os.path.join(tmp, "e2e.bpf.o")
        r = subprocess.run([MMPC, "compile", policy, "-o", obj], capture_output=True, text=True)
        check(r.returncode == 0, "the policy compiles" + (": " + r.stderr if r.returncode else ""))

        victim = start_hog(dirs["victim"], 128)
        protected = start_hog(dirs["protected"], 128)
        bystander = start_hog(dirs["bystander"], 16)
        hogs += [victim, protected, bystander]

        # Dry run: a decision within 3 s, nothing killed.
        status = {}

        def ask_status():
            r = subprocess.run([MMRUN, "status", "--json"], capture_output=True, text=True)
            if r.returncode == 0:
                status.update({s["policy"]: s for s in json.loads(r.stdout)})

        records, rc = run_mmrun(obj, ["--dry-run"], 3.0, during=ask_status)
        decisions = [x for x in records if x.get("kind") == "decision" and x.get("cgroup") == f"{base_rel}/victim"]
        check(rc == 0, f"mmrun exits 0 on SIGTERM (got {rc})")
        check(any(x.get("outcome") == "dry-run" and x.get("action") == "kill" for x in decisions),
              "dry run: a kill decision for the victim is logged within 3 s")
        would = [x.get("detail", "") for x in decisions if x.get("action") == "kill"]
        check(bool(would) and all(d.startswith(f"would send SIGKILL to pid {victim.pid} (rss ") for d in would),
              f"dry run: the record names the process the kill would take ({would[:1]})")
        check(all(x.get("cgroup") != f"{base_rel}/protected" for x in records), "dry run: nothing about the protected cgroup")
        check(alive(victim) and alive(protected) and alive(bystander), "dry run: every hog lives")
        rules = status.get("e2e", {}).get("rules", [{}])
        check(rules[0].get("evaluations", 0) > 0, f"mmrun status answers, with evaluations counted ({rules[0]})")

        record_and_replay(tmp, base_rel, obj)

        # Kill: the victim's hog dies within 3 s; the others live.
        records, rc = run_mmrun(obj, [], 3.0)
        time.sleep(0.2)
        check(not alive(victim), "kill: the victim's hog is dead within 3 s")
        check(alive(protected), "kill: the protected cgroup's hog lives")
        check(alive(bystander), "kill: the bystander (under the threshold) lives")
        check(any(x.get("outcome") == "enacted" and x.get("action") == "kill" for x in records),
              "kill: the kill is logged as enacted")

        # kill -9: nothing stays attached.
        # Programs of earlier tests may still be on their way out (freed
        # after an RCU grace period): watch only the ids this mmrun loaded.
        before = bpf_progs()
        p = subprocess.Popen([MMRUN, "load", obj], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.5)
        mine = {prog for prog in bpf_progs() - before if prog[1].startswith("mmp_")}
        p.kill()
        p.wait()
        left = mine
        for _ in range(40):
            left = mine & bpf_progs()
            if not left:
                break
            time.sleep(0.1)
        check(any(name == "mmp_tick" for _, name in mine), "while mmrun runs, its programs are loaded")
        check(not left, f"after kill -9, none of its programs is left (left: {sorted(left)})")
    finally:
        stop_hogs(hogs)
        remove_cgroups(list(dirs.values()) + [base])
    print(f"{len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
