#!/usr/bin/env python3
"""End-to-end: `prefer` and `avoid` on real kills.

Three hogs in a memory cgroup of this test's own, run under names of their
own (links to mmp_hog: the kernel names a process after what it ran):
`database` (the largest, avoided by name), `browser` (the smallest,
preferred by its command line) and `worker`. While the cgroup holds over
200 MiB, the policy kills its largest process, once a second:
- a dry run names the browser, says the preference chose it, kills nothing;
- so does `mmrun explain` of the rule, at once, whatever its condition,
  without values or latency; an unknown rule is refused, naming the rules;
- then the browser dies first, the worker second (the database, largest,
  is avoided), and the database lives: the records say what decided.
Then `protect process` (earlyoom's --ignore) on a database of 160 MiB
beside a worker of 96 MiB, killed while their cgroup holds over 100 MiB:
the worker dies though smaller, the table says the database is protected,
and, alone, the database is no victim ("every process ... is protected").
And a cgroup kill spares the cgroup holding a protected process: its
neighbour dies, it is recorded no-victim, the database lives.
Prints SKIPPED: reason where the process may not load BPF or make cgroups.
usage: run_e2e_prefer.py BIN_DIR
"""
import json
import os
import subprocess
import sys
import time

from run_e2e import (HOG, alive, check, compile_policy, failures, remove_cgroups, run_until, stop_hogs,  # noqa: E402
                     workspace)
BIN = sys.argv[1]
MMRUN = os.path.join(BIN, "mmrun")


def start_named_hog(tmp, name, cgdir, mib):
    """mmp_hog run as TMP/NAME (a link), so that its name is NAME."""
    link = os.path.join(tmp, name)
    if not os.path.exists(link):
        os.symlink(HOG, link)
    p = subprocess.Popen([link, cgdir, str(mib)], stdout=subprocess.PIPE, text=True)
    if not p.stdout.readline().startswith("ready"):
        p.kill()
        raise RuntimeError(f"the hog {name} did not start")
    return p


def kills(records, outcome):
    return [r for r in records if r.get("action") == "kill" and r.get("kind") == "decision"
            and r.get("outcome") == outcome]


def enacted_and_none(tmp, name, policy):
    """The policy's kills, enacted and no-victim, once it has made one of each (or after 20 s)."""
    obj = compile_policy(tmp, name, policy)
    if failures:
        return [], []
    records = run_until(obj, [], lambda rs: kills(rs, "enacted") and kills(rs, "no-victim"), seconds=20,
                        interval="200ms")
    return kills(records, "enacted"), kills(records, "no-victim")


def protected_kills(tmp, base_rel, dirs, hogs):
    """`protect process`: never a candidate, nor its cgroup for a cgroup kill."""
    for n in ("guarded", "neighbour"):
        os.makedirs(dirs[n])
    database = start_named_hog(tmp, "database", dirs["guarded"], 160)
    worker = start_named_hog(tmp, "worker", dirs["guarded"], 96)
    hogs += [database, worker]
    enacted, none = enacted_and_none(tmp, "guarded", "policy guarded\n"
                                     'protect process "^database$"\n'
                                     f'in "{base_rel}/guarded" {{\n'
                                     "  when memcg.usage > 100MiB kill largest process cooldown 1s\n}\n")
    detail = enacted[0].get("detail", "") if enacted else ""
    check(len(enacted) == 1 and f"SIGKILL to pid {worker.pid} " in detail,
          f"the worker dies, though the database is larger ({[r.get('detail') for r in enacted]})")
    table = {c.get("candidate", ""): c.get("verdict", "") for c in (enacted[0].get("candidates", []) if enacted else [])}
    check(table.get(f"pid {database.pid} (database)", "").startswith('protected: protect process "^database$"'),
          f"its candidate table says the database is protected ({table})")
    check(none and "every process of the subject is protected" in none[0].get("detail", ""),
          f"alone, the database is no victim ({[r.get('detail') for r in none[:1]]})")
    time.sleep(0.3)
    check(alive(database) and not alive(worker), "the database lives")

    # A cgroup kill: cgroup.kill would reach the database, so its cgroup is spared.
    neighbour = start_named_hog(tmp, "worker", dirs["neighbour"], 128)
    hogs.append(neighbour)
    enacted, none = enacted_and_none(tmp, "spared", "policy spared\n"
                                     'protect cmdline "/database "\n'
                                     f'in "{base_rel}/*" {{\n'
                                     "  when memcg.usage > 100MiB kill cgroup cooldown 1s\n}\n")
    check(any("neighbour" in r.get("detail", "") for r in enacted) and not alive(neighbour),
          f"the neighbour cgroup is killed ({[r.get('detail') for r in enacted]})")
    spared = [c for r in none for c in r.get("candidates", []) if c.get("candidate", "").endswith("/guarded")]
    check(spared and spared[0].get("verdict", "").startswith(f"holds protected pid {database.pid} (database)"),
          f"the guarded cgroup is no victim: it holds the protected database ({[r.get('detail') for r in none[:1]]}, "
          f"{spared})")
    time.sleep(0.3)
    check(alive(database), "the database lives")


def main():
    base_rel, base, dirs, tmp = workspace("mmp-e2e-prefer", "victims")
    # Made for the protections' part, after the preferences' (explain asks every cgroup in scope).
    dirs.update({n: os.path.join(base, n) for n in ("guarded", "neighbour")})
    victims = dirs["victims"]
    hogs = {}
    more = []
    try:
        obj = compile_policy(tmp, "preferences", "policy preferences\n"
                             'avoid process "^database$"\n'
                             'prefer cmdline "/browser "\n'
                             f'in "{base_rel}/*" {{\n'
                             "  when memcg.usage > 200MiB kill largest process cooldown 1s\n}\n")
        if failures:
            return 1
        hogs = {"database": start_named_hog(tmp, "database", victims, 160),
                "worker": start_named_hog(tmp, "worker", victims, 96),
                "browser": start_named_hog(tmp, "browser", victims, 64)}
        pid = {n: h.pid for n, h in hogs.items()}

        records = run_until(obj, ["--dry-run"], lambda rs: kills(rs, "dry-run"), interval="200ms")
        dry = kills(records, "dry-run")
        detail = dry[0].get("detail", "") if dry else ""
        check(dry and f"would send SIGKILL to pid {pid['browser']} " in detail
              and 'chosen by preference (prefer cmdline "/browser "' in detail,
              f"a dry run names the preferred browser and says the preference chose it ({detail})")
        check(all(alive(h) for h in hogs.values()), "and kills nothing")
        table = dry[0].get("candidates", []) if dry else []
        verdicts = {c.get("candidate", "").split(" ")[1]: c.get("verdict") for c in table
                    if c.get("candidate", "").startswith("pid")}
        check(verdicts.get(str(pid["database"]), "").startswith('avoided: avoid process "^database$"'),
              f"its candidate table says the database is avoided ({table})")

        r = subprocess.run([MMRUN, "explain", obj, "preferences.mmp:5", "--log-format", "json"],
                           capture_output=True, text=True, timeout=30)
        told = kills([json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")], "dry-run")
        detail = told[0].get("detail", "") if told else ""
        check(r.returncode == 0 and len(told) == 1 and f"would send SIGKILL to pid {pid['browser']} " in detail
              and "chosen by preference" in detail and "values" not in told[0] and "latency_ms" not in told[0]
              and told[0].get("candidates"),
              f"mmrun explain names the browser and why, with the table, no values, no latency "
              f"({r.stderr.strip()}; {detail})")
        check(all(alive(h) for h in hogs.values()), "and kills nothing")
        r = subprocess.run([MMRUN, "explain", obj, "99"], capture_output=True, text=True, timeout=30)
        check(r.returncode == 1 and "has no rule 99" in r.stderr and "preferences.mmp:5" in r.stderr,
              f"an unknown rule is refused, listing the rules that kill ({r.stderr.strip()})")

        records = run_until(obj, [], lambda rs: len(kills(rs, "enacted")) >= 2, seconds=20, interval="200ms")
        done = kills(records, "enacted")
        order = [next((n for n, p in pid.items() if f"SIGKILL to pid {p} " in r.get("detail", "")), "?") for r in done]
        check(order[:2] == ["browser", "worker"], f"the browser dies first, then the worker ({order})")
        check(len(done) >= 2 and "chosen by preference" in done[0].get("detail", "")
              and "the key's first choice is avoided (avoid process \"^database$\"" in done[1].get("detail", ""),
              f"each record says what decided ({[r.get('detail') for r in done[:2]]})")
        time.sleep(0.3)
        check(alive(hogs["database"]) and not alive(hogs["browser"]) and not alive(hogs["worker"]),
              "the database, the largest, lives")
        stop_hogs(list(hogs.values()))
        protected_kills(tmp, base_rel, dirs, more)
    finally:
        stop_hogs(list(hogs.values()) + more)
        remove_cgroups([victims, dirs["guarded"], dirs["neighbour"], base])
    print(f"{len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
