#!/usr/bin/env python3
"""Runs mmpc check on every input the fuzz campaigns found (test/fuzz/regressions):
each must end with exit 0 or 1 (no crash, no usage error) within 20 seconds."""
import glob
import os
import subprocess
import sys

mmpc, folder = sys.argv[1], sys.argv[2]
failures = 0
files = sorted(glob.glob(os.path.join(folder, "*.mmp")))
for f in files:
    try:
        r = subprocess.run([mmpc, "check", "--color=never", f], capture_output=True, timeout=20)
        ok = r.returncode in (0, 1)
        why = f"exit {r.returncode}"
    except subprocess.TimeoutExpired:
        ok, why = False, "timed out after 20 s"
    if not ok:
        failures += 1
        print(f"FAIL {f}: {why}")
print(f"{len(files)} fuzz regressions checked, {failures} failed")
sys.exit(1 if failures or not files else 0)
