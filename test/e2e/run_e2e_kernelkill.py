#!/usr/bin/env python3
"""End-to-end: `kill ... in kernel`, the reclaim hook's own kill.

A memory cgroup `kk` limited to 256 MiB holds a protected child `guarded`
with a hog of 120 MiB (the largest process), a hog `big` of 90 MiB and a
hog `grower` of 20 MiB, which then asks for 100 MiB more. The policy
kills the largest process in kernel when `kk` holds over 95% of its limit;
the periodic walk is slowed (10 s) so that the reclaim hook meets the
crossing first. Where the kernel has the kfuncs (6.13 and later):
- mmrun's start says the kills in kernel are made by the kernel;
- `big` dies (the largest unprotected), by one record `enacted by=kernel`
  naming its pid, the decision's latency short; `guarded` lives (larger,
  but in a protected cgroup), and the grower, which waited at the limit
  (the kernel's OOM killer is off in `kk`), grows;
- under --dry-run the kill path is mmrun's, the record `dry-run by=mmrun`
  names big, and nothing dies.
On a kernel without them the start says so, and mmrun makes the kill
(`by=mmrun`): the fallback is checked instead.
Prints SKIPPED: reason where the process may not load BPF or make cgroups.
usage: run_e2e_kernelkill.py BIN_DIR
"""
import os
import subprocess
import sys
import time

from run_e2e import (HOG, alive, check, compile_policy, failures, remove_cgroups, require_bpf, run_until,  # noqa: E402
                     start_hog, stop_hogs, workspace)

LIMIT_MIB = 256


def kills(records):
    return [r for r in records if r.get("kind") == "decision" and r.get("action") == "kill"]


def kill_path(records):
    detail = next((r.get("detail", "") for r in records if r.get("outcome") == "kill path"), "")
    return detail.removeprefix("kills in kernel made by: ")


def scene(dirs):
    """The three hogs; the grower waits for a line on stdin before it grows."""
    guarded = start_hog(dirs["guarded"], 120)
    big = start_hog(dirs["kk"], 90)
    grower = subprocess.Popen([HOG, dirs["kk"], "20", "100"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    if not grower.stdout.readline().startswith("ready"):
        raise RuntimeError("the grower did not start")
    return guarded, big, grower


def grow(grower):
    def go():
        grower.stdin.write("go\n")
        grower.stdin.flush()
    return go


def main():
    require_bpf()
    base_rel, base, dirs, tmp = workspace("mmp-e2e-kernelkill", "kk")
    dirs["guarded"] = os.path.join(dirs["kk"], "guarded")
    os.makedirs(dirs["guarded"])
    with open(os.path.join(dirs["kk"], "memory.limit_in_bytes"), "w") as f:
        f.write(str(LIMIT_MIB << 20))
    # Without swap, reclaim at the limit fails at once, and the kernel's
    # memcg OOM killer would fire before a victim signalled at the first
    # reclaim has freed its memory: it takes the largest it still sees
    # (a victim that has let go of its mm is invisible to it while its
    # pages are freed), the guarded hog. Off in `kk`, so that a charge waits
    # at the limit instead (as in bench/runtime_bench.py).
    with open(os.path.join(dirs["kk"], "memory.oom_control"), "w") as f:
        f.write("1")
    hogs = []
    try:
        obj = compile_policy(tmp, "fast", "policy fast\n"
                             f'protect "{base_rel}/kk/guarded"\n'
                             f'in "{base_rel}/kk" {{\n'
                             "  when memcg.usage > 95% of memcg.max kill largest process in kernel cooldown 1s\n}\n")
        if failures:
            return 1

        # A dry run: mmrun's path, nothing killed.
        guarded, big, grower = scene(dirs)
        hogs += [guarded, big, grower]
        started = [False]

        def until(rs):
            if not started[0] and any(r.get("outcome") == "started" for r in rs):
                started[0] = True
                grow(grower)()
            return bool(kills(rs))
        records = run_until(obj, ["--dry-run"], until, seconds=20, interval="10s")
        dry = kills(records)
        check("mmrun (--dry-run" in kill_path(records), f"a dry run says mmrun makes the kills ({kill_path(records)})")
        check(dry and dry[0].get("outcome") == "dry-run" and dry[0].get("by") == "mmrun"
              and f"pid {big.pid} " in dry[0].get("detail", ""),
              f"its record is a dry run by mmrun naming big ({[(r.get('outcome'), r.get('by'), r.get('detail')) for r in dry[:1]]})")
        check(all(alive(h) for h in (guarded, big, grower)), "and nothing died")
        # The grower waits at the limit while big lives: killed with the rest.
        stop_hogs(hogs)
        hogs = []
        time.sleep(0.5)

        # For real.
        guarded, big, grower = scene(dirs)
        hogs += [guarded, big, grower]
        started[0] = False
        records = run_until(obj, [], until, seconds=20, interval="10s")
        made = kills(records)
        path = kill_path(records)
        in_kernel = path.startswith("kernel")
        print(f"kill path: {path}")
        check(path.startswith("kernel") or "lacks" in path, f"the start says who kills, and why ({path})")
        who = "kernel" if in_kernel else "mmrun"
        check(len(made) == 1 and made[0].get("outcome") == "enacted" and made[0].get("by") == who
              and f"pid {big.pid}" in (made[0].get("argument", "") + made[0].get("detail", "")),
              f"one record: big killed, by {who} "
              f"({[(r.get('outcome'), r.get('by'), r.get('argument'), r.get('detail')) for r in made]})")
        time.sleep(0.5)
        check(not alive(big), "big is dead")
        check(alive(guarded), "the guarded hog lives, though larger: its cgroup is protected")
        line = grower.stdout.readline() if alive(grower) else ""
        check(line.startswith("go") and alive(grower), f"the grower lives and grew past the limit's wait ({line.strip()})")
        if in_kernel and made:
            check(made[0].get("latency_ms", 1e9) < 1000,
                  f"the record reached mmrun soon after the kill ({made[0].get('latency_ms')} ms)")
        return 1 if failures else 0
    finally:
        stop_hogs(hogs)
        remove_cgroups([dirs["guarded"], dirs["kk"], base])


if __name__ == "__main__":
    sys.exit(main())
