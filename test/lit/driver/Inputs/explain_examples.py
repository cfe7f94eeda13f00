"""For every code that `mmpc explain` lists with examples: the Wrong policy
must give that code, the Right policy must check with no output and exit 0.
Usage: explain_examples.py MMPC TMPDIR. Prints one line per code; exits 1 on
the first broken promise."""
import os
import re
import subprocess
import sys

mmpc, tmp = sys.argv[1], sys.argv[2]
env = dict(os.environ, NO_COLOR="1")

unknown = subprocess.run([mmpc, "explain", "E9999"], capture_output=True, text=True, env=env)
codes = re.search(r"the codes are (.*)", unknown.stderr).group(1).split(", ")


def example(text, title):
    block = text.split("\n" + title + ":\n\n", 1)[1]
    lines = []
    for line in block.split("\n"):
        if not line.startswith("    "):
            break
        lines.append(line[4:])
    return "\n".join(lines) + "\n"


failed = False
for code in codes:
    text = subprocess.run([mmpc, "explain", code], capture_output=True, text=True, env=env, check=True).stdout
    if "\nWrong:\n" not in text:
        print(f"{code}: no examples")
        continue
    for title in ("Wrong", "Right"):
        path = os.path.join(tmp, f"{code}_{title}.mmp")
        with open(path, "w") as f:
            f.write(example(text, title))
        r = subprocess.run([mmpc, "check", path], capture_output=True, text=True, env=env)
        if title == "Wrong":
            ok = f"[{code}]" in r.stderr
        else:
            ok = r.returncode == 0 and r.stderr == "" and r.stdout == ""
        if not ok:
            failed = True
            print(f"{code}: the {title} example is broken (exit {r.returncode}):\n{r.stderr}")
    print(f"{code}: ok")
sys.exit(1 if failed else 0)
