#!/usr/bin/env python3
"""Checks run_reclaim.py's --with: what it accepts and refuses, and that the
import it writes is what mmpc reads (a parameter set, a misspelt one
refused with E0105). Usage: check_with.py BIN_DIR. Exits 1 with the first
failure."""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run_reclaim  # noqa: E402


def check(ok, what):
    if not ok:
        print(f"FAIL {what}")
        sys.exit(1)


def refused(items, contenders):
    try:
        run_reclaim.parse_with(items, contenders)
    except ValueError:
        return True
    return False


def mmpc_check(mmpc, source, tmp):
    path = os.path.join(tmp, "bench.mmp")
    with open(path, "w") as f:
        f.write(source)
    return subprocess.run([mmpc, "check", path], capture_output=True, text=True)


def main():
    mmpc = os.path.join(sys.argv[1], "mmpc")
    best = ["none", "mmp-best"]
    params = run_reclaim.parse_with(["mmp-best:refaults=200/1s", "mmp-best:quiet=5s"], best)
    check(params == {"mmp-best": ["refaults = 200/1s", "quiet = 5s"]}, f"two parameters of mmp-best: {params}")
    check(run_reclaim.parse_with([], best) == {}, "no --with, no parameters")
    check(refused(["refaults=200/1s"], best), "no contender")
    check(refused(["mmp-best:refaults"], best), "no value")
    check(refused(["fixed:share=50%"], best + ["fixed"]), "a contender without a policy")
    check(refused(["mmp-senpai:min_size=200MiB"], best), "a contender not in the run")
    src = run_reclaim.import_source("mmp-best", params)
    check(src == 'policy bench_proactive\nimport "std/proactive" with refaults = 200/1s, quiet = 5s\n', src)
    check(run_reclaim.import_source("mmp-senpai", params) == 'policy bench_senpai\nimport "std/senpai"\n',
          "a contender without parameters imports its policy unchanged")
    with tempfile.TemporaryDirectory() as tmp:
        r = mmpc_check(mmpc, src, tmp)
        check(r.returncode == 0, f"mmpc accepts the import it writes:\n{r.stderr}")
        r = mmpc_check(mmpc, run_reclaim.import_source("mmp-best", {"mmp-best": ["refault = 5/1s"]}), tmp)
        check(r.returncode != 0 and "E0105" in r.stderr, f"mmpc refuses a misspelt parameter:\n{r.stderr}")
    print("with: ok")


if __name__ == "__main__":
    main()
