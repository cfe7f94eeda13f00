"""What the benchmarks' host sides share (bench/arena/run_arena.py,
bench/reclaim/run_reclaim.py): the commit a run was made at, mmp policies
compiled for the guest, and the record of the machine and the command."""
import datetime
import os
import platform
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BTF = "/sys/kernel/btf/vmlinux"


def git(*args):
    r = subprocess.run(["git", "-C", REPO, *args], capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 else None


def compile_policy(mmpc, src, obj, who):
    """mmpc compile SRC -o OBJ against the host's BTF (the guest loads it
    through CO-RE: another kernel's layouts for real); exits on an error."""
    args = [mmpc, "compile", src, "-o", obj] + (["--btf", BTF] if os.path.exists(BTF) else [])
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"{who}: {src} does not compile:\n{r.stderr}")


def provenance(argv):
    """When, at which commit, on which host and by which command a run was made."""
    return {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "commit": git("rev-parse", "HEAD"),
            "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
            "host_kernel": platform.release(), "host_cpus": os.cpu_count(),
            "command": " ".join([os.path.relpath(argv[0], REPO)] + argv[1:])}
