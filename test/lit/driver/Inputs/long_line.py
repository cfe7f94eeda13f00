# A policy whose rule repeats a modifier COUNT times on one line (the issue
# had 16,000 on a 192 KB line: 7.7 GB of diagnostics).
import sys
count = int(sys.argv[1])
print("policy long_line")
print('when system.memory.available < 1GiB log "x"' + " cooldown 1s" * count)
