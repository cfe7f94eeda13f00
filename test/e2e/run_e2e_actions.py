#!/usr/bin/env python3
"""End-to-end: the rate limit under a storm of decisions, and failed writes.

On this machine's cgroup v1 memory controller:
- max_actions_per_second holds: 12 cgroups whose rule fires at every walk
  (every 200 ms) for 3 s; mmrun enacts at most the bucket's burst plus its
  rate, and logs the rest as rate-limited, each counted in `mmrun status`;
- a write the kernel refuses (a v1 limit below what the cgroup uses,
  without swap: EBUSY) is logged as failed with its errno text, counted,
  and mmrun goes on;
- the kill picks: of an old large hog and a young smaller one in one
  cgroup, `kill largest` kills the old one, `kill youngest` and `kill
  growing` (RSS per second of life) the young one;
- the kill keys and signal: of a large hog and a smaller one with
  oom_score_adj=1000, `kill process by oom_score` kills the smaller one;
  `by oom_score > 1500` kills nothing and is logged and counted as failed,
  saying why; `kill process with SIGTERM` ends a hog by SIGTERM, not SIGKILL;
- a system rule's `kill largest cgroup` kills one cgroup of its whole scope,
  the largest leaf, and never a protected leaf or its parent.
Prints SKIPPED: reason where the process may not load BPF or write cgroups.
usage: run_e2e_actions.py BIN_DIR
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from run_e2e import (MMRUN, alive, check, compile_policy, failures, remove_cgroups, start_hog, stop_hogs,
                     test_cgroup)



def run(obj, seconds, interval):
    # The log goes to files: a storm writes more than a pipe holds in
    # `seconds`, and mmrun blocked on a full pipe answers no status.
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        p = subprocess.Popen([MMRUN, "load", "--log-format=json", f"--interval={interval}", obj],
                             stdout=out, stderr=err, text=True)
        time.sleep(seconds)
        st = subprocess.run([MMRUN, "status", "--json"], capture_output=True, text=True, timeout=30)
        status = json.loads(st.stdout) if st.returncode == 0 else []
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=10)
        out.seek(0)
        err.seek(0)
        text, errors = out.read(), err.read()
    if errors.strip():
        print(errors.strip())
    return [json.loads(l) for l in text.splitlines() if l.startswith("{")], status, p.returncode


def rule_counter(status, policy, key):
    return sum(r.get(key, 0) for s in status if s.get("policy") == policy for r in s.get("rules", []))


def stalled_stdout(storm):
    """A stdout nobody reads (journald stalled, a full pipe): mmrun goes on
    deciding and answering, counts the records it drops, and says how many
    once stdout drains."""
    r_fd, w_fd = os.pipe()
    p = subprocess.Popen([MMRUN, "load", "--log-format=json", "--interval=10ms", storm],
                         stdout=w_fd, stderr=subprocess.DEVNULL)
    os.close(w_fd)
    try:
        time.sleep(6)  # about 1,000 records a second: the pipe, then mmrun's queue of 4,096, fill
        def look():
            st = subprocess.run([MMRUN, "status", "--json"], capture_output=True, text=True, timeout=10)
            mine = [s for s in (json.loads(st.stdout) if st.returncode == 0 else []) if s.get("policy") == "storm"]
            return mine[0] if mine else None
        first = look()
        time.sleep(1)
        then = look()
        evaluations = [sum(r.get("evaluations", 0) for r in s.get("rules", [])) if s else 0 for s in (first, then)]
        check(first is not None and then is not None, "stalled stdout: mmrun status answers")
        check(evaluations[1] > evaluations[0], f"stalled stdout: the rules are still evaluated ({evaluations})")
        dropped = then.get("log_records_dropped", 0) if then else 0
        check(dropped > 0, f"stalled stdout: the records that did not fit are counted ({dropped})")
    finally:
        p.send_signal(signal.SIGTERM)
        out = b""
        while chunk := os.read(r_fd, 1 << 16):  # EOF: mmrun wrote what was queued and exited
            out += chunk
        os.close(r_fd)
        p.wait(timeout=10)
    records = [json.loads(l) for l in out.decode(errors="replace").splitlines() if l.startswith("{")]
    said = [r.get("detail", "") for r in records if r.get("kind") == "error" and "log records dropped" in
            r.get("detail", "")]
    check(p.returncode == 0 and bool(said) and said[0].endswith("stdout did not keep up (over 4096 waiting)"),
          f"stalled stdout: once it drains, a record says how many were dropped ({said[:1]}), and mmrun exits 0")


def set_oom_score_adj(hog, adj):
    with open(f"/proc/{hog.pid}/oom_score_adj", "w") as f:
        f.write(str(adj))


def kill_keys(tmp, base_rel, keyed, hogs):
    """by oom_score picks the smaller hog the kernel would pick; a threshold
    nothing exceeds kills nothing and fails; with SIGTERM ends a hog by SIGTERM."""
    # The large hog, and a smaller one the kernel's OOM killer would choose.
    big, small = start_hog(keyed["oom"], 48), start_hog(keyed["oom"], 24)
    hogs.extend([big, small])
    set_oom_score_adj(small, 1000)
    obj = compile_policy(tmp, "by_oom", f'policy by_oom\nin "{base_rel}/key-oom" {{\n'
                         f'  when memcg.usage > 60MiB kill process by oom_score cooldown 10s\n}}\n')
    records, status, rc = run(obj, 1.5, "500ms")
    time.sleep(0.2)
    enacted = [r.get("detail", "") for r in records if r.get("outcome") == "enacted"]
    check(rc == 0 and not alive(small) and alive(big),
          f"kill process by oom_score: the smaller hog with oom_score_adj=1000 dies, the larger lives ({enacted})")
    check(any(d.startswith(f"SIGKILL to pid {small.pid} (oom_score ") for d in enacted),
          f"kill process by oom_score: the log names the signal, the pid and its oom_score ({enacted})")

    # A threshold no process exceeds: oom_score is 666 plus its share of memory (2/3 of thousandths),
    # 1333 at most with oom_score_adj=1000; these two, with none, are far below 1500.
    quiet = [start_hog(keyed["above"], 48), start_hog(keyed["above"], 24)]
    hogs.extend(quiet)
    obj = compile_policy(tmp, "above", f'policy above\nin "{base_rel}/key-above" {{\n'
                         f'  when memcg.usage > 60MiB kill process by oom_score > 1500 cooldown 10s\n}}\n')
    records, status, rc = run(obj, 1.5, "500ms")
    spared = [r.get("detail", "") for r in records if r.get("outcome") == "no-victim"]
    check(rc == 0 and all(alive(h) for h in quiet), "kill ... by oom_score > 1500: no hog is killed")
    check(bool(spared) and all(d == "no process has an oom_score above 1500" for d in spared),
          f"kill ... by oom_score > 1500: logged as no-victim, saying why ({spared})")
    check(rule_counter(status, "above", "no_victim") > 0 and rule_counter(status, "above", "failed") == 0,
          "kill ... by oom_score > 1500: counted as no victim, not as failed")

    # with SIGTERM: the hog does not handle it, so it ends by SIGTERM.
    term = start_hog(keyed["term"], 24)
    hogs.append(term)
    obj = compile_policy(tmp, "term", f'policy term\nin "{base_rel}/key-term" {{\n'
                         f'  when memcg.usage > 16MiB kill process with SIGTERM cooldown 10s\n}}\n')
    records, status, rc = run(obj, 1.5, "500ms")
    try:
        code = term.wait(timeout=2)
    except subprocess.TimeoutExpired:
        code = None
    enacted = [r.get("detail", "") for r in records if r.get("outcome") == "enacted"]
    check(code == -signal.SIGTERM, f"kill process with SIGTERM: the hog ends by SIGTERM (returncode {code})")
    check(any(d.startswith(f"SIGTERM to pid {term.pid} (rss ") for d in enacted),
          f"kill process with SIGTERM: the log names SIGTERM ({enacted})")


def kill_case(tmp, name, dirs, sizes, hogs, text):
    """Starts a hog of each size (MiB; 0: none) in each of `dirs`, runs the
    policy `text` for 1.5 s; returns (records, exit code, names of the
    cgroups whose hog died)."""
    running = {k: start_hog(d, mib) for (k, d), mib in zip(dirs.items(), sizes) if mib}
    hogs.extend(running.values())
    records, status, rc = run(compile_policy(tmp, name, text), 1.5, "500ms")
    time.sleep(0.2)
    return records, rc, sorted(k for k, h in running.items() if not alive(h))


def system_kill(tmp, base_rel, system, hogs):
    """The scope's cgroups sys-a, sys-b and sys-c are each a target of the
    system rule; one decision kills the largest leaf of them all (sys-b),
    not one per target; sys-c/kept, protected, is larger still but no
    candidate, and neither is sys-c, whose child it is."""
    records, rc, dead = kill_case(tmp, "system_kill", system, (16, 32, 0, 64), hogs,
                                  f'policy system_kill\nprotect "{base_rel}/sys-c/kept"\n'
                                  f'in "{base_rel}/sys-*" {{\n'
                                  f'  when system.memory.available > 1MiB kill largest cgroup cooldown 30s\n}}\n')
    kills = [r for r in records if r.get("action") == "kill" and r.get("outcome") not in ("dropped",)]
    check(rc == 0 and dead == ["sys-b"], f"system kill cgroup: only the largest leaf of the scope dies ({dead})")
    check(len(kills) == 1 and kills[0].get("outcome") == "enacted"
          and kills[0].get("detail", "").startswith(f"{base_rel}/sys-b: SIGKILL to pid "),
          f"system kill cgroup: one decision, one kill, naming the cgroup ({[r.get('detail') for r in kills]})")


def among_kill(tmp, base_rel, among, hogs):
    """A memcg rule on `watch` kills among the pool's cgroups, not below its
    subject: the largest pool cgroup (pool/b) dies; watch's own hog, the
    smaller pool/a and the protected pool/c (largest of all) live."""
    records, rc, dead = kill_case(tmp, "among_kill", among, (24, 16, 32, 64), hogs,
                                  f'policy among_kill\nprotect "{base_rel}/pool/c"\n'
                                  f'in "{base_rel}/watch" {{\n'
                                  f'  when memcg.usage > 8MiB kill cgroup among "{base_rel}/pool/*" by usage cooldown 30s\n}}\n')
    kills = [r for r in records if r.get("action") == "kill" and r.get("outcome") == "enacted"]
    check(rc == 0 and dead == ["pool/b"], f"kill cgroup among: the largest named, unprotected cgroup dies ({dead})")
    check(len(kills) == 1 and kills[0].get("cgroup") == f"{base_rel}/watch"
          and kills[0].get("detail", "").startswith(f"{base_rel}/pool/b: "),
          f"kill cgroup among: the watched cgroup's decision names the victim ({[r.get('detail') for r in kills]})")


def main():
    base_rel, base = test_cgroup("mmp-e2e-act")
    dirs = [os.path.join(base, f"storm-{i}") for i in range(12)]
    stuck = os.path.join(base, "stuck")
    picks = {k: os.path.join(base, f"pick-{k}") for k in ("largest", "youngest", "growing")}
    keyed = {k: os.path.join(base, f"key-{k}") for k in ("oom", "above", "term")}
    system = {k: os.path.join(base, k) for k in ("sys-a", "sys-b", "sys-c", "sys-c/kept")}
    among = {k: os.path.join(base, k) for k in ("watch", "pool/a", "pool/b", "pool/c")}
    for d in dirs + [stuck] + list(picks.values()) + list(keyed.values()) + list(system.values()) + \
            [os.path.join(base, "pool")] + list(among.values()):
        os.makedirs(d)
    tmp = tempfile.mkdtemp()
    hogs = []
    try:
        # 1. A storm: every cgroup over 1 MiB gets a 1 GiB limit (harmless
        # here), at every walk; at most 2 actions a second.
        for d in dirs:
            hogs.append(start_hog(d, 4))
        storm = compile_policy(tmp, "storm", f'policy storm\nset allow_limit = true\nset max_actions_per_second = 2\n'
                               f'in "{base_rel}/storm-*" {{\n  when memcg.usage > 1MiB limit to 1GiB cooldown 0s\n}}\n')
        seconds = 3.0
        records, status, rc = run(storm, seconds, "200ms")
        enacted = [r for r in records if r.get("outcome") == "enacted"]
        limited = [r for r in records if r.get("outcome") == "rate-limited"]
        check(rc == 0, f"storm: mmrun exits 0 (got {rc})")
        check(len(enacted) + len(limited) >= 40, f"storm: decisions keep coming ({len(enacted) + len(limited)})")
        # A bucket of 2 tokens refilled at 2 a second: 2 + 2 * seconds, and one for timing slack.
        check(0 < len(enacted) <= 2 + 2 * seconds + 1, f"storm: at most 2 + 2/s actions are enacted ({len(enacted)})")
        check(all("max_actions_per_second" in r.get("detail", "") for r in limited),
              "storm: each one over the limit is logged as rate-limited, saying why")
        counted = rule_counter(status, "storm", "rate_limited")
        check(counted > 0 and counted <= len(limited), f"storm: rate-limited decisions are counted ({counted})")
        with open(os.path.join(dirs[0], "memory.limit_in_bytes")) as f:
            limit = int(f.read())
        check(limit == 1 << 30 or any(r["cgroup"].endswith("storm-0") for r in limited),
              f"storm: an enacted limit is in the kernel ({limit})")
        stalled_stdout(storm)

        # 2. A write the kernel refuses: a 1 MiB limit under a 16 MiB hog, no swap.
        hogs.append(start_hog(stuck, 16))
        refused = compile_policy(tmp, "refused", f'policy refused\nset allow_limit = true\n'
                                 f'in "{base_rel}/stuck" {{\n  when memcg.usage > 8MiB limit to 1MiB cooldown 1s\n}}\n')
        records, status, rc = run(refused, 2.5, "500ms")
        failed = [r for r in records if r.get("outcome") == "failed"]
        check(rc == 0, f"refused write: mmrun goes on and exits 0 (got {rc})")
        check(bool(failed) and all("memory.limit_in_bytes" in r.get("detail", "") for r in failed),
              f"refused write: logged as failed, naming the file ({failed[:1]})")
        check(any("busy" in r.get("detail", "").lower() for r in failed), "refused write: the errno's text is logged")
        check(rule_counter(status, "refused", "failed") > 0, "refused write: counted as failed in mmrun status")
        check(alive(hogs[-1]), "refused write: the hog was not touched")

        # 3. Kill picks: an old hog of 48 MiB, then (3 s or more later) a young one of 24 MiB.
        pairs = {k: [start_hog(d, 48)] for k, d in picks.items()}
        for pair in pairs.values():
            hogs.extend(pair)
        time.sleep(3.0)
        for k, d in picks.items():
            obj = compile_policy(tmp, f"pick_{k}", f'policy pick_{k}\n'
                                 f'in "{base_rel}/pick-{k}" {{\n  when memcg.usage > 60MiB kill {k} process cooldown 10s\n}}\n')
            pairs[k].append(start_hog(d, 24))  # young: about 1 s old when the rule fires
            hogs.append(pairs[k][-1])
            records, status, rc = run(obj, 1.5, "500ms")
            old, young = pairs[k]
            time.sleep(0.2)
            want_old_dead = k == "largest"
            check(alive(old) != want_old_dead and alive(young) == want_old_dead,
                  f"kill {k} process: the {'old large' if want_old_dead else 'young'} hog dies, the other lives "
                  f"({[r.get('detail') for r in records if r.get('outcome') == 'enacted']})")

        # 4. Kill keys and the signal.
        kill_keys(tmp, base_rel, keyed, hogs)

        # 5. A system rule kills one cgroup among the leaves of its whole scope.
        system_kill(tmp, base_rel, system, hogs)

        # 6. A kill among named cgroups, apart from the rule's subject.
        among_kill(tmp, base_rel, among, hogs)
    finally:
        stop_hogs(hogs)
        remove_cgroups(dirs + [stuck] + list(picks.values()) + list(keyed.values())
                       + [system[k] for k in ("sys-c/kept", "sys-a", "sys-b", "sys-c")]
                       + [among[k] for k in ("watch", "pool/a", "pool/b", "pool/c")] + [os.path.join(base, "pool"), base])
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
