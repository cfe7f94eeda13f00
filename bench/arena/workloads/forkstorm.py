#!/usr/bin/env python3
"""A fork storm of small leaking processes, in the spirit of earlyoom's
contrib/memforkbomb.sh: every EVERY seconds a new child that takes MIB of
anonymous memory and sleeps, forever; no one process is large.
usage: forkstorm.py MIB EVERY"""
import os
import signal
import sys
import time

mib, every = int(sys.argv[1]), float(sys.argv[2])
signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children reaped by the kernel
while True:
    if os.fork() == 0:
        held = bytearray(os.urandom(64)) * (mib << 14)
        while True:
            time.sleep(3600)
    time.sleep(every)
