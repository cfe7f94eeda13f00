#!/usr/bin/env python3
"""Container churn: keeps N pods (cgroups PARENT/pod-K, each with one
process holding MIB) alive, and every EVERY seconds removes the oldest
(cgroup.kill, rmdir) and makes a new one. Runs until killed; its pods go
with the scenario's cgroups.
usage: churn.py PARENT_DIR N MIB EVERY HOG      (HOG: build/bin/mmp_hog)
       churn.py --ready PARENT_DIR N            (exit 0 once N pods run)
"""
import os
import subprocess
import sys
import time

if sys.argv[1] == "--ready":
    parent, n = sys.argv[2], int(sys.argv[3])
    pods = [d for d in os.listdir(parent) if d.startswith("pod-") and d[4:].isdigit()]
    running = sum(1 for d in pods if "populated 1" in open(os.path.join(parent, d, "cgroup.events")).read())
    sys.exit(0 if running >= n else 1)

parent, n, mib, every, hog = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4]), sys.argv[5]
with open(os.path.join(parent, "cgroup.subtree_control"), "w") as f:
    f.write("+memory")
alive, made = [], 0


def make():
    global made
    d = os.path.join(parent, f"pod-{made}")
    made += 1
    os.mkdir(d)
    p = subprocess.Popen([hog, d, mib], stdout=subprocess.DEVNULL)
    alive.append((d, p))


def remove():
    d, p = alive.pop(0)
    with open(os.path.join(d, "cgroup.kill"), "w") as f:
        f.write("1")
    p.wait()
    for _ in range(100):
        try:
            os.rmdir(d)
            return
        except OSError:
            time.sleep(0.02)


for _ in range(n):
    make()
while True:
    time.sleep(every)
    remove()
    make()
