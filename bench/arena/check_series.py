#!/usr/bin/env python3
"""Checks series.py, the arena's store of samples beside a results file:
one file per scenario, contender and configuration; a group whose cells
did not change keeps its bytes (its git blob); cells not kept go; a
results file of the old layout (one -series.json.gz) is read and then
replaced. Exits 1 with the first failure."""
import gzip
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import series  # noqa: E402


def check(ok, what):
    if not ok:
        print(f"FAIL {what}")
        sys.exit(1)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        results = os.path.join(tmp, "latest.json")
        d = series.directory(results)
        a0, a1, b0 = "fast_leak.earlyoom.tuned.0", "fast_leak.earlyoom.tuned.1", "thrash.mmp-best.best.0"
        with gzip.open(series.legacy_path(results), "wt") as f:  # the old layout
            json.dump({a0: {"rows": [[0, 1]]}, b0: {"rows": [[0, 2]]}}, f)
        check(series.load(results) == {a0: {"rows": [[0, 1]]}, b0: {"rows": [[0, 2]]}}, "the old layout is read")
        series.save(results, {a0, b0}, {a1: {"rows": [[0, 3]]}})
        check(not os.path.exists(series.legacy_path(results)), "the old file is replaced")
        check(sorted(os.listdir(d)) == ["fast_leak.earlyoom.tuned.json.gz", "thrash.mmp-best.best.json.gz"],
              f"one file per group: {sorted(os.listdir(d))}")
        check(series.load(results) == {a0: {"rows": [[0, 1]]}, a1: {"rows": [[0, 3]]}, b0: {"rows": [[0, 2]]}},
              "every kept and fresh cell is there")
        kept = open(os.path.join(d, "thrash.mmp-best.best.json.gz"), "rb").read()
        os.utime(os.path.join(d, "thrash.mmp-best.best.json.gz"), (0, 0))
        series.save(results, {a0, b0}, {a1: {"rows": [[0, 4]]}})  # a new sitting of earlyoom only
        check(os.stat(os.path.join(d, "thrash.mmp-best.best.json.gz")).st_mtime == 0,
              "an unchanged group is not rewritten")
        check(open(os.path.join(d, "thrash.mmp-best.best.json.gz"), "rb").read() == kept, "its bytes stay")
        check(series.load(results)[a1] == {"rows": [[0, 4]]}, "a fresh cell replaces the stored one")
        before = open(os.path.join(d, "fast_leak.earlyoom.tuned.json.gz"), "rb").read()
        series.save(results, {a0, a1, b0}, {})
        check(open(os.path.join(d, "fast_leak.earlyoom.tuned.json.gz"), "rb").read() == before,
              "the same cells give the same bytes (no timestamp)")
        series.save(results, {a0}, {})
        check(sorted(os.listdir(d)) == ["fast_leak.earlyoom.tuned.json.gz"], "a group with no cell left goes")
        check(series.load(results) == {a0: {"rows": [[0, 1]]}}, "cells not kept go")
    print("series: ok")


if __name__ == "__main__":
    main()
