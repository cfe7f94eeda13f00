#!/usr/bin/env python3
"""Checks the policies in the documentation with mmpc.

Every ```mmp block of the given Markdown files must compile (`mmpc
compile`, exit 0: warnings allowed, no error) into a BPF object; where the
kernel has no BTF to compile against, `mmpc check` must pass, and the run
says so. A block whose fence is ```mmp fail must be refused (exit 1) with
the code written after it: ```mmp fail E0200.
"""
import os
import re
import subprocess
import sys
import tempfile

FENCE = re.compile(r"^```mmp(?: fail (E\d{4}))?\s*$")


def blocks(path):
    lines = open(path, encoding="utf-8").read().split("\n")
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        start = i + 1
        j = start
        while j < len(lines) and lines[j] != "```":
            j += 1
        yield start, m.group(1), "\n".join(lines[start:j]) + "\n"
        i = j + 1


def main():
    mmpc, docs = sys.argv[1], sys.argv[2:]
    failures, count = 0, 0
    compile_ = os.path.exists("/sys/kernel/btf/vmlinux")
    if not compile_:
        print("note: no /sys/kernel/btf/vmlinux: the blocks are checked, not compiled")
    obj = tempfile.NamedTemporaryFile(suffix=".bpf.o", delete=False).name
    for doc in docs:
        for line, expect, text in blocks(doc):
            count += 1
            with tempfile.NamedTemporaryFile("w", suffix=".mmp") as f:
                f.write(text)
                f.flush()
                command = ["compile", "-o", obj] if compile_ and expect is None else ["check"]
                r = subprocess.run([mmpc, *command, "--color=never", f.name], capture_output=True, text=True)
                if r.returncode == 0 and command[0] == "compile" and os.path.getsize(obj) == 0:
                    r = subprocess.CompletedProcess(r.args, 1, "", "mmpc compile wrote an empty object")
            where = f"{doc}:{line}"
            if expect is None and r.returncode != 0:
                failures += 1
                print(f"FAIL {where}: the example does not check:\n{r.stderr}")
            elif expect is not None and (r.returncode != 1 or f"[{expect}]" not in r.stderr):
                failures += 1
                print(f"FAIL {where}: expected {expect}, got exit {r.returncode}:\n{r.stderr}")
    os.unlink(obj)
    print(f"{count} policy blocks {'compiled' if compile_ else 'checked'}, {failures} failed")
    if count == 0:
        print("FAIL: no ```mmp block found")
        return 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
