#!/usr/bin/env python3
"""End-to-end: `mmrun load --policy-dir DIR`, as a ConfigMap feeds it.

A plain directory, then one laid out as the kubelet lays out a ConfigMap
volume (a timestamped directory, the `..data` link swapped to the next,
each NAME.bpf.o a link through it):
- mmrun starts on an empty directory and answers `mmrun status`;
- an object copied in starts, one moved in starts;
- a changed object reloads, with no detach between (no gap);
- a file that is no object, and an object whose policy name is taken,
  are refused with an error record; the others keep running (status);
- a removed object detaches; the other keeps evaluating;
- the kubelet's swap reloads what changed, starts what came, detaches
  what went; a swap to the same contents reloads nothing.
Prints SKIPPED: reason where BPF cannot be loaded.
usage: run_e2e_policydir.py BIN_DIR
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "kubernetes"))
from configmap_volume import swap  # noqa: E402  (the kubelet's update of a ConfigMap volume)
from run_e2e import MMRUN, Mmrun, check, compile_policy, failures, require_bpf, skip  # noqa: E402  (shared e2e helpers)


def policy(name, percent):
    # A system rule a cgroup v1 host can run; the threshold tells versions apart.
    return f'policy {name}\nwhen system.memory.available < {percent}% log "{name}: memory is short"\n'


def status():
    r = subprocess.run([MMRUN, "status", "--json"], capture_output=True, text=True)
    return {p["policy"]: p for p in json.loads(r.stdout)} if r.returncode == 0 else {}


def evaluations(p):
    return sum(rule.get("evaluations", 0) for rule in p.get("rules", []))


def records_of(d, since, outcome, policy=None):
    return [r for r in d.read()[since:] if r.get("outcome") == outcome and (policy is None or r.get("policy") == policy)]


def put(src, dst):
    """As an operator installs a file: written beside it, then renamed in."""
    shutil.copyfile(src, dst + ".part")
    os.rename(dst + ".part", dst)


def plain_directory(tmp, obj):
    pdir = os.path.join(tmp, "policies")
    os.makedirs(pdir)
    d = Mmrun(["--dry-run", "--interval=200ms", "--policy-dir", pdir])
    try:
        check(d.wait_for(lambda r: r.get("outcome") == "watching"), "mmrun starts on an empty policy directory")
        sock = os.path.join(os.environ["MMRUN_STATUS_DIR"], "policies.sock")
        check(d.p.poll() is None and os.path.exists(sock),
              "it runs, its status socket named after the directory (policies.sock)")
        r = subprocess.run([MMRUN, "status"], capture_output=True, text=True)
        check(r.returncode == 0 and "1 running mmrun answered: no policy loaded" in r.stdout,
              f"mmrun status says it runs with no policy yet ({r.returncode}: {r.stdout.strip()}{r.stderr.strip()})")

        shutil.copyfile(obj["a1"], os.path.join(pdir, "a.bpf.o"))  # written in place
        check(d.wait_for(lambda r: r.get("outcome") == "started" and r.get("policy") == "dir_a"),
              "an object copied into the directory starts")
        put(obj["b"], os.path.join(pdir, "b.bpf.o"))
        check(d.wait_for(lambda r: r.get("outcome") == "started" and r.get("policy") == "dir_b"),
              "an object moved into the directory starts")
        time.sleep(1)
        st = status()
        check(set(st) == {"dir_a", "dir_b"}, f"status lists both policies ({sorted(st)})")

        n = len(d.read())
        put(obj["a2"], os.path.join(pdir, "a.bpf.o"))
        check(d.wait_for(lambda r: r.get("outcome") == "reloaded" and r.get("policy") == "dir_a"),
              "a changed object reloads")
        check(not records_of(d, n, "stopped", "dir_a"), "with no detach between (the new one attached first)")

        n = len(d.read())
        with open(os.path.join(pdir, "broken.bpf.o"), "wb") as f:
            f.write(b"not an ELF object\n")
        put(obj["dup"], os.path.join(pdir, "c.bpf.o"))
        refused = lambda r, name: r.get("kind") == "error" and name in r.get("detail", "")  # noqa: E731
        check(d.wait_for(lambda r: refused(r, "broken.bpf.o")), "a file that is no object is refused, named")
        check(d.wait_for(lambda r: refused(r, "already runs")),
              "an object whose policy name is taken is refused, saying which runs it")
        time.sleep(1)
        again = len([r for r in d.read()[n:] if r.get("kind") == "error"])
        os.utime(os.path.join(pdir, "broken.bpf.o"))  # an event, the same content
        time.sleep(1)
        check(len([r for r in d.read()[n:] if r.get("kind") == "error"]) == again,
              "a refused file is not tried again until its content changes")
        st = status()
        check(d.p.poll() is None and set(st) == {"dir_a", "dir_b"},
              f"mmrun lives and the others keep running ({sorted(st)})")

        n = len(d.read())
        os.unlink(os.path.join(pdir, "b.bpf.o"))
        check(d.wait_for(lambda r: r.get("outcome") == "stopped" and r.get("policy") == "dir_b"),
              "a removed object detaches")
        before = evaluations(status().get("dir_a", {}))
        time.sleep(1.2)
        st = status()
        after = evaluations(st.get("dir_a", {}))
        check(set(st) == {"dir_a"} and after > before,
              f"the other keeps evaluating ({sorted(st)}; evaluations {before} -> {after})")
    finally:
        check(d.stop() == 0, "SIGTERM: mmrun exits 0")


def configmap_volume(tmp, obj):
    pdir = os.path.join(tmp, "configmap")
    os.makedirs(pdir)
    obj = {k: open(path, "rb").read() for k, path in obj.items()}
    swap(pdir, "2026_12_02_v1", {"a.bpf.o": obj["a1"]})
    d = Mmrun(["--dry-run", "--interval=200ms", "--policy-dir", pdir])
    try:
        check(d.wait_for(lambda r: r.get("outcome") == "started" and r.get("policy") == "dir_a"),
              "ConfigMap volume: its object starts")
        n = len(d.read())
        swap(pdir, "2026_12_02_v2", {"a.bpf.o": obj["a2"], "b.bpf.o": obj["b"]})
        check(d.wait_for(lambda r: r.get("outcome") == "reloaded" and r.get("policy") == "dir_a")
              and d.wait_for(lambda r: r.get("outcome") == "started" and r.get("policy") == "dir_b"),
              "the kubelet's swap: the changed object reloads, the new one starts")
        n = len(d.read())
        swap(pdir, "2026_12_02_v3", {"a.bpf.o": obj["a2"], "b.bpf.o": obj["b"]})
        time.sleep(1)
        check(not records_of(d, n, "reloaded") and not records_of(d, n, "started"),
              "a swap to the same contents reloads nothing")
        swap(pdir, "2026_12_02_v4", {"b.bpf.o": obj["b"]})
        check(d.wait_for(lambda r: r.get("outcome") == "stopped" and r.get("policy") == "dir_a"),
              "a key removed from the ConfigMap detaches its policy")
        time.sleep(0.5)
        check(set(status()) == {"dir_b"}, "status lists what the ConfigMap holds")
        check(not [r for r in d.read() if r.get("kind") == "error"],
              "no error through the swaps (the kubelet's own names are not policies)")
    finally:
        check(d.stop() == 0, "SIGTERM: mmrun exits 0")


def main():
    require_bpf()
    tmp = tempfile.mkdtemp()
    try:
        os.environ["MMRUN_STATUS_DIR"] = os.path.join(tmp, "status")
        src = os.path.join(tmp, "src")
        os.makedirs(src)
        obj = {"a1": compile_policy(src, "a1", policy("dir_a", 1)), "a2": compile_policy(src, "a2", policy("dir_a", 2)),
               "b": compile_policy(src, "b", policy("dir_b", 1)), "dup": compile_policy(src, "dup", policy("dir_a", 3))}
        if subprocess.run([MMRUN, "check", obj["a1"]], capture_output=True).returncode != 0:
            skip("mmrun check cannot load a policy here")
        plain_directory(tmp, obj)
        configmap_volume(tmp, obj)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
