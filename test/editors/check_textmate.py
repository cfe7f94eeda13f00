#!/usr/bin/env python3
"""The TextMate grammar (editors/vscode) against the language's grammar.

- every keyword of grammar/Mmp.g4 is highlighted by a keyword rule, so the
  editor grammar cannot fall behind the language;
- a small TextMate-like matcher (earliest match wins, ties go to the rule
  listed first; strings as begin/end) gives the expected scope to each kind
  of token on lines in the language's own style, and every token of every
  shipped example gets a scope (nothing is left unhighlighted but spaces).
usage: check_textmate.py ROOT
"""
import glob
import json
import os
import re
import sys

ROOT = sys.argv[1]
G = json.load(open(os.path.join(ROOT, "editors/vscode/syntaxes/mmp.tmLanguage.json")))
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def flatten(patterns):
    """The top-level rules, includes resolved, in order: (regex, scope)."""
    out = []
    for p in patterns:
        if "include" in p:
            out += flatten([G["repository"][p["include"][1:]]])
        elif "patterns" in p and "match" not in p and "begin" not in p:
            out += flatten(p["patterns"])
        elif "begin" in p:
            out.append((re.compile(p["begin"] + r'(?:[^"\\]|\\.)*(?:"|$)'), p["name"]))  # a whole string
        else:
            name = p.get("name") or p["captures"]["1"]["name"]
            out.append((re.compile(p["match"]), name))
    return out


RULES = flatten(G["patterns"])


def tokens(line):
    """(text, scope) for each highlighted piece of `line`."""
    at, out = 0, []
    while at < len(line):
        best = None
        for rx, scope in RULES:
            m = rx.search(line, at)
            if m and m.end() > m.start() and (best is None or m.start() < best[0].start()):
                best = (m, scope)
        if not best:
            break
        m, scope = best
        if line[at:m.start()].strip():
            out.append((line[at:m.start()].strip(), None))
        text = m.group(1) if scope == "support.function.builtin.mmp" else m.group(0)
        out.append((text, scope))
        at = m.start() + len(text) if scope == "support.function.builtin.mmp" else m.end()
    if line[at:].strip():
        out.append((line[at:].strip(), None))
    return out


def main():
    keywords = set(re.findall(r"'([a-z]+)'", open(os.path.join(ROOT, "grammar/Mmp.g4")).read()))
    for k in sorted(keywords):
        scopes = [s for t, s in tokens(k) if t == k]
        check(bool(scopes) and scopes[0].startswith(("keyword", "support.function.action", "constant.language")),
              f"keyword `{k}` is highlighted as a keyword ({scopes})")

    line = 'when rate(memcg.usage) > 50MiB / 1s for 10s kill largest process cooldown 5min  # note'
    got = dict(tokens(line))
    check(got.get("when") == "keyword.control.rule.mmp", "`when` is a rule keyword")
    check(got.get("rate") == "support.function.builtin.mmp", "`rate(` is a built-in call")
    check(got.get("memcg.usage") == "variable.other.field.mmp", "a dotted field is one variable")
    check(got.get("50MiB") == "constant.numeric.mmp" and got.get("5min") == "constant.numeric.mmp",
          "quantities with units are numbers")
    check(got.get("kill") == "support.function.action.mmp", "`kill` is an action")
    check(got.get("# note") == "comment.line.number-sign.mmp", "a trailing comment is a comment")
    got = dict(tokens('on reclaim when reclaim.order > 3 log "order {reclaim.order} # not a comment"'))
    check(got.get("reclaim.order") == "variable.other.field.mmp", "`reclaim.order` is a field, not the action")
    check(any(s == "string.quoted.double.mmp" and "# not a comment" in t for t, s in tokens(
        'log "order {reclaim.order} # not a comment"')), "a `#` inside a string stays in the string")

    unscoped = []
    for path in sorted(glob.glob(os.path.join(ROOT, "examples/*.mmp"))):
        for n, line in enumerate(open(path), 1):
            unscoped += [f"{os.path.basename(path)}:{n}: {t}" for t, s in tokens(line.rstrip("\n")) if s is None]
    check(not unscoped, f"every token of the examples is highlighted ({unscoped[:5]})")
    print(f"{len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
