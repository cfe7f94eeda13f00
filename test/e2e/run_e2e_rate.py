#!/usr/bin/env python3
"""End-to-end: max_actions_per_second as docs/language.md states it.

Twenty empty memory cgroups, a rule that decides a kill (there is nothing
to kill: the action fails, after the rate limit) in each at every 100 ms
walk, `max_actions_per_second = 10` and `cooldown 5s`:
- no one-second window, the first included, holds more than 10 actions
  that passed the limit (a token bucket starting full let 17 through in
  the first second);
- a decision the limit drops does not start the rule's cooldown: its
  cgroup is decided again within a second (before, not for 5 s).
Prints SKIPPED: reason where the process may not load BPF or make cgroups.
usage: run_e2e_rate.py BIN_DIR
"""
import datetime
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

from run_e2e import check, failures, remove_cgroups, skip, test_cgroup  # noqa: E402  (the e2e tests' shared reporting)
BIN = sys.argv[1]
MMPC, MMRUN = (os.path.join(BIN, n) for n in ("mmpc", "mmrun"))
V1 = "/sys/fs/cgroup/memory"



def seconds(record):
    t = datetime.datetime.strptime(record["time"], "%Y-%m-%dT%H:%M:%S.%fZ")
    return t.timestamp()


def busiest_second(times):
    """The most actions any window of 0.98 s holds: a record's time is
    stamped after its action (a kill takes a few ms), the limit's before."""
    times = sorted(times)
    return max((sum(1 for u in times[i:] if u - t < 0.98) for i, t in enumerate(times)), default=0)


def run(tmp, rel, cooldown):
    """mmrun for 3.5 s at a 100 ms interval: (decision records, stop time)."""
    src = os.path.join(tmp, "rate.mmp")
    with open(src, "w") as f:
        f.write(f'policy rate\nset max_actions_per_second = 10\n'
                f'in "{rel}/*" {{\n  when memcg.usage < 1GiB kill largest process cooldown {cooldown}\n}}\n')
    obj = os.path.join(tmp, "rate.bpf.o")
    r = subprocess.run([MMPC, "compile", src, "-o", obj], capture_output=True, text=True)
    if r.returncode != 0:
        skip(f"cannot compile the policy: {r.stderr.strip()}")
    # The log to a file: a pipe that fills blocks mmrun (200 records a second).
    log = os.path.join(tmp, "rate.log")
    with open(log, "w") as out:
        p = subprocess.Popen([MMRUN, "load", "--log-format=json", "--interval=100ms", obj],
                             stdout=out, stderr=subprocess.PIPE, text=True)
        time.sleep(3.5)
        stopped = time.time()
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=20)
    records = [json.loads(l) for l in open(log) if l.startswith("{")]
    if p.returncode != 0 and not records:
        skip(f"mmrun cannot load the policy here: {err.strip()[-200:]}")
    return [x for x in records if x.get("kind") == "decision"], stopped


def main():
    rel, base = test_cgroup("mmp-rate")
    dirs = [f"{V1}{rel}/c{i:02d}" for i in range(20)]
    tmp = tempfile.mkdtemp()
    os.environ["MMRUN_STATUS_DIR"] = os.path.join(tmp, "status")
    try:
        for d in dirs:
            os.makedirs(d)
        # Cooldown 1 s: more decisions than the limit at every walk.
        decisions, stopped = run(tmp, rel, "1s")
        passed = [seconds(x) for x in decisions if x.get("outcome") in ("enacted", "failed")]
        start = min(seconds(x) for x in decisions) if decisions else 0
        first = sum(1 for t in passed if t - start < 1.0)
        check(first <= 10, f"the first second holds {first} actions past the limit (at most 10)")
        most = busiest_second(passed)
        check(most <= 10, f"the busiest one-second window holds {most} (at most 10)")
        check(len(passed) >= 20, f"the limit lets about 10 a second through ({len(passed)} in 3.5 s)")

        # Cooldown 5 s: a rate-limited cgroup is decided again at once.
        decisions, stopped = run(tmp, rel, "5s")
        limited = [x for x in decisions if x.get("outcome") == "rate-limited" and seconds(x) < stopped - 1.5]
        again = [x for x in limited
                 if any(y["cgroup"] == x["cgroup"] and 0 < seconds(y) - seconds(x) <= 1.0 for y in decisions)]
        check(limited and len(again) == len(limited),
              f"a rate-limited cgroup is decided again within 1 s, not after the 5 s cooldown "
              f"({len(again)} of {len(limited)})")
    finally:
        remove_cgroups(dirs + [base])
    print(f"{len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
