#!/usr/bin/env python3
"""End-to-end: what the policy's own hooks observe, on real memory cgroups.

`memcg.since_reclaim`: a hog pushed against a small v1 limit makes the
kernel reclaim in its cgroup; a dry-run policy logging `when
memcg.since_reclaim < 3s` must log for that cgroup and for its parent (the
stamp is hierarchical, like memory.stat's pgscan), never for an idle
sibling, and not before the hog starts. Prints SKIPPED: reason where the
process may not load BPF or write cgroups.
usage: run_e2e_observed.py BIN_DIR
"""
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run_e2e as e2e  # noqa: E402

e2e.BIN = sys.argv[1]
e2e.MMPC, e2e.MMRUN, e2e.HOG = (os.path.join(e2e.BIN, n) for n in ("mmpc", "mmrun", "mmp_hog"))


def main():
    base_rel, base = e2e.test_cgroup("mmp-e2e-obs")
    busy, idle = os.path.join(base, "busy"), os.path.join(base, "idle")
    for d in (busy, idle):
        os.makedirs(d)
    with open(os.path.join(busy, "memory.limit_in_bytes"), "w") as f:
        f.write(str(32 << 20))
    tmp = tempfile.mkdtemp()
    hogs = []
    try:
        obj = e2e.compile_policy(tmp, "seen", f'''policy seen
in "{base_rel}", "{base_rel}/*" {{
  when memcg.since_reclaim < 3s log "reclaim began {{memcg.since_reclaim}} ago" cooldown 1s
}}
''')
        started, status = [], {}

        def push():
            r = subprocess.run([e2e.MMRUN, "status", "--json"], capture_output=True, text=True)
            if r.returncode == 0:
                status.update({x["policy"]: x for x in json.loads(r.stdout)})
            started.append(time.time())
            # 64 MiB against a 32 MiB limit: reclaim, then (no swap) the OOM killer.
            hogs.append(subprocess.Popen([e2e.HOG, busy, "64"], stdout=subprocess.DEVNULL))

        records, rc = e2e.run_mmrun(obj, ["--dry-run"], 5.0, during=push)
        logged = [r for r in records if r.get("kind") == "decision"]
        where = {r.get("cgroup") for r in logged}
        e2e.check(rc == 0, f"mmrun exits 0 (got {rc})")
        # The kprobe that names the reclaimed memcg needs a kernel with kprobes;
        # without, mmrun says what is lost and runs on the tracepoints.
        kprobes = os.path.exists("/sys/bus/event_source/devices/kprobe")
        notes = [r for r in records if r.get("outcome") == "not attached"]
        e2e.check(bool(notes) != kprobes and all("memcg.since_reclaim" in r.get("detail", "") for r in notes),
                  f"the reclaim kprobe is attached where the kernel has kprobes (kprobes: {kprobes}), "
                  f"else a record says what is lost ({[r.get('detail') for r in notes]})")
        listed = status.get("seen", {}).get("not_attached")
        e2e.check(listed == [r.get("detail") for r in notes], f"mmrun status lists the same ({listed})")
        e2e.check(f"{base_rel}/busy" in where, f"reclaim in the limited cgroup is seen ({len(logged)} decisions)")
        e2e.check(base_rel in where, "its parent sees it too (the stamp is hierarchical)")
        e2e.check(f"{base_rel}/idle" not in where, "the idle sibling never reports reclaim")
        def at(r):
            return datetime.datetime.strptime(r["time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
                tzinfo=datetime.timezone.utc).timestamp()
        early = [r for r in logged if started and at(r) < started[0] - 0.05]
        e2e.check(bool(started) and not early, f"nothing is reported before the hog starts ({len(early)} early)")
        msgs = [r.get("message", "") for r in logged if r.get("cgroup") == f"{base_rel}/busy"]
        e2e.check(bool(msgs) and all(m.startswith("reclaim began ") and m.endswith("s ago") for m in msgs),
                  f"the log shows how long ago ({msgs[:1]})")
    finally:
        e2e.stop_hogs(hogs)
        e2e.remove_cgroups([busy, idle, base])
    if e2e.failures:
        print(f"{len(e2e.failures)} check(s) failed")
        sys.exit(1)


if __name__ == "__main__":
    main()
