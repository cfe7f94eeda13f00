#!/usr/bin/env python3
"""`mmpc fmt` on every policy the project ships or documents.

For each policy file and each ```mmp block of the docs that parses:
- formatting is idempotent: fmt(fmt(x)) == fmt(x);
- formatting never changes meaning: the syntax tree (`mmpc check
  --emit=ast`, which carries no positions) is the same before and after,
  and for a policy that compiles, so is its plan (`--emit=plan`, with
  file:line and the rules' source text, which are layout, set aside);
- every comment survives, in order.
usage: check_fmt.py MMPC FILE_OR_DOC...
"""
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, __file__.rsplit("/", 2)[0] + "/docs")
from check_docs import blocks  # noqa: E402

MMPC = sys.argv[1]


def run(*args):
    return subprocess.run([MMPC, *args], capture_output=True, text=True)


def comments(text):
    out = []
    for line in text.split("\n"):
        # A `#` outside a string starts a comment.
        in_string = False
        for i, c in enumerate(line):
            if c == '"' and (i == 0 or line[i - 1] != "\\"):
                in_string = not in_string
            elif c == "#" and not in_string:
                out.append(line[i:].rstrip())
                break
    return out


def plan(path):
    r = run("compile", "--emit=plan", "-o", "-", path)
    if r.returncode != 0:
        return None
    # Layout, not meaning: where a rule is and how its text is spaced.
    return "\n".join(re.sub(r"\S+\.mmp:\d+", "FILE:LINE", l) for l in r.stdout.split("\n") if not l.strip().startswith("text "))


def check(name, text, tmpdir):
    original = f"{tmpdir}/original.mmp"
    with open(original, "w") as f:
        f.write(text)
    first = run("fmt", original)
    if first.returncode != 0:
        return None  # does not parse: fmt refuses it, and says so (tested in lit)
    formatted = f"{tmpdir}/formatted.mmp"
    with open(formatted, "w") as f:
        f.write(first.stdout)
    problems = []
    second = run("fmt", formatted)
    if second.stdout != first.stdout:
        problems.append("not idempotent")
    if run("check", "--emit=ast", original).stdout != run("check", "--emit=ast", formatted).stdout:
        problems.append("the syntax tree changed")
    before = plan(original)
    if before is not None and before != plan(formatted):
        problems.append("the plan changed")
    if comments(text) != comments(first.stdout):
        problems.append("comments changed")
    return problems


def main():
    failures, count = 0, 0
    with tempfile.TemporaryDirectory() as tmp:
        for path in sys.argv[2:]:
            items = ([(f"{path}:{line}", text) for line, _, text in blocks(path)] if path.endswith(".md")
                     else [(path, open(path, encoding="utf-8").read())])
            for name, text in items:
                problems = check(name, text, tmp)
                if problems is None:
                    continue
                count += 1
                if problems:
                    failures += 1
                    print(f"FAIL {name}: {', '.join(problems)}")
    print(f"{count} policies formatted, {failures} failures")
    return 1 if failures or count == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
