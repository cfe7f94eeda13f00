#!/usr/bin/env python3
"""End-to-end: `mmrun load --log-format journal` into a real journald.

Debian's systemd-journald runs in a private mount namespace of this test
(tmpfs on /run/systemd, /run/log and /var/log/journal: the host's journal,
if any, is not touched, and no systemd as PID 1 is needed). mmrun kills a
hog in a memory cgroup of the test's own and logs to that journald:
- `journalctl MESSAGE_ID=<the kill id>` finds the kill, with MMP_POLICY,
  MMP_RULE, MMP_CGROUP, MMP_ACTION, MMP_DETAIL, MMP_OUTCOME, PRIORITY 4
  and SYSLOG_IDENTIFIER mmrun; MMP_RECORD is the JSON record, candidate
  table included; MESSAGE the text line;
- the start record is there too, at PRIORITY 6, without the kill's id;
- with journald gone, records fall back to stdout, as text.
Prints SKIPPED: reason where BPF, cgroups, unshare or journald cannot be had.
usage: run_e2e_journal.py BIN_DIR
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

from run_e2e import (MMRUN, alive, check, compile_policy, failures, remove_cgroups, skip, start_hog,  # noqa: E402
                     stop_hogs, workspace)

JOURNALD = "/lib/systemd/systemd-journald"
KILL_ID = "9c24e8a0a32d49aa8d54d394dbba22a3"  # runtime/log.h, kKillMessageId
SOCKET = "/run/systemd/journal/socket"


def journal(*match):
    """The private journal's entries matching `match`, as dicts."""
    r = subprocess.run(["journalctl", "--no-pager", "-o", "json", *match], capture_output=True, text=True)
    return [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]


def wait_for(pred, seconds=15):
    end = time.time() + seconds
    while time.time() < end and not pred():
        time.sleep(0.1)
    return pred()


def inside():
    """In the private mount namespace: journald, mmrun, the checks."""
    for d in ("/run/systemd", "/run/log", "/var/log/journal"):
        os.makedirs(d, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", d], check=True)
    journald = subprocess.Popen([JOURNALD], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if not wait_for(lambda: os.path.exists(SOCKET) or journald.poll() is not None, 20) or journald.poll() is not None:
        err = journald.stderr.read() if journald.poll() is not None else ""
        skip(f"systemd-journald does not start here: {err.strip()[-300:]}")
    base_rel, base, dirs, tmp = workspace("mmp-e2e-journal", "victim")
    hogs = []
    mmrun = None
    try:
        obj = compile_policy(tmp, "journal", f'policy journal\nin "{base_rel}/*" {{\n'
                             f'  when memcg.usage > 64MiB for 1s kill largest process\n}}\n')
        if failures:
            return 1
        hog = start_hog(dirs["victim"], 128)
        hogs.append(hog)
        mmrun = subprocess.Popen([MMRUN, "load", "--log-format", "journal", "--interval", "500ms", obj],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        found = wait_for(lambda: journal(f"MESSAGE_ID={KILL_ID}"), 20)
        kills = journal(f"MESSAGE_ID={KILL_ID}")
        check(bool(found) and not alive(hog), f"journalctl MESSAGE_ID={KILL_ID} finds the kill ({len(kills)} entries)")
        k = kills[0] if kills else {}
        check(k.get("MMP_POLICY") == "journal" and k.get("MMP_RULE", "").endswith("journal.mmp:3")
              and k.get("MMP_CGROUP") == f"{base_rel}/victim" and k.get("MMP_ACTION") == "kill"
              and f"SIGKILL to pid {hog.pid} " in k.get("MMP_DETAIL", "") and k.get("MMP_OUTCOME") == "enacted",
              "the kill's fields: " + ", ".join(f"{f}={k.get(f)}" for f in
                                                ("MMP_POLICY", "MMP_RULE", "MMP_CGROUP", "MMP_ACTION",
                                                 "MMP_DETAIL", "MMP_OUTCOME")))
        check(k.get("PRIORITY") == "4" and k.get("SYSLOG_IDENTIFIER") == "mmrun",
              f"at PRIORITY 4 (warning), as mmrun ({k.get('PRIORITY')}, {k.get('SYSLOG_IDENTIFIER')})")
        try:
            record = json.loads(k.get("MMP_RECORD", ""))
        except ValueError:
            record = {}
        check(record.get("outcome") == "enacted" and any(c.get("verdict") == "victim" for c in record.get("candidates", [])),
              "MMP_RECORD is the JSON record, its candidate table with the victim")
        check(f"pid {hog.pid}" in k.get("MESSAGE", "") and "enacted" in k.get("MESSAGE", ""),
              f"MESSAGE is the record's text ({k.get('MESSAGE', '')[:120]})")
        started = journal("SYSLOG_IDENTIFIER=mmrun", "MMP_OUTCOME=started")
        s = started[0] if started else {}
        check(s.get("PRIORITY") == "6" and s.get("MMP_POLICY") == "journal" and "MESSAGE_ID" not in s,
              f"the start record is there at PRIORITY 6, without the kill's id ({len(started)} entries)")

        # journald gone: what mmrun says next (its stop) goes to stdout.
        journald.terminate()
        journald.wait(timeout=10)
        mmrun.send_signal(signal.SIGTERM)
        out = mmrun.communicate(timeout=20)[0]
        check(mmrun.returncode == 0 and " info journal " in out and "stopped" in out,
              f"with journald gone, records fall back to stdout as text ({out.strip()[-160:]})")
    finally:
        if mmrun and mmrun.poll() is None:
            mmrun.kill()
            mmrun.wait()
        if journald.poll() is None:
            journald.kill()
        stop_hogs(hogs)
        remove_cgroups([dirs["victim"], base])
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{len(failures)} failures")
    return 1 if failures else 0


def main():
    if os.geteuid() != 0:
        skip("not root: loading BPF, cgroups and mounts need root")
    for tool in (JOURNALD, shutil.which("journalctl"), shutil.which("unshare")):
        if not tool or not os.access(tool, os.X_OK):
            skip("systemd-journald, journalctl and unshare are needed (Debian's systemd and util-linux)")
    if "--inside" in sys.argv:
        return inside()
    # A mount namespace of its own, so that journald's sockets and files
    # are the test's alone.
    return subprocess.run(["unshare", "--mount", "--propagation", "private", "--", sys.executable,
                           os.path.abspath(__file__), sys.argv[1], "--inside"]).returncode


if __name__ == "__main__":
    sys.exit(main())
