#!/usr/bin/env python3
"""End-to-end: several policies in one mmrun, SIGHUP reload, --pin.

On this machine's cgroup v1 memory controller, with real hogs:
- two policies whose decisions meet on one cgroup: the one given first on
  the command line acts, the other's decision is logged as overruled and
  counted in `mmrun status`;
- SIGHUP reloads the object from disk (new program ids, decisions go on);
  a broken object on reload leaves the loaded policy running, with an
  error record saying why;
- --pin: `kill -9` leaves the pinned hooks attached (that is what --pin is
  for); removing the pins detaches them; a clean stop removes the pins;
- a cgroup that vanishes between the decision (made in the kernel, on
  memcg reclaim, while mmrun is stopped) and the action: logged as failed,
  counted, and mmrun goes on.
Prints SKIPPED: reason where the process may not load BPF or write cgroups.
usage: run_e2e_policies.py BIN_DIR
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from run_e2e import (MMRUN, alive, bpf_progs, check, compile_policy, failures, remove_cgroups, start_hog, stop_hogs,
                     test_cgroup)



def start_mmrun(args):
    return subprocess.Popen([MMRUN, "load", "--log-format=json", "--interval=300ms", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def stop_mmrun(p, sig=signal.SIGTERM):
    p.send_signal(sig)
    out, err = p.communicate(timeout=10)
    if err.strip():
        print(err.strip())
    return [json.loads(l) for l in out.splitlines() if l.startswith("{")], p.returncode


def mmp_progs():
    return {prog for prog in bpf_progs() if prog[1].startswith("mmp_")}


def wait_gone(ids, seconds=4.0):
    """Programs are freed after an RCU grace period: wait for them to go."""
    left = ids
    for _ in range(int(seconds / 0.1)):
        left = ids & bpf_progs()
        if not left:
            break
        time.sleep(0.1)
    return left


def main():
    base_rel, base = test_cgroup("mmp-e2e-pol")
    victim_dir = os.path.join(base, "victim")
    doomed_dir = os.path.join(base, "doomed")
    os.makedirs(victim_dir)
    tmp = tempfile.mkdtemp()
    # A bpf file system of the test's own: a machine as it comes has none
    # mounted at /sys/fs/bpf, and the test must not depend on one.
    bpffs = tempfile.mkdtemp(prefix="mmp-bpffs-")
    mounted = subprocess.run(["mount", "-t", "bpf", "bpf", bpffs], capture_output=True, text=True)
    check(mounted.returncode == 0, f"a bpf file system mounts at {bpffs} {mounted.stderr.strip()}")
    pin_dir = os.path.join(bpffs, "mmp-e2e")
    hog = None
    try:
        hog = start_hog(victim_dir, 96)
        rule = f'in "{base_rel}/*" {{\n  when memcg.usage > 64MiB kill largest process cooldown 1s\n}}\n'
        first = compile_policy(tmp, "first", "policy alpha\n" + rule)
        second = compile_policy(tmp, "second", "policy beta\n" + rule)

        # 1. Two policies meet on the victim: the first given wins.
        status = {}
        p = start_mmrun(["--dry-run", first, second])
        time.sleep(2.0)
        r = subprocess.run([MMRUN, "status", "--json"], capture_output=True, text=True)
        if r.returncode == 0:
            status.update({s["policy"]: s for s in json.loads(r.stdout)})
        records, rc = stop_mmrun(p)
        victim = f"{base_rel}/victim"
        mine = [x for x in records if x.get("kind") == "decision" and x.get("cgroup") == victim]
        check(rc == 0, f"two policies: mmrun exits 0 on SIGTERM (got {rc})")
        check(any(x["policy"] == "alpha" and x.get("outcome") == "dry-run" for x in mine),
              "two policies: the first policy's kill decision goes through (dry run)")
        check(any(x["policy"] == "beta" and x.get("outcome") == "overruled" for x in mine),
              "two policies: the second policy's decision on the same cgroup is logged as overruled")
        check(not any(x["policy"] == "beta" and x.get("outcome") == "dry-run" for x in mine),
              "two policies: the second policy never acts on the first's cgroup")
        overruled = sum(rule.get("overruled", 0) for rule in status.get("beta", {}).get("rules", []))
        check(set(status) == {"alpha", "beta"} and overruled > 0,
              f"two policies: mmrun status lists both, with the overruled count ({overruled})")
        check(alive(hog), "two policies: dry run, the hog lives")

        # 2. SIGHUP reloads from disk; a broken object leaves the old one running.
        before = mmp_progs()
        live = os.path.join(tmp, "live.bpf.o")
        shutil.copy(first, live)
        p = start_mmrun(["--dry-run", live])
        time.sleep(1.0)
        old_ids = mmp_progs() - before
        shutil.copy(second, live)
        p.send_signal(signal.SIGHUP)
        time.sleep(1.5)
        new_ids = mmp_progs() - before - old_ids
        gone = not wait_gone(old_ids)
        with open(live, "wb") as f:
            f.write(b"\x7fELF broken")
        p.send_signal(signal.SIGHUP)
        time.sleep(1.0)
        after_broken = mmp_progs() & new_ids
        records, rc = stop_mmrun(p)
        reloaded = [i for i, x in enumerate(records) if x.get("outcome") == "reloaded"]
        check(bool(old_ids) and any(n == "mmp_tick" for _, n in new_ids) and gone,
              f"SIGHUP: new programs replace the old ones ({len(old_ids)} old gone, {len(new_ids)} new)")
        check(bool(reloaded) and any(x.get("policy") == "beta" and x.get("outcome") == "dry-run"
                                     for x in records[reloaded[0]:]),
              "SIGHUP: the reloaded policy (now `beta`) goes on deciding")
        check(any(x.get("kind") == "error" and "keeps running" in x.get("detail", "") for x in records),
              "SIGHUP with a broken object: an error record says the loaded policy keeps running")
        check(after_broken == new_ids, "SIGHUP with a broken object: the loaded programs stay")

        # 3. --pin: kill -9 leaves the pinned hooks; removing the pins detaches them.
        if mounted.returncode != 0:  # a failure above already
            print("part skipped (--pin): cannot mount a bpf file system")
        else:
            before = mmp_progs()
            p = start_mmrun(["--dry-run", "--pin", pin_dir, first])
            time.sleep(1.0)
            ids = mmp_progs() - before
            pins = os.listdir(os.path.join(pin_dir, "alpha")) if os.path.isdir(os.path.join(pin_dir, "alpha")) else []
            p.kill()
            p.wait()
            time.sleep(0.5)
            kept = {prog for prog in ids & bpf_progs() if prog[1] != "mmp_tick" and prog[1] != "mmp_replay"}
            check("mmp_memcg_reclaim" in pins, f"--pin: the hooks are pinned under {pin_dir}/alpha ({pins})")
            check(any(n == "mmp_memcg_reclaim" for _, n in kept), "--pin: after kill -9 the pinned hook stays attached")
            shutil.rmtree(pin_dir)
            check(not wait_gone(kept), "--pin: removing the pins detaches the hooks")
            p = start_mmrun(["--dry-run", "--pin", pin_dir, first])
            time.sleep(1.0)
            pinned = os.path.isdir(os.path.join(pin_dir, "alpha"))
            records, rc = stop_mmrun(p)
            check(pinned and rc == 0 and not os.listdir(pin_dir), "--pin: a clean stop removes the pins")

        # 4. A cgroup that vanishes between decision and action.
        os.makedirs(doomed_dir)
        with open(os.path.join(doomed_dir, "memory.limit_in_bytes"), "w") as f:
            f.write(str(16 << 20))
        doomed_id = os.stat(doomed_dir).st_ino
        small = compile_policy(tmp, "small", f'policy gamma\nin "{base_rel}/doomed" {{\n'
                               '  when memcg.usage > 1MiB kill largest process cooldown 1s\n}\n')
        p = start_mmrun(["--dry-run", small])
        time.sleep(1.0)  # the doomed cgroup is in the policy's scope now
        p.send_signal(signal.SIGSTOP)
        # Over its limit, the hog makes the kernel reclaim in its cgroup: the
        # reclaim hook decides at once, into the ring buffer nobody reads now.
        doomed = subprocess.Popen([os.path.join(os.path.dirname(MMRUN), "mmp_hog"), doomed_dir, "48"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0)
        if doomed.poll() is None:
            doomed.kill()
        doomed.wait()
        remove_cgroups([doomed_dir], tries=50)
        gone = not os.path.exists(doomed_dir)
        p.send_signal(signal.SIGCONT)
        time.sleep(1.0)
        r = subprocess.run([MMRUN, "status", "--json"], capture_output=True, text=True)
        failed = 0
        if r.returncode == 0:
            for s in json.loads(r.stdout):
                if s.get("policy") == "gamma":
                    failed = sum(rule.get("failed", 0) for rule in s.get("rules", []))
        records, rc = stop_mmrun(p)
        lost = [x for x in records if x.get("outcome") == "failed" and f"cgroup {doomed_id} is gone" in x.get("detail", "")]
        check(gone, "vanishing cgroup: the cgroup is removed while mmrun is stopped")
        check(bool(lost), f"vanishing cgroup: the decision for it is logged as failed ({lost[:1]})")
        check(failed >= len(lost) > 0, f"vanishing cgroup: counted as failed in mmrun status ({failed})")
        check(rc == 0, f"vanishing cgroup: mmrun goes on and exits 0 (got {rc})")
    finally:
        stop_hogs([hog] if hog is not None else [])
        shutil.rmtree(pin_dir, ignore_errors=True)
        if mounted.returncode == 0:
            subprocess.run(["umount", bpffs])
        shutil.rmtree(bpffs, ignore_errors=True)
        remove_cgroups((victim_dir, doomed_dir, base))
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
