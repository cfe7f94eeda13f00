#!/bin/sh
# The back end's benchmarks, end to end: builds mmpc, mmrun, the benchmark
# tool and the objects (hand-written C with clang-19, the same policies with
# mmpc), then prints the three tables of bench/RESULTS.md:
#   1. code quality: verified instructions per program, mmpc / hand-written,
#      and a differential replay proving both objects decide the same;
#   2. compile time: mmpc against clang-19 on the design card, and fleet
#      policies of 10 to 1,000 rules (compile time, does it load);
#   3. run time: the replay program's in-kernel time per evaluation.
# Needs root (it loads BPF programs; nothing is attached) and a kernel with
# BTF. usage: bench/run_backend.sh [BUILD_DIR]   (default: build-bench)
# MMP_BASE_MMPC=PATH also times that mmpc (say main's, before a change) in
# the same run: compile time (card and fleet) and ten.mmp's run time.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=${1:-$ROOT/build-bench}
case $B in /*) ;; *) B=$PWD/$B ;; esac
if [ "$(id -u)" != 0 ]; then
  echo "run_backend.sh: loading BPF needs root" >&2
  exit 1
fi
cmake -S "$ROOT" -B "$B" -G Ninja -DMMP_WERROR=ON >/dev/null
cmake --build "$B" --target mmpc mmrun mmp_backend_bench mmp_backend_objects >/dev/null
D=$B/bench/backend
T="$B/bin/mmp_backend_bench"
OUT=$D/run
mkdir -p "$OUT"

echo "machine: $(uname -r), $(nproc) CPUs ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)),"
echo "         load average $(cut -d' ' -f1-3 /proc/loadavg), $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "mmpc at $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet HEAD -- compiler 2>/dev/null || echo ' (compiler/ modified)')"
echo

echo "== 1. Code quality: verified instructions (bpf_prog_info.verified_insns), goal mmpc/hand <= 1.25"
"$T" insns card "$D/card.hand.o" "$D/card.mmpc.o" hold "$D/hold.hand.o" "$D/hold.mmpc.o" \
  duo "$D/duo.hand.o" "$D/duo.mmpc.o" || true
echo "-- against card's rule alone (card_plain.bpf.c: no scope, state, counters or record)"
"$T" insns card_plain "$D/card_plain.hand.o" "$D/card.mmpc.o" || true
for p in card hold duo; do
  printf '%-5s ' "$p"
  "$T" same "$D/$p.manifest.json" "$D/$p.hand.o" "$D/$p.mmpc.o" 20000
done
echo

echo "== 2. Compile time"
python3 "$ROOT/bench/compile_time.py" --mmpc "$B/bin/mmpc" --mmrun "$B/bin/mmrun" --clang clang-19 \
  --card "$ROOT/bench/handwritten/card.mmp" --hand "$ROOT/bench/handwritten/card.bpf.c" \
  --include "$D" --include "$ROOT/runtime/abi" --out "$OUT" --runs 20 --sizes 10,20,50,100,500,1000 \
  ${MMP_BASE_MMPC:+--base-mmpc "$MMP_BASE_MMPC"}
echo

echo "== 3. Run time: mmp_replay per evaluation"
echo "-- bench/policies/ten.mmp (10 memcg rules)"
TEN_BASE=
if [ -n "${MMP_BASE_MMPC:-}" ]; then
  TEN_BASE=$OUT/ten.base.o
  "$MMP_BASE_MMPC" compile "$ROOT/bench/policies/ten.mmp" -o "$TEN_BASE"
fi
"$T" replay "$D/ten.manifest.json" "$D/ten.mmpc.o" $TEN_BASE
echo "-- bench/gen_policy.py 10 (7 memcg rules and 3 event rules, which replay does not run)"
"$B/bin/mmpc" compile "$OUT/fleet_10.mmp" --emit=manifest -o "$OUT/fleet_10.json"
"$T" replay "$OUT/fleet_10.json" "$OUT/fleet_10.o" | tail -n +3
echo "-- the hand-written objects against mmpc's"
for p in card hold duo; do
  "$T" replay "$D/$p.manifest.json" "$D/$p.hand.o" "$D/$p.mmpc.o" | tail -n +4
done
