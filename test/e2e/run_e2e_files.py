#!/usr/bin/env python3
"""End-to-end: what root's mmpc and mmrun do with paths another user controls.

An unprivileged user (`nobody`, through setpriv) plants links in a
directory it can write to (mode 1777, like /tmp); root then runs
`mmpc compile -o`, `mmpc compile` (default output), `mmpc fmt --write` and
`mmrun load --record` there. A root-only 0600 file the links point at must
stay as it was, and a file that is replaced keeps its owner and mode.
Also: `mmrun status` as a non-root uid refuses a /tmp/mmrun-UID another
user made (and escapes what it prints); the status directory and socket
get 0700 and 0600 under umask 000; two mmruns of one policy each keep
their socket; a long policy name gets a whole socket path; `--pin DIR`
refuses a DIR/POLICY another user owns (on a bpf file system this test
mounts and unmounts). Prints SKIPPED: reason where it cannot run.
usage: run_e2e_files.py BIN_DIR
"""
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time

from run_e2e import check, failures, skip  # noqa: E402  (the e2e tests' shared reporting)
BIN = sys.argv[1]
MMPC, MMRUN = (os.path.join(BIN, n) for n in ("mmpc", "mmrun"))
NOBODY = 65534



def as_user(uid, argv, **kw):
    """Runs argv as `uid` (group nogroup, no supplementary groups)."""
    return subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={NOBODY}", "--clear-groups", *argv],
                          capture_output=True, text=True, **kw)


def plant_link(target, at):
    r = as_user(NOBODY, ["ln", "-s", target, at])
    if r.returncode != 0:
        skip(f"nobody cannot plant a link: {r.stderr.strip()}")


class Secret:
    """A root-only file (0600, in a 0700 directory) that links point at."""

    def __init__(self, tmp, name):
        self.path = os.path.join(tmp, "root-only", name)
        os.makedirs(os.path.dirname(self.path), mode=0o700, exist_ok=True)
        with open(self.path, "w") as f:
            f.write("root's secret\n")
        os.chmod(self.path, 0o600)

    def intact(self):
        st = os.lstat(self.path)
        return (open(self.path, "rb").read() == b"root's secret\n" and stat.S_IMODE(st.st_mode) == 0o600
                and st.st_uid == 0)


POLICY = "policy files\nwhen system.memory.available > 1MiB log \"available {system.memory.available}\" cooldown 1s\n"


def compiler_writes(tmp, shared):
    src = os.path.join(shared, "p.mmp")
    with open(src, "w") as f:
        f.write(POLICY)

    secret = Secret(tmp, "compile-o")
    out = os.path.join(shared, "out.bpf.o")
    plant_link(secret.path, out)
    r = subprocess.run([MMPC, "compile", src, "-o", out], capture_output=True, text=True)
    check(secret.intact(), "compile -o through nobody's link: root's file is untouched")
    check(r.returncode != 0 and "link" in r.stderr, f"compile -o: refused, naming the link ({r.stderr.strip()})")

    secret = Secret(tmp, "compile-default")
    plant_link(secret.path, os.path.join(shared, "p.bpf.o"))
    subprocess.run([MMPC, "compile", src], capture_output=True, text=True)
    check(secret.intact(), "compile's default output through nobody's link: root's file is untouched")

    # A regular file of nobody's at OUT is replaced, and stays nobody's, 0640.
    theirs = os.path.join(shared, "theirs.bpf.o")
    as_user(NOBODY, ["sh", "-c", f"umask 027; echo old > {theirs}"])
    r = subprocess.run([MMPC, "compile", src, "-o", theirs], capture_output=True, text=True)
    st = os.lstat(theirs)
    check(r.returncode == 0 and open(theirs, "rb").read(4) == b"\x7fELF",
          "compile -o over a user's file writes the object" + (": " + r.stderr if r.returncode else ""))
    check(st.st_uid == NOBODY and stat.S_IMODE(st.st_mode) == 0o640,
          f"compile -o keeps the replaced file's owner and mode (uid {st.st_uid}, {stat.S_IMODE(st.st_mode):o})")
    left = [n for n in os.listdir(shared) if n.endswith(".tmp")]
    check(not left, f"compile leaves no temporary file ({left})")


def formatter_writes(tmp, shared):
    src = os.path.join(shared, "messy.mmp")
    as_user(NOBODY, ["sh", "-c", f"umask 027; printf 'policy   messy\\nwhen   system.memory.available<1MiB  log \"x\"\\n' > {src}"])
    secret = Secret(tmp, "fmt")
    plant_link(secret.path, src + ".mmpc-fmt.tmp")
    r = subprocess.run([MMPC, "fmt", "--write", src], capture_output=True, text=True)
    check(secret.intact(), "fmt --write with nobody's link at P.mmpc-fmt.tmp: root's file is untouched (content, 0600)")
    st = os.lstat(src)
    check(r.returncode == 0 and open(src).read().startswith("policy messy\n"),
          "fmt --write formats the file" + (": " + r.stderr if r.returncode else ""))
    check(st.st_uid == NOBODY and stat.S_IMODE(st.st_mode) == 0o640,
          f"fmt --write keeps the file's owner and mode (uid {st.st_uid}, {stat.S_IMODE(st.st_mode):o})")

    secret = Secret(tmp, "fmt-link")
    link = os.path.join(shared, "link.mmp")
    plant_link(secret.path, link)
    r = subprocess.run([MMPC, "fmt", "--write", link], capture_output=True, text=True)
    check(secret.intact(), "fmt --write of nobody's link to root's file: root's file is untouched")


def can_load_bpf(tmp):
    src = os.path.join(tmp, "probe.mmp")
    with open(src, "w") as f:
        f.write(POLICY)
    obj = os.path.join(tmp, "files.bpf.o")
    r = subprocess.run([MMPC, "compile", src, "-o", obj], capture_output=True, text=True)
    if r.returncode != 0:
        skip(f"cannot compile a policy: {r.stderr.strip()}")
    r = subprocess.run([MMRUN, "check", obj], capture_output=True, text=True)
    if r.returncode != 0:
        return None
    return obj


def start_mmrun(obj, *extra, env=None, umask=None):
    p = subprocess.Popen([MMRUN, "load", "--log-format=json", "--interval=200ms", *extra, obj],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                         preexec_fn=(lambda: os.umask(umask)) if umask is not None else None)
    return p


def stop(p):
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=20)
    return out + err


def wait_for(pred, seconds=10.0):
    end = time.time() + seconds
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.1)
    return pred()


def status_json(env):
    r = subprocess.run([MMRUN, "status", "--json"], capture_output=True, text=True, env=env)
    try:
        return json.loads(r.stdout) if r.returncode == 0 else []
    except json.JSONDecodeError:
        return []


def record_writes(tmp, shared, obj):
    secret = Secret(tmp, "record")
    trace = os.path.join(shared, "trace.jsonl")
    plant_link(secret.path, trace)
    p = start_mmrun(obj, "--dry-run", "--record", trace)
    time.sleep(1.5)
    if p.poll() is None:
        stop(p)
    check(secret.intact(), "load --record through nobody's link: root's file is untouched")

    # A trace file of nobody's is replaced and keeps its owner and mode.
    theirs = os.path.join(shared, "theirs.jsonl")
    as_user(NOBODY, ["sh", "-c", f"umask 077; echo old > {theirs}"])
    p = start_mmrun(obj, "--dry-run", "--record", theirs)
    time.sleep(1.5)
    out = stop(p)
    st = os.lstat(theirs)
    first = open(theirs).readline()
    check('"mmp_trace"' in first, f"load --record over a user's file writes the trace ({out[-300:] if not first else ''})")
    check(st.st_uid == NOBODY and stat.S_IMODE(st.st_mode) == 0o600,
          f"load --record keeps the replaced file's owner and mode (uid {st.st_uid}, {stat.S_IMODE(st.st_mode):o})")


def status_trust(tmp):
    """A non-root uid's `mmrun status` and a /tmp/mmrun-UID nobody made."""
    uid = 40000 + os.getpid() % 20000
    fake_dir = f"/tmp/mmrun-{uid}"
    if os.path.lexists(fake_dir):
        skip(f"{fake_dir} exists already")
    server = None
    try:
        as_user(NOBODY, ["mkdir", "-m", "0777", fake_dir])
        fake = json.dumps([{"policy": "fake\x1b]0;owned\x07\x1b[2J", "object": "x", "uptime_s": 1, "rules": []}])
        script = (f"import socket,os\ns=socket.socket(socket.AF_UNIX)\ns.bind('{fake_dir}/fake.sock')\n"
                  f"os.chmod('{fake_dir}/fake.sock',0o777)\ns.listen(4)\nprint('ready',flush=True)\n"
                  f"while True:\n c,_=s.accept()\n c.sendall({fake!r}.encode()+b'\\n')\n c.close()\n")
        server = subprocess.Popen(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                                   sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        server.stdout.readline()
        env = {k: v for k, v in os.environ.items() if k != "MMRUN_STATUS_DIR"}
        r = as_user(uid, [MMRUN, "status"], env=env)
        check("fake" not in r.stdout and "\x1b" not in r.stdout,
              f"status as uid {uid} does not print the status nobody planted in {fake_dir} ({r.stdout.strip()!r})")
        check(r.returncode != 0 and "refusing" in r.stderr, f"status says why it refused ({r.stderr.strip()})")
    finally:
        if server:
            server.kill()
            server.wait()
        shutil.rmtree(fake_dir, ignore_errors=True)


def socket_modes(tmp, obj):
    sdir = os.path.join(tmp, "status-umask")
    env = dict(os.environ, MMRUN_STATUS_DIR=sdir)
    p = start_mmrun(obj, "--dry-run", env=env, umask=0)
    sock = os.path.join(sdir, "files.sock")
    wait_for(lambda: os.path.exists(sock))
    dmode = stat.S_IMODE(os.stat(sdir).st_mode) if os.path.exists(sdir) else None
    smode = stat.S_IMODE(os.stat(sock).st_mode) if os.path.exists(sock) else None
    stop(p)
    check(dmode == 0o700 and smode == 0o600,
          f"under umask 000 the status directory is 0700 and the socket 0600 ({dmode and oct(dmode)}, "
          f"{smode and oct(smode)})")


def socket_names(tmp, obj):
    sdir = os.path.join(tmp, "status-two")
    env = dict(os.environ, MMRUN_STATUS_DIR=sdir)
    first = start_mmrun(obj, "--dry-run", env=env)
    wait_for(lambda: len(status_json(env)) == 1)
    second = start_mmrun(obj, "--dry-run", env=env)
    both = wait_for(lambda: len(status_json(env)) == 2)
    check(both, f"two mmruns of one policy both answer status ({len(status_json(env))})")
    stop(second)
    after = status_json(env)
    check(len(after) == 1 and first.poll() is None,
          f"after the second stops, the first still answers status ({len(after)})")
    stop(first)
    left = os.listdir(sdir) if os.path.isdir(sdir) else []
    check(not left, f"no socket is left behind ({left})")

    name = "p" + "x" * 120
    src = os.path.join(tmp, "long.mmp")
    with open(src, "w") as f:
        f.write(POLICY.replace("policy files", f"policy {name}"))
    long_obj = os.path.join(tmp, "long.bpf.o")
    r = subprocess.run([MMPC, "compile", src, "-o", long_obj], capture_output=True, text=True)
    check(r.returncode == 0, "a policy with a 121-character name compiles" + (": " + r.stderr if r.returncode else ""))
    sdir = os.path.join(tmp, "status-long" + "d" * 20)
    env = dict(os.environ, MMRUN_STATUS_DIR=sdir)
    p = start_mmrun(long_obj, "--dry-run", env=env)
    answered = wait_for(lambda: [s.get("policy") for s in status_json(env)] == [name])
    stop(p)
    check(answered, "a policy with a 121-character name answers status")
    left = os.listdir(sdir) if os.path.isdir(sdir) else []
    check(not left, f"its socket is removed at exit ({left})")


def pin_owner(tmp, obj):
    bpffs = os.path.join(tmp, "bpffs")
    os.makedirs(bpffs)
    r = subprocess.run(["mount", "-t", "bpf", "bpf", bpffs], capture_output=True, text=True)
    if r.returncode != 0:
        print(f"part skipped (--pin): cannot mount a bpf file system: {r.stderr.strip()}")
        return
    try:
        theirs = os.path.join(bpffs, "files")
        os.mkdir(theirs, 0o755)
        os.chown(theirs, NOBODY, NOBODY)
        p = start_mmrun(obj, "--dry-run", "--pin", bpffs)
        try:
            rc = p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            rc = None
        out = stop(p) if rc is None else p.communicate()[0] + p.communicate()[1]
        check(rc not in (None, 0) and "owned by uid" in out,
              f"--pin refuses a DIR/POLICY owned by nobody (exit {rc}: {out.strip()[-200:]})")
        check(os.path.isdir(theirs) and os.listdir(theirs) == [], "no pin is made in nobody's directory, which stays")
        if os.path.isdir(theirs):
            shutil.rmtree(theirs)
        p = start_mmrun(obj, "--dry-run", "--pin", bpffs)
        made = wait_for(lambda: os.path.isdir(theirs))
        st = os.lstat(theirs) if os.path.exists(theirs) else None
        stop(p)
        check(made and st.st_uid == 0 and stat.S_IMODE(st.st_mode) == 0o700,
              f"--pin makes DIR/POLICY root's, 0700 ({st and oct(stat.S_IMODE(st.st_mode))})")
    finally:
        subprocess.run(["umount", bpffs])


def main():
    if os.geteuid() != 0:
        skip("not root: the test is about what root writes")
    if not shutil.which("setpriv"):
        skip("no setpriv to run as nobody")
    if not os.access("/sys/kernel/btf/vmlinux", os.R_OK):
        skip("no kernel BTF to compile against")
    tmp = tempfile.mkdtemp()
    os.chmod(tmp, 0o711)  # nobody may reach the shared directory, not list tmp
    shared = os.path.join(tmp, "shared")
    os.mkdir(shared)
    os.chmod(shared, 0o1777)
    os.environ["MMRUN_STATUS_DIR"] = os.path.join(tmp, "status")
    try:
        compiler_writes(tmp, shared)
        formatter_writes(tmp, shared)
        status_trust(tmp)
        obj = can_load_bpf(tmp)
        if obj is None:
            skip("mmrun cannot load BPF here (the compiler and status cases ran: "
                 f"{len(failures)} failures)") if not failures else print("part skipped: mmrun cannot load BPF")
        else:
            record_writes(tmp, shared, obj)
            socket_modes(tmp, obj)
            socket_names(tmp, obj)
            pin_owner(tmp, obj)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
