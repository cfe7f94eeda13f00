#!/usr/bin/env python3
"""The man pages render cleanly and cannot fall behind the programs.

For mmpc(1) and mmrun(1): groff renders the page with no warning, and every
subcommand and every long option the program's --help lists (for itself
and each subcommand) appears in the page.
usage: check_man.py BIN_DIR MAN_DIR
"""
import os
import re
import subprocess
import sys

BIN, MAN = sys.argv[1], sys.argv[2]
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def helps(program):
    """{subcommand: [long options]} from --help, '' for the program itself."""
    top = subprocess.run([program, "--help"], capture_output=True, text=True).stdout
    subs = re.findall(r"^  ([a-z][a-z-]*) {2,}", top.split("Subcommands:")[1], re.M) if "Subcommands:" in top else []
    out = {"": re.findall(r"--[a-z][a-z-]*", top.split("Subcommands:")[0])}
    for s in subs:
        text = subprocess.run([program, s, "--help"], capture_output=True, text=True).stdout
        out[s] = re.findall(r"--[a-z][a-z-]*", text)
    return out


def main():
    for name in ("mmpc", "mmrun"):
        page = os.path.join(MAN, f"{name}.1")
        r = subprocess.run(["groff", "-man", "-ww", "-z", page], capture_output=True, text=True)
        check(r.returncode == 0 and not r.stderr.strip(), f"{name}.1 renders with no warning {r.stderr.strip()[:200]}")
        # The page as text, hyphens as typed (\-) and unbroken.
        text = open(page).read().replace("\\-", "-").replace("\\~", " ")
        for sub, options in helps(os.path.join(BIN, name)).items():
            if sub:
                check(re.search(rf"\b{sub}\b", text) is not None, f"{name}.1 documents `{name} {sub}`")
            missing = sorted({o for o in options if o != "--help" and o not in text})
            check(not missing, f"{name}.1 documents the options of `{name} {sub}`".replace("  ", " ") +
                  (f": missing {missing}" if missing else ""))
    print(f"{len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
