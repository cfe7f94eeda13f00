#!/usr/bin/env python3
"""Checks the shipped policies and those in the documentation with mmpc.

Every given .mmp file (the examples, the standard library) and every
```mmp block of the given Markdown files must compile with `--werror`
(`mmpc compile --werror`, exit 0: no error, no warning) into a BPF object;
where the kernel has no BTF to compile against, `mmpc check --werror` must
pass, and the run says so. A block whose fence is ```mmp fail must be
refused (exit 1) with the code written after it: ```mmp fail E0200; one
whose fence is ```mmp warn must pass with that warning and no other.
"""
import os
import re
import subprocess
import sys
import tempfile

FENCE = re.compile(r"^```mmp(?: (fail|warn) (E\d{4}))?\s*$")


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
        yield start, (m.group(1), m.group(2)), "\n".join(lines[start:j]) + "\n"
        i = j + 1


def policies(path):
    """A whole policy file, or the ```mmp blocks of a Markdown file."""
    if path.endswith(".mmp"):
        yield 1, (None, None), open(path, encoding="utf-8").read()
    else:
        yield from blocks(path)


def verdict(r, expect):
    """None when mmpc's result `r` is what the fence asked for, else why not."""
    kind, code = expect
    if kind is None and r.returncode != 0:
        return "does not check clean with --werror"
    if kind == "fail" and (r.returncode != 1 or f"[{code}]" not in r.stderr):
        return f"expected error {code}, got exit {r.returncode}"
    if kind == "warn":
        found = set(re.findall(r"(?:warning|error)\[(E\d{4})\]", r.stderr))
        if r.returncode != 0 or found != {code}:
            return f"expected warning {code} alone, got exit {r.returncode} and {sorted(found)}"
    return None


def main():
    mmpc, docs = sys.argv[1], sys.argv[2:]
    failures, count = 0, 0
    compile_ = os.path.exists("/sys/kernel/btf/vmlinux")
    if not compile_:
        print("note: no /sys/kernel/btf/vmlinux: the blocks are checked, not compiled")
    obj = tempfile.NamedTemporaryFile(suffix=".bpf.o", delete=False).name
    for doc in docs:
        for line, expect, text in policies(doc):
            count += 1
            with tempfile.NamedTemporaryFile("w", suffix=".mmp") as f:
                f.write(text)
                f.flush()
                command = ["compile", "-o", obj] if compile_ and expect[0] is None else ["check"]
                if expect[0] != "warn":
                    command.append("--werror")
                source = doc if doc.endswith(".mmp") else f.name
                r = subprocess.run([mmpc, *command, "--color=never", source], capture_output=True, text=True)
                if r.returncode == 0 and command[0] == "compile" and os.path.getsize(obj) == 0:
                    r = subprocess.CompletedProcess(r.args, 1, "", "mmpc compile wrote an empty object")
            why = verdict(r, expect)
            if why:
                failures += 1
                print(f"FAIL {doc}:{line}: {why}:\n{r.stderr}")
    os.unlink(obj)
    print(f"{count} policy blocks {'compiled' if compile_ else 'checked'}, {failures} failed")
    if count == 0:
        print("FAIL: no ```mmp block found")
        return 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
