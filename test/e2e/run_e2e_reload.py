#!/usr/bin/env python3
"""End-to-end: the daemon survives what a reload gives it.

- A SIGHUP reload of a malformed object (a BTF struct member whose type id
  is out of range: libbpf 1.1.2 crashes opening it) is refused with an
  error record; mmrun keeps running the loaded policy, and reloads the
  good object afterwards. `mmrun check` of it exits 1, not on a signal.
- A storm of SIGHUPs (one every 5 ms for 3 s) while reloading: no reload
  fails (before, the kernel's verification gave up with EAGAIN when a
  signal arrived), reloads are coalesced and said so.
- mmrun's memory is locked (VmLck > 0), and the peak of its memory cgroup
  over ten reloads fits the shipped unit's MemoryMin. The figures are
  printed.
Prints SKIPPED: reason where BPF cannot be loaded.
usage: run_e2e_reload.py BIN_DIR
"""
import os
import re
import signal
import struct
import subprocess
import sys
import tempfile
import time

from run_e2e import Mmrun, check, failures, require_bpf, skip  # noqa: E402  (the e2e tests' shared reporting and daemon)
BIN = sys.argv[1]
MMPC, MMRUN = (os.path.join(BIN, n) for n in ("mmpc", "mmrun"))
SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
V1 = "/sys/fs/cgroup/memory"



def sections(b):
    shoff, = struct.unpack_from("<Q", b, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", b, 0x3a)
    heads = [struct.unpack_from("<IIQQQQ", b, shoff + i * shentsize) for i in range(shnum)]
    names = heads[shstrndx][4]
    return {b[names + h[0]:b.index(b"\0", names + h[0])].decode(): (h[4], h[5]) for h in heads}


def corrupt_btf(good):
    """The object with its first BTF struct's first member typed 0x7fff."""
    b = bytearray(good)
    off, _ = sections(b)[".BTF"]
    hdr_len, type_off, type_len = struct.unpack_from("<III", b, off + 4)
    extra = {1: 4, 3: 12, 4: 12, 5: 12, 6: 8, 13: 8, 14: 4, 15: 12, 17: 4, 19: 12}
    per_vlen = {4, 5, 6, 13, 15, 19}
    p, end = off + hdr_len + type_off, off + hdr_len + type_off + type_len
    while p < end:
        _, info, _ = struct.unpack_from("<III", b, p)
        kind, vlen = (info >> 24) & 0x1f, info & 0xffff
        if kind == 4 and vlen > 0:
            struct.pack_into("<I", b, p + 12 + 4, 0x7fff)
            return bytes(b)
        p += 12 + extra.get(kind, 0) * (vlen if kind in per_vlen else 1)
    raise RuntimeError("no BTF struct to corrupt")


def replace(path, data):
    with open(path + ".new", "wb") as f:
        f.write(data)
    os.rename(path + ".new", path)


def Daemon(obj, cgroup):
    """mmrun load of `obj` as a dry run, in a memory cgroup of its own where there is one."""
    return Mmrun(["--dry-run", "--interval=200ms", obj], cgroup)


def own_cgroup():
    """A fresh v1 memory cgroup below ours (for the peak), or None."""
    if not os.path.exists(os.path.join(V1, "memory.max_usage_in_bytes")):
        return None
    own = ""
    for line in open("/proc/self/cgroup"):
        _, ctrl, path = line.strip().split(":", 2)
        if "memory" in ctrl.split(","):
            own = path
    d = f"{V1}{own.rstrip('/')}/mmp-reload-{os.getpid()}"
    try:
        os.makedirs(d)
        return d
    except OSError:
        return None


def memory_min():
    unit = open(os.path.join(SOURCE, "dist/systemd/mmrun@.service")).read()
    m = re.search(r"^MemoryMin=(\d+)M$", unit, re.M)
    return int(m.group(1)) << 20 if m else 0


def main():
    require_bpf()
    tmp = tempfile.mkdtemp()
    os.environ["MMRUN_STATUS_DIR"] = os.path.join(tmp, "status")
    src = os.path.join(SOURCE, "bench/policies/ten_v1.mmp")
    obj = os.path.join(tmp, "ten.bpf.o")
    r = subprocess.run([MMPC, "compile", src, "-o", obj], capture_output=True, text=True)
    if r.returncode != 0:
        skip(f"cannot compile the policy: {r.stderr.strip()}")
    if subprocess.run([MMRUN, "check", obj], capture_output=True).returncode != 0:
        skip("mmrun check cannot load the policy here")
    good = open(obj, "rb").read()
    bad = corrupt_btf(good)
    bad_path = os.path.join(tmp, "bad.bpf.o")
    with open(bad_path, "wb") as f:
        f.write(bad)

    r = subprocess.run([MMRUN, "check", bad_path], capture_output=True, text=True)
    check(r.returncode == 1 and "malformed" in r.stderr,
          f"mmrun check of the malformed object exits 1 and says why (exit {r.returncode}: {r.stderr.strip()[-160:]})")

    cgroup = own_cgroup()
    d = Daemon(obj, cgroup)
    try:
        check(d.wait_for(lambda x: x.get("outcome") == "started"), "mmrun starts")
        # A malformed object: refused, the daemon lives, the good one reloads after.
        replace(obj, bad)
        d.p.send_signal(signal.SIGHUP)
        refused = d.wait_for(lambda x: x.get("kind") == "error" and "reload" in x.get("detail", ""))
        errors = [x.get("detail", "") for x in d.records if x.get("kind") == "error"]
        check(refused and d.p.poll() is None and any("malformed" in e for e in errors),
              f"a reload of the malformed object is refused and mmrun lives (exit {d.p.poll()}; {errors[-1:]})")
        replace(obj, good)
        if d.p.poll() is None:
            d.p.send_signal(signal.SIGHUP)
        check(d.wait_for(lambda x: x.get("outcome") == "reloaded"), "then the good object reloads")
        if d.p.poll() is not None:  # it died: the rest is still worth knowing
            d.stop()
            d = Daemon(obj, cgroup)
            d.wait_for(lambda x: x.get("outcome") == "started")

        # A storm of SIGHUPs.
        before = len(d.read())
        sent = 0
        end = time.time() + 3
        while time.time() < end and d.p.poll() is None:
            d.p.send_signal(signal.SIGHUP)
            sent += 1
            time.sleep(0.005)
        time.sleep(2)
        storm = d.read()[before:]
        failed = [x.get("detail", "") for x in storm if x.get("kind") == "error"]
        reloads = sum(1 for x in storm if x.get("outcome") == "reloaded")
        said = sum(1 for x in storm if "SIGHUP during the reload" in x.get("detail", ""))
        check(d.p.poll() is None and not failed,
              f"{sent} SIGHUPs: no reload fails ({len(failed)} failed: {failed[:1]})")
        check(0 < reloads < sent and said > 0,
              f"the SIGHUPs are coalesced: {reloads} reloads, {said} records say so")

        # Memory: locked, and the reload peak within the unit's MemoryMin.
        # (A storm frees the old objects' kernel memory faster than RCU
        # gives it back: the peak is measured over reloads 0.5 s apart.)
        time.sleep(1)
        if cgroup:
            open(f"{cgroup}/memory.max_usage_in_bytes", "w").write("0")
        steady = int(open(f"{cgroup}/memory.usage_in_bytes").read()) if cgroup else 0
        lck = d.status("VmLck")
        for _ in range(10):
            d.p.send_signal(signal.SIGHUP)
            time.sleep(0.5)
        hwm = d.status("VmHWM")
        peak = int(open(f"{cgroup}/memory.max_usage_in_bytes").read()) if cgroup else 0
        print(f"  figures: VmLck {lck} kB, VmHWM {hwm} kB; memory cgroup {steady >> 10} kB between reloads, "
              f"peak {peak >> 10} kB over 10 reloads; MemoryMin {memory_min() >> 10} kB")
        check(lck > 0, f"mmrun's memory is locked (VmLck {lck} kB)")
        if cgroup:
            check(0 < peak <= memory_min(), f"the reload peak ({peak >> 20} MiB) fits MemoryMin ({memory_min() >> 20} MiB)")
    finally:
        d.stop()
        if cgroup:
            for _ in range(20):
                try:
                    os.rmdir(cgroup)
                    break
                except OSError:
                    time.sleep(0.1)
    print(f"{len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
