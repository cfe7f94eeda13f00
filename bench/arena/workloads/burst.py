#!/usr/bin/env python3
"""A build-like burst that finishes by itself: ROUNDS rounds of JOBS
parallel jobs (like a compiler's link steps), each taking MIB of anonymous
memory over RAMP seconds, holding it HOLD seconds, then exiting. The burst
pushes memory and pressure past the usual thresholds for a few seconds at
a time; nothing is wrong, and the right action is none.
usage: burst.py ROUNDS JOBS MIB RAMP HOLD
"""
import os
import sys
import time

rounds, jobs, mib = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
ramp, hold = float(sys.argv[4]), float(sys.argv[5])


def job():
    held, step = [], 4
    for _ in range(mib // step):
        held.append(bytearray(os.urandom(64)) * (step << 14))  # 4 MiB, not all zero: zram compresses, not elides
        time.sleep(ramp * step / mib)
    time.sleep(hold)
    os._exit(0)


for _ in range(rounds):
    children = []
    for _ in range(jobs):
        pid = os.fork()
        if pid == 0:
            job()
        children.append(pid)
    for pid in children:
        _, status = os.waitpid(pid, 0)
        if status != 0:
            sys.exit(f"a job died ({status:#x}): the burst did not finish")
    time.sleep(1.0)
