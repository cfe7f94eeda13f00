#!/usr/bin/env python3
"""The cgroup v2 guest tests: every action on a real cgroup v2 kernel.

This host's memory controller is cgroup v1, so memory.reclaim,
memory.high, cgroup.kill and per-cgroup PSI are proven in a guest: Debian's
kernel (scripts/fetch-kernel, cached in $MMP_CACHE, default ~/.cache/mmp)
boots under QEMU's TCG with the host's root shared read-only over 9p
(docs/architecture.md, "The VM tests"). One boot runs every scenario of
guest.py in turn; results come back through a writable 9p share and the
exit status through isa-debug-exit.

Steps: check QEMU and busybox-static; fetch the kernel; build a small
initramfs (busybox, the 9p/virtio/zram modules, init.sh); compile the
policies of policies/ on the host, against the host's BTF (the guest loads
them: CO-RE for real); boot; report.

Prints SKIPPED: reason when QEMU, busybox-static or the kernel package
cannot be had.
usage: run_vm.py BIN_DIR [SCENARIO...]   (default: every scenario)
  MMP_VM_TIMEOUT: seconds the guest may run (default 480)
  MMP_VM_COMMAND: a shell command for the guest to run instead of the
    scenarios (to look around; its output comes on the console)
"""
import gzip
import lzma
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
# The guest exits with one of these bytes through isa-debug-exit; QEMU then
# exits with (byte << 1) | 1.
GUEST_PASSED, GUEST_FAILED = 1, 2
# Loaded in this order (dependencies first), from the kernel package.
MODULES = ["virtio_pci", "9pnet_virtio", "9p", "zram"]


def skip(why):
    print(f"SKIPPED: {why}")
    sys.exit(0)


def is_static(path):
    """Whether an ELF file has no program interpreter (PT_INTERP)."""
    with open(path, "rb") as f:
        data = f.read(1 << 16)
    if data[:4] != b"\x7fELF" or data[4] != 2:
        return False
    phoff = int.from_bytes(data[32:40], "little")
    phentsize = int.from_bytes(data[54:56], "little")
    phnum = int.from_bytes(data[56:58], "little")
    for i in range(phnum):
        at = phoff + i * phentsize
        if int.from_bytes(data[at:at + 4], "little") == 3:  # PT_INTERP
            return False
    return True


def prerequisites():
    """QEMU, a static busybox and modinfo, as root (the guest's root is the
    host's, over 9p); SKIPPED otherwise."""
    qemu = shutil.which("qemu-system-x86_64")
    if not qemu:
        skip("qemu-system-x86_64 is not installed (Debian package qemu-system-x86; scripts/setup installs it)")
    busybox = next((p for p in ("/bin/busybox", "/usr/bin/busybox") if os.path.exists(p)), None)
    if not busybox or not is_static(busybox):
        skip("no static busybox (Debian package busybox-static; scripts/setup installs it)")
    modinfo = shutil.which("modinfo") or next((p for p in ("/sbin/modinfo", "/usr/sbin/modinfo")
                                               if os.path.exists(p)), None)
    if not modinfo:
        skip("modinfo is not installed (Debian package kmod; scripts/setup installs it)")
    if os.geteuid() != 0:
        skip("not root: the guest's root is this host's, shared over 9p as root")
    return qemu, busybox, modinfo


def fetch_kernel(series=None):
    """Debian's kernel that linux-image-amd64 names (6.1), or the newest of
    SERIES (MMP_VM_KERNEL=6.12: Debian 12's security archive carries it)."""
    series = series or os.environ.get("MMP_VM_KERNEL") or None
    r = subprocess.run([os.path.join(REPO, "scripts", "fetch-kernel")] + ([series] if series else []),
                       capture_output=True, text=True)
    if r.returncode != 0:
        skip(f"the guest kernel package cannot be had: {r.stderr.strip()}")
    vmlinux = r.stdout.strip().splitlines()[-1]
    root = os.path.join(os.path.dirname(vmlinux), "root")
    kver = os.path.basename(os.path.dirname(vmlinux))
    return vmlinux, root, kver


def module_files(root, kver, modinfo):
    """The .ko files of MODULES and their dependencies, dependencies first."""
    base = os.path.join(root, "lib", "modules", kver)
    files = {}
    for d, _, names in os.walk(base):
        for n in names:
            for ext in (".ko", ".ko.xz"):  # Debian compresses its modules from 6.12 on
                if n.endswith(ext):
                    files[n[:-len(ext)].replace("-", "_")] = os.path.join(d, n)
    order = []
    # Built into the kernel (6.12 has virtio_pci so), so nothing to load.
    builtin = set()
    if os.path.exists(os.path.join(base, "modules.builtin")):
        builtin = {os.path.basename(line.strip())[:-3].replace("-", "_")
                   for line in open(os.path.join(base, "modules.builtin")) if line.strip().endswith(".ko")}

    def visit(name):
        name = name.replace("-", "_")
        if name in order or (name in builtin and name not in files):
            return
        if name not in files:
            raise RuntimeError(f"module {name} is not in {base}")
        deps = subprocess.run([modinfo, "-F", "depends", files[name]], capture_output=True, text=True,
                              check=True).stdout.strip()
        for dep in filter(None, deps.split(",")):
            visit(dep)
        order.append(name)

    for m in MODULES:
        visit(m)
    return [(m, files[m]) for m in order]


def cpio_newc(entries):
    """A newc cpio archive of (name, mode, data) entries; directories and
    device nodes have data None (a node's mode carries S_IFCHR, its rdev
    the entry's fourth item)."""
    out = bytearray()

    def header(ino, name, mode, size, rmaj=0, rmin=0):
        fields = [ino, mode, 0, 0, 1, 0, size, 0, 0, rmaj, rmin, len(name) + 1, 0]
        return b"070701" + b"".join(b"%08X" % v for v in fields)

    def pad(n):
        return b"\0" * ((4 - n % 4) % 4)

    for ino, entry in enumerate(entries + [("TRAILER!!!", 0, None)], start=1):
        name, mode, data = entry[:3]
        rdev = entry[3] if len(entry) > 3 else (0, 0)
        body = data or b""
        h = header(ino, name.encode(), mode, len(body), *rdev) + name.encode() + b"\0"
        out += h + pad(len(h)) + body + pad(len(body))
    return bytes(out)


def build_initramfs(path, busybox, modules):
    entries = [("bin", 0o40755, None), ("dev", 0o40755, None), ("proc", 0o40755, None),
               ("sys", 0o40755, None), ("newroot", 0o40755, None), ("modules", 0o40755, None),
               ("dev/console", 0o20600, None, (5, 1)),
               ("bin/busybox", 0o100755, open(busybox, "rb").read()),
               ("init", 0o100755, open(os.path.join(HERE, "init.sh"), "rb").read()),
               ("modules/order", 0o100644, "".join(f"{m}\n" for m, _ in modules).encode())]
    # busybox's insmod loads plain .ko files: a compressed one is unpacked here.
    entries += [(f"modules/{m}.ko", 0o100644,
                 lzma.decompress(open(f, "rb").read()) if f.endswith(".xz") else open(f, "rb").read())
                for m, f in modules]
    with open(path, "wb") as f:
        f.write(gzip.compress(cpio_newc(entries), compresslevel=1))


def guest_files(work, busybox, modinfo):
    """The kernel (fetched), an empty results folder WORK/out and the
    initramfs WORK/initrd-KVER.cpio.gz: what a boot needs."""
    vmlinux, root, kver = fetch_kernel()
    # MMP_VM_KERNEL=6.12: the results of another kernel in a folder of their own.
    outdir = os.path.join(work, "out" + (f"-{os.environ['MMP_VM_KERNEL']}" if os.environ.get("MMP_VM_KERNEL") else ""))
    shutil.rmtree(outdir, ignore_errors=True)
    os.makedirs(outdir)
    initrd = os.path.join(work, f"initrd-{kver}.cpio.gz")
    build_initramfs(initrd, busybox, module_files(root, kver, modinfo))
    return vmlinux, kver, outdir, initrd


def compile_policies(mmpc, objdir):
    """Every policies/*.mmp, against the host's own BTF: the guest runs
    another kernel, so each load there is a CO-RE relocation for real."""
    os.makedirs(objdir, exist_ok=True)
    btf = "/sys/kernel/btf/vmlinux"
    ok = True
    for name in sorted(os.listdir(os.path.join(HERE, "policies"))):
        if not name.endswith(".mmp"):
            continue
        src = os.path.join(HERE, "policies", name)
        obj = os.path.join(objdir, name[:-4] + ".bpf.o")
        args = [mmpc, "compile", src, "-o", obj] + (["--btf", btf] if os.path.exists(btf) else [])
        r = subprocess.run(args, capture_output=True, text=True)
        if r.returncode != 0:
            print(f"FAIL policy {name} does not compile:\n{r.stderr}")
            ok = False
    return ok


# The guest mounts a tmpfs on these: a source or build tree below one of
# them (a CI clone in /tmp) would vanish, so it is shared on its own.
TMPFS_DIRS = ("/run", "/tmp", "/var/tmp")


def hidden_trees(paths):
    """The trees among `paths` that the guest's tmpfs mounts would hide."""
    out = []
    for p in paths:
        p = os.path.realpath(p)
        if any(p == d or p.startswith(d + "/") for d in TMPFS_DIRS) and not any(
                p == q or p.startswith(q + "/") for q in out):
            out.append(p)
    return out


# The guests running: a signal ends them all (boot() may run in threads,
# two guests side by side: bench/reclaim's --paired).
GUESTS = []


def stop_guests(signum, _):  # ctest's timeout, ^C: the guests go too
    for p in GUESTS:
        p.kill()
    sys.exit(128 + signum)


def boot(qemu, vmlinux, initrd, outdir, timeout, trees=(), program=None, memory_mib=1024, label="guest"):
    """Boots the guest, whose PID 1 (guest-init.sh) runs `program` (a
    Python script in the host's root; default guest.py, the VM tests);
    returns (QEMU's exit status or None on timeout, seconds). Its console
    lines are printed prefixed with `label`."""
    binds = " ".join(f"bind{i}:{t}" for i, t in enumerate(trees))
    append = ("console=ttyS0 panic=-1 quiet loglevel=4 mitigations=off "
              f"mmp_init={HERE}/guest-init.sh mmp_out=/run/mmp-out" + (f" mmp_binds={binds.replace(' ', ',')}" if trees else "")
              + (f" mmp_program={program}" if program else ""))
    args = [qemu, "-accel", "tcg", "-cpu", "max", "-m", str(memory_mib), "-smp", "2",
            "-nographic", "-no-reboot", "-nodefaults", "-serial", "stdio",
            "-kernel", vmlinux, "-initrd", initrd, "-append", append,
            "-virtfs", "local,path=/,mount_tag=host0,security_model=none,readonly=on,multidevs=remap",
            "-virtfs", f"local,path={outdir},mount_tag=out0,security_model=none,multidevs=remap",
            "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]
    for i, t in enumerate(trees):
        args[-2:-2] = ["-virtfs", f"local,path={t},mount_tag=bind{i},security_model=none,readonly=on,multidevs=remap"]
    start = time.monotonic()
    console = open(os.path.join(outdir, "console.log"), "wb")
    p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    GUESTS.append(p)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, stop_guests)
        signal.signal(signal.SIGINT, stop_guests)
    deadline = start + timeout
    # The guest's console: the scenarios' progress, passed through.
    os.set_blocking(p.stdout.fileno(), False)
    pending = b""
    while True:
        chunk = p.stdout.read()
        if chunk:
            console.write(chunk)
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                print(f"  {label}| " + line.decode(errors="replace").rstrip("\r"), flush=True)
        if p.poll() is not None and not chunk:
            break
        if time.monotonic() > deadline:
            p.kill()
            p.wait()
            return None, time.monotonic() - start
        time.sleep(0.05)
    console.close()
    return p.returncode, time.monotonic() - start


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    bindir = os.path.abspath(sys.argv[1])
    scenarios = sys.argv[2:]
    qemu, busybox, modinfo = prerequisites()
    started = time.monotonic()
    work = os.path.join(os.path.dirname(bindir), "test", "vm")
    vmlinux, kver, outdir, initrd = guest_files(work, busybox, modinfo)
    objdir = os.path.join(work, "objects")
    if not compile_policies(os.path.join(bindir, "mmpc"), objdir):
        return 1
    with open(os.path.join(outdir, "config.json"), "w") as f:
        json.dump({"bin": bindir, "objects": objdir, "scenarios": scenarios, "host_kernel": platform.release(),
                   "guest_vmlinux": vmlinux, "command": os.environ.get("MMP_VM_COMMAND", "")}, f)
    print(f"booting {kver} under QEMU TCG (host {platform.release()}), {len(scenarios) or 'every'} scenario(s)",
          flush=True)
    timeout = float(os.environ.get("MMP_VM_TIMEOUT", "480"))
    rc, seconds = boot(qemu, vmlinux, initrd, outdir, timeout,
                       hidden_trees([os.path.dirname(HERE), os.path.dirname(bindir)]))
    result_path = os.path.join(outdir, "result.json")
    result = json.load(open(result_path)) if os.path.exists(result_path) else None
    print(f"guest ran {seconds:.1f} s; whole VM suite {time.monotonic() - started:.1f} s")
    if rc is None:
        print(f"FAIL the guest did not finish within {timeout:.0f} s (console: {outdir}/console.log)")
        return 1
    if result is None:
        print(f"FAIL the guest brought back no result (QEMU exit {rc}; console: {outdir}/console.log)")
        return 1
    failed = [s for s in result["scenarios"] if not s["passed"]]
    for s in result["scenarios"]:
        print(f"{'ok  ' if s['passed'] else 'FAIL'} scenario {s['name']} ({s['seconds']:.1f} s)"
              + "".join(f"\n       {k}: {v}" for k, v in s.get("figures", {}).items())
              + "".join(f"\n       {'XPASS (fixed? make it a plain check)' if c['xpass'] else 'XFAIL'}: "
                        f"{c['what']}; known bug: {c['known_bug']}" for c in s["checks"] if "known_bug" in c))
    if rc != (((GUEST_FAILED if failed else GUEST_PASSED) << 1) | 1):
        print(f"FAIL QEMU exited {rc}, which does not match the result")
        return 1
    print(f"{len(failed)} of {len(result['scenarios'])} scenarios failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
