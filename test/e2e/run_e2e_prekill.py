#!/usr/bin/env python3
"""End-to-end: `mmrun load --pre-kill COMMAND` before real kills.

A hog in a memory cgroup of this test's own, a kill policy, and a hook:
- the hook runs before the kill, while the victim is still alive, with
  MMP_POLICY, MMP_RULE, MMP_CGROUP, MMP_PID, MMP_VICTIM and MMP_REASON
  naming it; its result is logged (`pre-kill`) and the kill follows;
- a hook over --pre-kill-timeout is killed with everything it started,
  logged as an error, and the kill still happens;
- a dry run runs no hook; a malformed --pre-kill-timeout exits 2.
Prints SKIPPED: reason where the process may not load BPF or make cgroups.
usage: run_e2e_prekill.py BIN_DIR
"""
import os
import subprocess
import sys
import time

from run_e2e import (alive, check, compile_policy, failures, remove_cgroups, run_until, start_hog,  # noqa: E402
                     stop_hogs, workspace)
BIN = sys.argv[1]
MMRUN = os.path.join(BIN, "mmrun")


def gone(pid, seconds=5):
    """Whether the process exits (or is a zombie, left to init) within `seconds`."""
    end = time.time() + seconds
    while time.time() < end:
        try:
            state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
        except OSError:
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.05)
    return False


def killed(records):
    return any(r.get("action") == "kill" and r.get("kind") == "decision" and r.get("outcome") == "enacted"
               for r in records)


def main():
    base_rel, base, dirs, tmp = workspace("mmp-e2e-prekill", "victim")
    victim_dir = dirs["victim"]
    hogs = []
    try:
        obj = compile_policy(tmp, "prekill", f'policy prekill\nin "{base_rel}/*" {{\n'
                             f'  when memcg.usage > 64MiB for 1s kill largest process\n}}\n')
        if failures:
            return 1
        seen = os.path.join(tmp, "seen")
        hook = (f'env | grep ^MMP_ | sort > {seen}.tmp; '
                f'kill -0 "$MMP_PID" && echo alive >> {seen}.tmp; mv {seen}.tmp {seen}')

        # A dry run runs no hook.
        hog = start_hog(victim_dir, 128)
        hogs.append(hog)
        records = run_until(obj, ["--dry-run", "--pre-kill", hook],
                      lambda rs: any(r.get("outcome") == "dry-run" for r in rs))
        check(any(r.get("outcome") == "dry-run" for r in records) and not os.path.exists(seen),
              "a dry run decides the kill and runs no hook")

        # The hook, then the kill.
        records = run_until(obj, ["--pre-kill", hook], killed)
        env = dict(l.split("=", 1) for l in open(seen).read().splitlines() if "=" in l) if os.path.exists(seen) else {}
        lines = open(seen).read().splitlines() if os.path.exists(seen) else []
        check(env.get("MMP_POLICY") == "prekill" and env.get("MMP_RULE", "").endswith("prekill.mmp:3")
              and env.get("MMP_PID") == str(hog.pid) and env.get("MMP_VICTIM") == f"pid {hog.pid}"
              and env.get("MMP_CGROUP") == f"{base_rel}/victim" and env.get("MMP_REASON", "").startswith("rss ")
              and env.get("MMP_ACTION") == "kill",
              f"the hook sees the victim in its environment ({env})")
        check("alive" in lines, "the hook runs while the victim is still alive")
        order = [r.get("outcome") for r in records if r.get("action") == "kill"]
        check("pre-kill" in order and "enacted" in order and order.index("pre-kill") < order.index("enacted"),
              f"the hook's record comes before the kill's ({order})")
        note = next((r for r in records if r.get("outcome") == "pre-kill"), {})
        check(note.get("kind") == "info" and " exited 0 after " in note.get("detail", ""),
              f"the hook's result is logged ({note.get('detail')})")
        time.sleep(0.3)
        check(not alive(hog), "the victim is killed after the hook")

        # A hook over its time limit: killed with what it started; the kill goes on.
        hog = start_hog(victim_dir, 128)
        hogs.append(hog)
        pidfile = os.path.join(tmp, "hook.pid")
        slow = f'sleep 30 & echo $! > {pidfile}; wait'
        started = time.time()
        records = run_until(obj, ["--pre-kill", slow, "--pre-kill-timeout", "300ms"], killed)
        note = next((r for r in records if r.get("outcome") == "pre-kill"), {})
        check(note.get("kind") == "error" and "did not finish within 300 ms: killed" in note.get("detail", ""),
              f"a hook over its limit is logged as an error ({note.get('detail')})")
        check(killed(records) and time.time() - started < 10, "and the kill still happens")
        sleeper = int(open(pidfile).read()) if os.path.exists(pidfile) else 0
        check(sleeper > 0 and gone(sleeper), f"what the hook started is killed with it (pid {sleeper})")

        r = subprocess.run([MMRUN, "load", "--pre-kill", "true", "--pre-kill-timeout", "soon", obj],
                           capture_output=True, text=True, timeout=30)
        check(r.returncode == 2 and "--pre-kill-timeout takes a duration" in r.stderr,
              f"a malformed --pre-kill-timeout exits 2 and says why ({r.stderr.strip()})")
    finally:
        stop_hogs(hogs)
        remove_cgroups([victim_dir, base])
    print(f"{len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
