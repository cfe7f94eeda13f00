#!/usr/bin/env python3
"""A leak at a steady RATE MiB/s (anonymous memory, touched), forever.
usage: leak.py RATE_MIB_S"""
import os
import sys
import time

rate = float(sys.argv[1])
held, step = [], 1  # MiB
start = time.monotonic()
while True:
    held.append(bytearray(os.urandom(64)) * (step << 14))
    due = start + len(held) * step / rate
    time.sleep(max(0.0, due - time.monotonic()))
