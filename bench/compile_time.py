#!/usr/bin/env python3
"""Compile time of the back end (bench/run_backend.sh runs it).

1. `mmpc compile` of the design card's policy against clang-19 compiling the
   hand-written C of the same policy, side by side: RUNS alternating runs of
   each, medians of wall-clock and CPU (user+sys) time, and the ratio.
2. Generated fleet policies (bench/gen_policy.py, its `insn_budget` raised to
   1,000,000): compile time, and whether the object loads (`mmrun check`),
   with the kernel's or the compiler's reason when it does not.

With --base-mmpc B, another mmpc (say main's, before a change) is timed in
the same run: alternately with the others on the card, and on every fleet
policy right after mmpc, so that before and after share the machine's load.

usage: compile_time.py --mmpc M --mmrun R --clang C --card P.mmp --hand P.bpf.c
                       --include DIR [--include DIR] --out DIR [--runs N]
                       [--sizes 10,100,1000] [--base-mmpc B]
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def timed(cmd):
    """Runs cmd; returns (wall s, cpu s, exit status, output)."""
    start = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - start
    p.returncode = os.waitstatus_to_exitcode(status)
    return wall, ru.ru_utime + ru.ru_stime, p.returncode, out.decode(errors="replace")


def ms(s):
    return f"{s * 1000:.1f} ms"


def card(a):
    mmpc = [a.mmpc, "compile", a.card, "-o", os.path.join(a.out, "ct_card.mmpc.o")]
    clang = [a.clang, "-O2", "-g", "-target", "bpf", "-mcpu=v3"]
    for d in a.include:
        clang += ["-I", d]
    clang += ["-c", a.hand, "-o", os.path.join(a.out, "ct_card.hand.o")]
    compilers = [("mmpc", mmpc), ("clang", clang)]
    if a.base_mmpc:
        compilers.append(("base", [a.base_mmpc] + mmpc[1:-1] + [os.path.join(a.out, "ct_card.base.o")]))
    runs = {name: [] for name, _ in compilers}
    for _, cmd in compilers:  # one warm-up each: page cache, not the measure
        timed(cmd)
    for _ in range(a.runs):
        for name, cmd in compilers:
            wall, cpu, rc, out = timed(cmd)
            if rc != 0:
                sys.exit(f"{' '.join(cmd)} failed:\n{out}")
            runs[name].append((wall, cpu))
    med = {n: (statistics.median(w for w, _ in r), statistics.median(c for _, c in r)) for n, r in runs.items()}
    print(f"design card, {a.runs} alternating runs each, medians")
    print(f"  {'compiler':<34} {'wall':>10} {'cpu':>10} {'min wall':>10}")
    rows = [("mmpc compile card.mmp", "mmpc"), ("clang-19 -O2 -g card.bpf.c", "clang")]
    if a.base_mmpc:
        rows.append(("base mmpc compile card.mmp", "base"))
    for label, n in rows:
        print(f"  {label:<34} {ms(med[n][0]):>10} {ms(med[n][1]):>10} {ms(min(w for w, _ in runs[n])):>10}")
    wall_ratio = med["clang"][0] / med["mmpc"][0]
    cpu_ratio = med["clang"][1] / med["mmpc"][1]
    verdict = "pass" if wall_ratio >= 10 else "FAIL"
    print(f"  clang / mmpc: {wall_ratio:.1f}x wall, {cpu_ratio:.1f}x cpu (goal: 10x) {verdict}")
    if a.base_mmpc:
        print(f"  clang / base mmpc: {med['clang'][0] / med['base'][0]:.1f}x wall, "
              f"{med['clang'][1] / med['base'][1]:.1f}x cpu")
    # Where mmpc's time goes: each --emit stops after one more stage.
    stages = [("start-up (--version)", [a.mmpc, "--version"]),
              ("+ front end (check)", [a.mmpc, "check", a.card]),
              ("+ plan, manifest", [a.mmpc, "compile", a.card, "--emit=manifest", "-o", os.devnull]),
              ("+ kernel BTF, IR, optimised (--emit=llvm)", [a.mmpc, "compile", a.card, "--emit=llvm", "-o", os.devnull]),
              ("+ BPF code generation (obj)", mmpc)]
    print("  mmpc by stage (median of 9, cpu):")
    for label, cmd in stages:
        cpu = statistics.median(timed(cmd)[1] for _ in range(9))
        print(f"    {label:<36} {ms(cpu):>10}")


def compile_and_check(a, mmpc, src, obj):
    """Median of 3 compiles of src, then `mmrun check`: (wall, cpu, result)."""
    if os.path.exists(obj):
        os.remove(obj)
    res = [timed([mmpc, "compile", src, "-o", obj]) for _ in range(3)]  # medians: the machine is shared
    wall = statistics.median(r[0] for r in res)
    cpu = statistics.median(r[1] for r in res)
    rc, out = res[-1][2], res[-1][3]
    if rc != 0:
        lines = [l for l in out.splitlines() if l.strip()]
        why = lines[0] if lines else f"exit status {rc}"
        return wall, cpu, f"does not compile: {why[:150]}"
    _, _, rc, out = timed([a.mmrun, "check", obj])
    if rc == 0:
        sizes = re.findall(r"^\s+(mmp_\w+)\s+\S+\s+(\d+)\s+(\d+)$", out, flags=re.M)
        worst = max(sizes, key=lambda s: int(s[2]))
        total = sum(int(s[1]) for s in sizes)
        return wall, cpu, f"loads: {len(sizes)} programs, {total} insns; most verified: {worst[0]} {worst[2]}"
    prog = re.search(r"prog '(\w+)': failed to load", out)
    done = re.search(r"processed (\d+) insns \(limit (\d+)\)", out)
    reasons = [l.strip() for l in out.splitlines()
               if re.search(r"too large|Too large|too many|combined stack|is exceeded", l)]
    why = (prog.group(1) + ": " if prog else "") + (reasons[0] if reasons else out.strip().splitlines()[-1])
    if done:
        why += f" (verifier processed {done.group(1)} insns, limit {done.group(2)})"
    return wall, cpu, f"does not load: {why[:160]}"


def fleet(a):
    print("generated fleet policies (gen_policy.py, seed 20240601, insn_budget = 1_000_000), median of 3 compiles")
    print(f"  {'rules':>6} {'compile wall':>13} {'cpu':>9}  result")
    for n in a.sizes:
        src = os.path.join(a.out, f"fleet_{n}.mmp")
        text = subprocess.run([sys.executable, os.path.join(HERE, "gen_policy.py"), str(n)],
                              check=True, capture_output=True, text=True).stdout
        text = re.sub(r"^set insn_budget = .*$", "set insn_budget = 1_000_000", text, flags=re.M)
        with open(src, "w") as f:
            f.write(text)
        wall, cpu, result = compile_and_check(a, a.mmpc, src, os.path.join(a.out, f"fleet_{n}.o"))
        print(f"  {n:>6} {wall:>11.2f} s {cpu:>7.2f} s  {result}")
        if a.base_mmpc:
            wall, cpu, result = compile_and_check(a, a.base_mmpc, src, os.path.join(a.out, f"fleet_{n}.base.o"))
            print(f"  {'base':>6} {wall:>11.2f} s {cpu:>7.2f} s  {result}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mmpc", required=True)
    ap.add_argument("--mmrun", required=True)
    ap.add_argument("--clang", default="clang-19")
    ap.add_argument("--card", required=True)
    ap.add_argument("--hand", required=True)
    ap.add_argument("--include", action="append", default=[])
    ap.add_argument("--out", required=True)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--sizes", default="10,100,1000")
    ap.add_argument("--skip-card", action="store_true")
    ap.add_argument("--base-mmpc", help="another mmpc to time in the same run (before a change)")
    a = ap.parse_args()
    a.sizes = [int(s) for s in a.sizes.split(",") if s]
    os.makedirs(a.out, exist_ok=True)
    if not a.skip_card:
        card(a)
        print()
    if a.sizes:
        fleet(a)


if __name__ == "__main__":
    main()
