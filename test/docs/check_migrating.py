#!/usr/bin/env python3
"""Checks docs/migrating.md's tables against the tools they map and mmpc.

1. Complete: every option the installed peers know has a row in its
   tool's section: earlyoom's flags (`earlyoom -h`), nohang's keys
   (/etc/nohang/nohang.conf, settings and @ regex keys), oomd's plugins and
   their arguments (/usr/share/doc/oomd/docs/*plugins.md), systemd's
   ManagedOOM* unit settings (systemd.resource-control(5)) and oomd.conf's
   keys (oomd.conf(5), where systemd-oomd is installed). A peer that is not
   installed is said (SKIPPED for that part); none installed is SKIPPED.
2. Honest: no row says "no equivalent", and a row whose mmp column starts
   with "none" says why after a colon.
3. Compiles: every piece of mmp in a row's mmp column (the backtick spans
   that are a rule, a statement, an action, a modifier or a condition)
   compiles, whole or wrapped in the smallest policy that uses it, with
   the tables' placeholders (REGEX, PATTERN, THRESHOLD, ...) given values.

usage: check_migrating.py MMPC docs/migrating.md
"""
import glob
import gzip
import os
import re
import subprocess
import sys
import tempfile

# The tables' placeholders, and a value each takes when compiled.
PLACEHOLDERS = [("REGEX", "^x$"), ("PATTERNS", "/a.slice/*"), ("PATTERN", "a.slice/*"), ("CGROUP", "a.slice"),
                ("THRESHOLD%", "50%"), ("DURATIONs", "20s"), ("DURATION", "20s"), ("THRESHOLD", "1GiB")]
STATEMENTS = ("protect ", "prefer ", "avoid ", "set ", "import ", "let ")
ACTIONS = ("kill ", "reclaim", "throttle", "unthrottle", "limit ", "log ")
MODIFIERS = ("at most ", "cooldown ", "unless ", "for ")
FIELD = re.compile(r"\b(memcg|system)\.[a-z_.]+")
A_KILL = 'when system.memory.available < 5% for 1s kill process cooldown 1s\n'


def sections(text):
    """{"earlyoom": "...", ...}: each "## From TOOL" section's text."""
    out, name = {}, None
    for line in text.split("\n"):
        m = re.match(r"^## (?:From )?(.*)$", line)
        if m:
            name = m.group(1).strip()
            out[name] = ""
        elif name:
            out[name] += line + "\n"
    return out


def rows(text):
    """(line number, first column, mmp column) of every table row."""
    for i, line in enumerate(text.split("\n"), 1):
        if not line.startswith("| ") or line.startswith("| ---"):
            continue
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        if len(cells) == 2 and cells[1] not in ("mmp", "in mmp"):
            yield i, cells[0], cells[1]


# 1. Complete ---------------------------------------------------------------

def earlyoom_flags():
    try:
        text = subprocess.run(["earlyoom", "-h"], capture_output=True, text=True).stderr
    except FileNotFoundError:
        return None
    text += subprocess.run(["earlyoom", "-h"], capture_output=True, text=True).stdout
    return sorted(set(re.findall(r"^\s+(--?[A-Za-z][\w-]*)", text, re.M)))


def nohang_keys():
    path = "/etc/nohang/nohang.conf"
    if not os.path.exists(path):
        return None
    text = open(path, encoding="utf-8").read()
    keys = set(re.findall(r"^([a-z_]+)\s*=", text, re.M))
    keys |= set(re.findall(r"^#*\s*(@[A-Z_0-9]+[A-Z0-9])\b", text, re.M))
    keys.discard("@BADNESS_ADJ_RE_PROPERTY")  # the syntax line's placeholder for every @BADNESS_ADJ_RE_* key
    return sorted(keys)


def oomd_arguments():
    docs = sorted(glob.glob("/usr/share/doc/oomd/docs/*plugins.md*"))
    if not docs:
        return None
    keys = set()
    for path in docs:
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as f:
            text = f.read()
        for plugin, body in re.findall(r"^## (\w+)\n(.*?)(?=^## |\Z)", text, re.M | re.S):
            keys.add(plugin)
            args = re.search(r"### Arguments\n(.*?)(?=###|\Z)", body, re.S)
            if args:
                keys |= set(re.findall(r"^    (\w+)", args.group(1), re.M))
    return sorted(keys)


def man_keys(page, pattern):
    for path in glob.glob(f"/usr/share/man/man5/{page}.5*"):
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8", errors="replace") as f:
            return sorted(set(re.findall(pattern, f.read())))
    return None


def systemd_oomd_keys():
    unit = man_keys("systemd.resource-control", r"(ManagedOOM\w+)=")
    conf = man_keys("oomd.conf", r"(SwapUsedLimit|DefaultMemoryPressure\w+)=")
    if unit is None and conf is None:
        return None
    return sorted(set(unit or []) | set(conf or [])), conf is not None


def mentioned(section, key):
    return re.search(r"`" + re.escape(key) + r"(?=[\s`=,(]|$)", section) is not None


def complete(secs):
    peers = [("earlyoom", earlyoom_flags(), "earlyoom -h"),
             ("nohang", nohang_keys(), "/etc/nohang/nohang.conf"),
             ("oomd", oomd_arguments(), "oomd's plugin docs")]
    sd = systemd_oomd_keys()
    if sd is not None and not sd[1]:
        print("note: oomd.conf(5) is not installed (no systemd-oomd): its keys are not checked")
    peers.append(("systemd-oomd", sd[0] if sd else None, "systemd.resource-control(5)"))
    missing, checked = [], 0
    for tool, keys, source in peers:
        if keys is None:
            print(f"note: {tool} is not installed: its table is not checked for completeness")
            continue
        section = secs.get(tool, "")
        lost = [k for k in keys if not mentioned(section, k)]
        checked += 1
        print(f"{tool}: {len(keys) - len(lost)} of {len(keys)} options from {source} in its table")
        missing += [f"{tool}: `{k}` has no row" for k in lost]
    return missing, checked


# 2. Honest -----------------------------------------------------------------

def honest(text):
    bad = []
    for line, tool_side, mmp in rows(text):
        if "no equivalent" in mmp.lower():
            bad.append(f"migrating.md:{line}: says there is no equivalent: {mmp}")
        elif re.match(r"none\b", mmp) and not re.match(r"none(?: [^:]*)?: \S", mmp):
            bad.append(f"migrating.md:{line}: says none without why (\"none: because ...\"): {mmp}")
    return bad


# 3. Compiles ---------------------------------------------------------------

def substitute(span):
    for name, value in PLACEHOLDERS:
        span = span.replace(name, value)
    return span


def policy_of(span, lets=""):
    """The smallest policy that uses a piece of mmp (after the `let`s of
    its row), or None if it is none."""
    s = substitute(span.strip())
    if "..." in s or "—" in s or re.search(r"\b[A-Z]{2,}\b", s.replace("SIGTERM", "").replace("SIGKILL", "")):
        return None  # elided, or a placeholder without a value
    if s.startswith(("when ", "on ")):
        # A rule's head alone (`on cgroup_created`, `when ... for 20s`): any action completes it.
        head = not re.search(r"\b(kill|reclaim|throttle|unthrottle|limit|log)\b", s)
        action = ' log "x"' if head else ""
        return f"policy t\n{lets}{s}{action}\n"
    if s.startswith('in "') and "{" in s:
        return f"policy t\n{s}\n"
    if s.startswith(STATEMENTS):
        return f"policy t\n{s}\n{A_KILL}"
    if s.startswith(ACTIONS):
        return f"policy t\nwhen system.memory.available < 5% for 1s {s}\n"
    if s.startswith("for "):  # before the actions
        return f"policy t\nwhen system.memory.available < 5% {s} kill process\n"
    if s.startswith(MODIFIERS):
        return f"policy t\nwhen system.memory.available < 5% for 1s kill process {s}\n"
    if FIELD.search(s) and re.search(r"[<>]=?|==", s) and not s.startswith(("kill", "by ")):
        return f"policy t\n{lets}when {s} for 1s log \"x\" cooldown 1s\n"
    return None


def compiles(mmpc, text):
    failures, count = [], 0
    for line, _, mmp in rows(text):
        spans = re.findall(r"`([^`]+)`", mmp)
        lets = "".join(s + "\n" for s in spans if s.startswith("let "))
        for span in spans:
            source = policy_of(span, "" if span.startswith("let ") else lets)
            if source is None:
                continue
            count += 1
            with tempfile.NamedTemporaryFile("w", suffix=".mmp") as f:
                f.write(source)
                f.flush()
                r = subprocess.run([mmpc, "check", "--color=never", f.name], capture_output=True, text=True)
            if r.returncode != 0:
                failures.append(f"migrating.md:{line}: `{span}` does not compile:\n{r.stderr}")
    return failures, count


def main():
    mmpc, doc = sys.argv[1], sys.argv[2]
    text = open(doc, encoding="utf-8").read()
    missing, checked = complete(sections(text))
    bad = honest(text)
    failures, count = compiles(mmpc, text)
    for b in missing + bad + failures:
        print("FAIL " + b)
    print(f"{count} pieces of mmp in the tables checked, {len(failures)} failed; "
          f"{len(missing)} options without a row; {len(bad)} rows without an equivalent")
    if count < 40:
        print(f"FAIL only {count} pieces of mmp found in the tables: the extraction is broken")
        return 1
    if checked == 0:
        print("SKIPPED: none of earlyoom, nohang, oomd, systemd is installed (scripts/setup installs them)")
        return 0 if not (bad or failures) else 1
    return 1 if missing or bad or failures else 0


if __name__ == "__main__":
    sys.exit(main())
