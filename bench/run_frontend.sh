#!/usr/bin/env bash
# The front-end benchmark in one command (bench/RESULTS.md has the figures):
#   1. builds mmpc, the benchmark and the generated policies (build tree only);
#   2. checks that every generated policy passes `mmpc check` with no
#      diagnostic at all;
#   3. runs mmp_frontend_bench (Google Benchmark), repetitions, medians;
#   4. times `mmpc check` as a whole process (median of RUNS runs), per size;
#   5. counts its instructions with callgrind (repeatable on a noisy machine),
#      per size, split into load (parse + AST) and check (sema);
#   6. prints one table, and the callgrind profile of the 1,000-rule run.
#
# Environment: REPS (benchmark repetitions, default 5), RUNS (wall-clock runs
# of mmpc per size, default 20; 5 for 10,000 rules), SKIP_10K_CALLGRIND=1 to
# skip the slowest step (about two minutes), BENCH_ARGS (extra arguments for
# the benchmark, e.g. --benchmark_filter=FrontEnd).
# Outputs land in build/bench/results/.
set -euo pipefail
cd "$(dirname "$0")/.."

REPS=${REPS:-5}
RUNS=${RUNS:-20}
SIZES=(10 100 1000 10000)
POLICIES=build/bench/policies
OUT=build/bench/results
MMPC=build/bin/mmpc
BENCH=build/bin/mmp_frontend_bench

# --- 1. build ---------------------------------------------------------------
# The configuration of scripts/build; only the targets measured here are
# built, so unrelated work in progress elsewhere in the tree cannot stop it.
scripts/setup
cmake -S . -B build -G Ninja -DMMP_WERROR=ON >/dev/null
targets=(mmpc mmp_bench_policies)
# (No `grep -q` on a pipe: its early exit would fail the pipeline under pipefail.)
if ninja -C build -t targets all 2>/dev/null | grep '^mmp_frontend_bench:' >/dev/null; then
  targets+=(mmp_frontend_bench)
else
  echo "run_frontend.sh: Google Benchmark missing (libbenchmark-dev): skipping the in-process benchmark" >&2
  BENCH=""
fi
cmake --build build --target "${targets[@]}"
rm -rf "$OUT"
mkdir -p "$OUT"

# --- 2. the generated policies are valid and clean ----------------------------
for n in "${SIZES[@]}"; do
  f=$POLICIES/fleet_$n.mmp
  rules=$(grep -cE '^\s*(when|on) ' "$f")
  if ! "$MMPC" check --color=never "$f" 2>"$OUT/check_$n.txt" || [ -s "$OUT/check_$n.txt" ]; then
    echo "run_frontend.sh: $f does not pass mmpc check cleanly:" >&2
    head -20 "$OUT/check_$n.txt" >&2
    exit 1
  fi
  [ "$rules" -eq "$n" ] || { echo "run_frontend.sh: $f has $rules rules, not $n" >&2; exit 1; }
done
echo "generated policies: ${SIZES[*]} rules, all pass mmpc check with no diagnostic"

# --- 3. in-process benchmark ---------------------------------------------------
if [ -n "$BENCH" ]; then
  # shellcheck disable=SC2086
  "$BENCH" --benchmark_repetitions="$REPS" --benchmark_report_aggregates_only=true \
    --benchmark_out="$OUT/frontend_bench.json" --benchmark_out_format=json ${BENCH_ARGS:-} \
    | tee "$OUT/frontend_bench.txt"
fi

# --- 4. wall clock of the whole process ------------------------------------------
python3 - "$MMPC" "$POLICIES" "$OUT/wall.json" "$RUNS" "${SIZES[@]}" <<'EOF'
import json, statistics, subprocess, sys, time
mmpc, policies, out, runs, sizes = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5:]
result = {}
for n in sizes:
    cmd = [mmpc, "check", f"{policies}/fleet_{n}.mmp"]
    subprocess.run(cmd, check=True)  # warm the page cache
    k = max(5, runs // 4) if int(n) >= 10000 else runs
    times = []
    for _ in range(k):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True)
        times.append((time.perf_counter() - t0) * 1000)
    result[n] = {"runs": k, "median_ms": statistics.median(times), "min_ms": min(times), "max_ms": max(times)}
json.dump(result, open(out, "w"), indent=1)
EOF

# --- 5. instruction counts --------------------------------------------------------
callgrind_sizes=("${SIZES[@]}")
[ "${SKIP_10K_CALLGRIND:-0}" = 1 ] && callgrind_sizes=(10 100 1000)
if ! command -v valgrind >/dev/null || ! command -v callgrind_annotate >/dev/null; then
  echo "run_frontend.sh: valgrind missing (Debian: valgrind): no instruction counts" >&2
  callgrind_sizes=()
fi
for n in ${callgrind_sizes[@]+"${callgrind_sizes[@]}"}; do
  valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind_$n.out" \
    "$MMPC" check "$POLICIES/fleet_$n.mmp" 2>"$OUT/callgrind_$n.log"
  callgrind_annotate --inclusive=yes "$OUT/callgrind_$n.out" >"$OUT/callgrind_${n}_inclusive.txt" 2>/dev/null
  callgrind_annotate "$OUT/callgrind_$n.out" >"$OUT/callgrind_${n}_self.txt" 2>/dev/null
done

# --- 6. the table -------------------------------------------------------------------
python3 - "$OUT" "${SIZES[@]}" <<'EOF'
import json, os, re, sys
out, sizes = sys.argv[1], sys.argv[2:]

def bench():
    path = os.path.join(out, "frontend_bench.json")
    if not os.path.exists(path):
        return {}
    rows = {}
    for b in json.load(open(path))["benchmarks"]:
        m = re.match(r"BM_(\w+)/rules:(\d+)(/sll:(\d))?_median$", b["name"])
        if m:
            key = m.group(1) + ("SLL" if m.group(4) == "1" else "")
            rows[(key, m.group(2))] = b["cpu_time"]  # ms (Unit kMillisecond)
    return rows

def inclusive(n):
    path = os.path.join(out, f"callgrind_{n}_inclusive.txt")
    if not os.path.exists(path):
        return None
    total = load = check = None
    for line in open(path):
        m = re.match(r"\s*([\d,]+) \(\s*[\d.]+%\)\s+(.*)", line)
        if not m:
            continue
        ir, what = int(m.group(1).replace(",", "")), m.group(2)
        if "PROGRAM TOTALS" in what: total = ir
        elif re.search(r":mmp::loadPolicy\(", what) and load is None: load = ir
        elif re.search(r":mmp::checkPolicy\(", what) and check is None: check = ir
    return total, load, check

b, wall = bench(), json.load(open(os.path.join(out, "wall.json")))
fmt = lambda v, f="{:.2f}": "-" if v is None else f.format(v)
print()
print("In-process benchmark, CPU time, median of repetitions (ms); per rule in us")
print(f"{'rules':>6} | {'front end':>10} {'/rule':>7} | {'cold DFA':>9} | {'load':>9} {'/rule':>7} | {'check':>9} {'/rule':>7} | {'ANTLR LL':>9} {'SLL':>9}")
for n in sizes:
    g = lambda k: b.get((k, n))
    pr = lambda k: None if g(k) is None else g(k) * 1000 / int(n)
    print(f"{n:>6} | {fmt(g('FrontEnd')):>10} {fmt(pr('FrontEnd'), '{:.1f}'):>7} | {fmt(g('FrontEndCold')):>9} | "
          f"{fmt(g('Load')):>9} {fmt(pr('Load'), '{:.1f}'):>7} | {fmt(g('Check')):>9} {fmt(pr('Check'), '{:.1f}'):>7} | "
          f"{fmt(g('Antlr')):>9} {fmt(g('AntlrSLL')):>9}")
print()
print("`mmpc check` as a process: wall clock (ms), and callgrind instructions (M = 10^6)")
print(f"{'rules':>6} | {'median':>8} {'min':>8} {'runs':>4} | {'total Ir':>10} {'load Ir':>10} {'check Ir':>10} | {'(load+check)/rule':>17}")
ir = {}
for n in sizes:
    w = wall[n]
    c = inclusive(n)
    ir[n] = c
    if c:
        t, l, k = c
        per = (l + k) / int(n) / 1e3
        cg = f"{t/1e6:>9.1f}M {l/1e6:>9.1f}M {k/1e6:>9.1f}M | {per:>14.1f}K"
    else:
        cg = f"{'-':>10} {'-':>10} {'-':>10} | {'-':>17}"
    print(f"{n:>6} | {w['median_ms']:>8.1f} {w['min_ms']:>8.1f} {w['runs']:>4} | {cg}")
print()
print("Goal: the front end on 1,000 rules under 50 ms, cost linear in rules")
if b.get(("FrontEnd", "1000")):
    print(f"  in-process front end, 1,000 rules: {b[('FrontEnd', '1000')]:.1f} ms CPU")
print(f"  mmpc check, 1,000 rules: {wall['1000']['median_ms']:.1f} ms wall (median), "
      f"10 rules: {wall['10']['median_ms']:.1f} ms (start-up)")
r = lambda a, c: "-" if not a or not c else f"{a / c:.1f}x"
if b:
    print(f"  10,000/1,000 (ideal 10x): front end {r(b.get(('FrontEnd', '10000')), b.get(('FrontEnd', '1000')))}, "
          f"load {r(b.get(('Load', '10000')), b.get(('Load', '1000')))}, check {r(b.get(('Check', '10000')), b.get(('Check', '1000')))}")
if ir.get("10000") and ir.get("1000"):
    (t1, l1, c1), (t2, l2, c2) = ir["1000"], ir["10000"]
    print(f"  10,000/1,000 instructions (ideal 10x): load {l2/l1:.1f}x, check {c2/c1:.1f}x, load+check {(l2+c2)/(l1+c1):.1f}x")
print(f"  wall 10,000/1,000: {wall['10000']['median_ms'] / wall['1000']['median_ms']:.1f}x")

# Where the instructions go: inclusive counts of the front end's stages.
# Lexing counts the main file and the log interpolations; the interpolation
# line counts their own lexing, parsing and AST building again.
stages = [
    ("lexing (BufferedTokenStream::fill)", r"antlr4::BufferedTokenStream::fill\("),
    ("nesting pre-check (getText per token)", r"nestingWithinLimit\("),
    ("parsing (MmpParser::file)", r"mmpgen::MmpParser::file\(\)"),
    ("AST building (AstBuilder::buildFile)", r"mmp::AstBuilder::buildFile\("),
    ("  of which error-node walks (broken)", r"mmp::AstBuilder::broken\("),
    ("  of which log interpolations", r"parsePolicy\(.*\)::\{lambda\(std::basic_string_view"),
    ("parse-tree teardown (Parser::~Parser)", r"antlr4::Parser::~Parser\(\)"),
    ("check (checkPolicy)", r":mmp::checkPolicy\("),
    ("  of which checkContradictions", r"Checker::checkContradictions\("),
    ("  of which checkRuleReach", r"Checker::checkRuleReach\("),
]
def stage_ir(n):
    path = os.path.join(out, f"callgrind_{n}_inclusive.txt")
    if not os.path.exists(path):
        return None
    got = {}
    lines = open(path).read().splitlines()
    for label, pat in stages:
        for line in lines:
            m = re.match(r"\s*([\d,]+) \(\s*[\d.]+%\)\s+(.*)", line)
            if m and re.search(pat, m.group(2)):
                got[label] = int(m.group(1).replace(",", ""))
                break
    return got
data = {n: stage_ir(n) for n in sizes}
cols = [n for n in sizes if data[n]]
if cols:
    print()
    print("callgrind, inclusive instructions by stage (M = 10^6)")
    print(f"{'stage':<40}" + "".join(f"{n + ' rules':>13}" for n in cols))
    for label, _ in stages:
        print(f"{label:<40}" + "".join(f"{data[n].get(label, 0) / 1e6:>12.1f}M" for n in cols))
    print(f"{'whole process':<40}" + "".join(f"{ir[n][0] / 1e6:>12.1f}M" for n in cols))
EOF

echo
echo "callgrind, 1,000 rules: top functions by own instructions ($OUT/callgrind_1000_self.txt)"
sed -n '/file:function/,$p' "$OUT/callgrind_1000_self.txt" | sed -n '3,22p' | cut -c1-160
