#!/usr/bin/python3
"""The arena's results as Markdown tables and plots (bench/ARENA.md).

Reads a results file of run_arena.py (and the samples beside it: series.py),
prints the tables of medians, scenario by contender, and writes the plots
of the key scenarios (PNG, matplotlib) into the results' folder.
usage: report.py [RESULTS.json] [--plots]
"""
import argparse
import json
import os
import statistics
import sys

import series  # the samples beside the results

HERE = os.path.dirname(os.path.abspath(__file__))
ORDER = ["kernel/none", "earlyoom/defaults", "earlyoom/tuned", "oomd/defaults", "oomd/tuned",
         "systemd-oomd/defaults", "systemd-oomd/tuned", "nohang/defaults", "nohang/tuned",
         "mmp-std/std_earlyoom", "mmp-std/std_oomd_desktop", "mmp-std/std_systemd_oomd", "mmp-best/best"]
PLOTTED = ["fast_leak", "fast_leak_zram", "thrash", "noisy_neighbour"]


def key(r):
    return f"{r['contender']}/{r['config']}"


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def spread(xs):
    xs = [x for x in xs if x is not None]
    return (min(xs), max(xs)) if len(xs) > 1 else None


def fmt_s(x):
    return "—" if x is None else (f"{x:.2f}" if abs(x) < 10 else f"{x:.1f}")


def interpolate_crossings(results_path, runs):
    """A contender that acted between two of the harness's samples, just as
    memory crossed the threshold, leaves no sampled crossing: the cell says
    it acted before the threshold, and has no time to action. Where the
    scenario's threshold is MemAvailable's and the fall of the two samples
    before the contender's signal, carried on to it, reaches the threshold,
    the crossing lay between the last sample and the signal: its time is
    interpolated on that fall (marked in the table). A contender whose
    signal the fall does not reach the threshold by did act before it."""
    samples = series.load(results_path)
    thresholds = {}
    for r in runs:
        if r["time_to_action_s"] is not None or not r.get("acted_before_threshold") or r.get("emptied_s") is None:
            continue
        sc = r["scenario"]
        if sc not in thresholds:
            path = os.path.join(HERE, "scenarios", sc + ".json")
            thresholds[sc] = json.load(open(path))["threshold"] if os.path.exists(path) else {}
        th = thresholds[sc]
        sig = [x["at_s"] for x in r.get("signals", []) if x.get("by") == "contender"]
        rows = samples.get(f"{sc}.{r['contender']}.{r['config']}.{r['rep']}", {}).get("rows", [])
        if th.get("kind") != "mem_available_pct" or not sig:
            continue
        before = [(row[0], row[1]) for row in rows if row[0] <= sig[0]][-2:]
        if len(before) < 2 or before[1][0] <= before[0][0]:
            continue
        (t0, a0), (t1, a1) = before
        slope = (a1 - a0) / (t1 - t0)
        if slope >= 0 or a1 + slope * (sig[0] - t1) > th["below"]:
            continue
        crossing = t1 + (th["below"] - a1) / slope
        r["time_to_action_s"] = round(r["emptied_s"] - crossing, 3)
        r["time_to_signal_s"] = round(sig[0] - crossing, 3)
        r["crossing_interpolated"] = True


def cell_text(rs, expect_kill):
    """One table cell: the median time to action, or what went wrong."""
    voids = [r for r in rs if r.get("void")]
    rs = [r for r in rs if not r.get("void")]
    if not rs:
        return "void"
    acted = sum(1 for r in rs if r["acted"])
    n = len(rs)
    marks = []
    wrong = sum(1 for r in rs if r["acted"] and r["right_victim"] is False)
    if wrong:
        marks.append(f"wrong victim {wrong}/{n}")
    if any(r["protected_touched"] for r in rs):
        marks.append("**protected touched**")
    coll = median([r["collateral"] for r in rs])
    if coll:
        marks.append(f"collateral {coll:g}")
    ooms = sum(1 for r in rs if r["kernel_oom_kills"] and r["contender"] != "kernel")
    if ooms:
        marks.append(f"kernel OOM {ooms}/{n}")
    if voids:
        marks.append(f"{len(voids)} void")
    interpolated = sum(1 for r in rs if r.get("crossing_interpolated"))
    if interpolated:
        marks.append(f"crossing interpolated {interpolated}/{n}")
    if not expect_kill:
        text = "no kill" if not acted else f"**killed** {acted}/{n}"
    elif not acted:
        text = "never"
    else:
        tta = [r["time_to_action_s"] for r in rs]
        t = median(tta)
        sp = spread(tta)
        before = sum(1 for r in rs if r.get("acted_before_threshold"))
        text = (f"{fmt_s(t)} s" if t is not None else ("before the threshold" if before else "acted, culprit lived"))
        if sp:
            text += f" ({fmt_s(sp[0])}–{fmt_s(sp[1])})"
        if acted < n:
            text += f", acted {acted}/{n}"
    return text + ("; " + ", ".join(marks) if marks else "")


def table(runs, scenarios):
    cols = [k for k in ORDER if any(key(r) == k for r in runs)]
    lines = ["| scenario | " + " | ".join(c.replace("/", " ") for c in cols) + " |",
             "| --- |" + " --- |" * len(cols)]
    for sc in scenarios:
        rs = [r for r in runs if r["scenario"] == sc]
        expect = rs[0]["expect_kill"] if rs else True
        row = [cell_text([r for r in rs if key(r) == c], expect) if any(key(r) == c for r in rs) else ""
               for c in cols]
        lines.append(f"| {sc} | " + " | ".join(row) + " |")
    return "\n".join(lines)


def never_last(r):
    """A cell's time to action for ranking: a contender that never acted
    (or acted and the culprit lived) counts as never, after every time."""
    t = r["time_to_action_s"] if r["acted"] else None
    return float("inf") if t is None else t


def bar_lines(runs, scenarios):
    """The bar's first line, per kill scenario: mmp-best's median time to
    action against the fastest peer's (defaults or tuned; never counts as
    never), and in how many repetitions mmp-best beat that peer's cell of
    the same repetition (a sitting runs the repetitions in turn, so cells
    of one repetition ran minutes apart)."""
    out = []
    for sc in scenarios:
        rs = [r for r in runs if r["scenario"] == sc and not r.get("void")]
        best = [r for r in rs if r["contender"] == "mmp-best"]
        if not best or not best[0]["expect_kill"]:
            continue
        peers = {}
        for r in rs:
            if not r["contender"].startswith("mmp") and r["contender"] != "kernel":
                peers.setdefault(key(r), []).append(r)
        if not peers:
            continue
        m = statistics.median(never_last(r) for r in best)
        rival, cells = min(peers.items(), key=lambda kv: statistics.median(never_last(r) for r in kv[1]))
        pm = statistics.median(never_last(r) for r in cells)
        by_rep = {r["rep"]: never_last(r) for r in cells}
        pairs = [(never_last(r), by_rep[r["rep"]]) for r in best if r["rep"] in by_rep]
        won = sum(1 for a, b in pairs if a < b)
        verdict = "**ahead**" if m < pm else "**behind**"
        who, config = rival.split("/")
        out.append(f"- {sc}: mmp-best {fmt_s(m)} s; the fastest of {len(peers)} peer configurations, {who} "
                   f"({config}), {fmt_s(pm)} s: {verdict}; ahead in {won} of {len(pairs)} repetitions")
    return out


def figures_table(runs, scenarios, field, fmt):
    cols = [k for k in ORDER if any(key(r) == k for r in runs)]
    lines = ["| scenario | " + " | ".join(c.replace("/", " ") for c in cols) + " |",
             "| --- |" + " --- |" * len(cols)]
    for sc in scenarios:
        rs = [r for r in runs if r["scenario"] == sc and not r.get("void")]
        row = []
        for c in cols:
            m = median([r.get(field) for r in rs if key(r) == c])
            row.append("" if m is None else fmt(m))
        lines.append(f"| {sc} | " + " | ".join(row) + " |")
    return "\n".join(lines)


def time_table(runs, scenarios):
    """Where the guest's time went, by scenario (minutes): setting the
    machine up and back and starting the contender (the cell's wall time
    beyond its own), the workloads until the threshold's crossing, and
    from the crossing to the cell's end (the contender's action and
    SETTLE_S, or give_up_s when it never acts)."""
    rows = ["| scenario | cells | minutes | setting up and back | until the crossing | after it |",
            "| --- | --- | --- | --- | --- | --- |"]
    total = [0, 0.0, 0.0, 0.0, 0.0]
    for sc in scenarios:
        rs = [r for r in runs if r["scenario"] == sc and r.get("cell_wall_s") is not None]
        setup = sum(r["cell_wall_s"] - r["duration_s"] for r in rs)
        before = sum(r["crossing_s"] if r.get("crossing_s") is not None else r["duration_s"] for r in rs)
        after = sum(r["duration_s"] - r["crossing_s"] for r in rs if r.get("crossing_s") is not None)
        for i, x in enumerate((len(rs), setup + before + after, setup, before, after)):
            total[i] += x
        rows.append(f"| {sc} | {len(rs)} | {(setup + before + after) / 60:.1f} | {setup / 60:.1f} | "
                    f"{before / 60:.1f} | {after / 60:.1f} |")
    rows.append(f"| all | {total[0]} | " + " | ".join(f"{x / 60:.1f}" for x in total[1:]) + " |")
    return "\n".join(rows)


def plots(results_path, runs, outdir):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    samples = series.load(results_path)
    if not samples:
        print(f"no samples beside {results_path}: no plots", file=sys.stderr)
        return []
    written = []
    for sc in PLOTTED:
        cells = [(name, s) for name, s in samples.items() if name.startswith(sc + ".") and name.endswith(".0")]
        if not cells:
            continue
        service = any(s.get("latency") for _, s in cells)
        fig, axes = plt.subplots(3 if service else 2, 1, figsize=(11, 8 if service else 6), sharex=True)
        for name, s in sorted(cells):
            label = ".".join(name.split(".")[1:3]).replace(".none", "")
            zero = s.get("crossing_s")
            if zero is None:
                continue
            rows = s["rows"]
            t = [r[0] - zero for r in rows]
            line, = axes[0].plot(t, [r[1] for r in rows], lw=1, label=label)
            axes[1].plot(t, [r[3] if sc == "thrash" else r[2] for r in rows], lw=1, color=line.get_color())
            acts = [x for x in s.get("signals", []) if x.get("by") in ("contender", "kernel")]
            if acts:
                a = acts[0]["at_s"] - zero
                for ax in axes:
                    ax.axvline(a, color=line.get_color(), ls=":", lw=1)
            if service:
                lat = [(p[0] - zero, p[1] * 1000) for p in s["latency"] if p[1] is not None]
                axes[2].plot([p[0] for p in lat], [p[1] for p in lat], lw=0.7, color=line.get_color())
        axes[0].set_ylabel("MemAvailable, % of MemTotal")
        axes[1].set_ylabel(("culprit's" if sc == "thrash" else "system") + " PSI full avg10, %")
        if service:
            axes[2].set_ylabel("redis GET latency, ms")
            axes[2].set_yscale("log")
        axes[-1].set_xlabel("seconds from the threshold's crossing (dotted: each contender's first kill)")
        axes[-1].set_xlim(-8, 8)
        axes[0].legend(fontsize=7, ncol=3)
        axes[0].set_title(f"arena: {sc} (repetition 0)")
        fig.tight_layout()
        out = os.path.join(outdir, f"{sc}.png")
        fig.savefig(out, dpi=90)
        plt.close(fig)
        written.append(out)
    return written


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results", nargs="?", default=os.path.join(HERE, "results", "latest.json"))
    ap.add_argument("--plots", action="store_true")
    a = ap.parse_args()
    data = json.load(open(a.results))
    runs, h = data["runs"], data["header"]
    interpolate_crossings(a.results, runs)
    scenarios = []
    for r in runs:
        if r["scenario"] not in scenarios:
            scenarios.append(r["scenario"])
    print(f"Run: `{h['command']}`, {h['date']}, commit {h['commit'][:10]}{' (dirty)' if h.get('dirty') else ''}; "
          f"guest {h['guest_kernel']}, {h['guest_memory_mib']} MiB, {h['guest_cpus']} vCPUs, {h['accel']}; "
          f"host {h['host_kernel']}, {h['host_cpus']} CPUs; {h['cells_run']} of {h['cells_planned']} cells.\n")
    print("Time to action (s, median; from the threshold's crossing until the culprit's cgroup is empty; a crossing "
          "the harness's samples missed, the contender acting between two of them, is interpolated and marked):\n")
    print(table(runs, scenarios))
    bar = bar_lines(runs, scenarios)
    if bar:
        print("\nmmp-best against the fastest peer, each kill scenario (the bar):\n")
        print("\n".join(bar))
    print("\nTime to signal (s, median; the contender's first SIGKILL/SIGTERM, from the kernel's tracepoint):\n")
    print(figures_table(runs, scenarios, "time_to_signal_s", lambda m: f"{m:.3f}"))
    print("\nLowest MemAvailable (% of MemTotal, median):\n")
    print(figures_table(runs, scenarios, "min_mem_available_pct", lambda m: f"{m:.1f}"))
    print("\nThe contender's CPU time (s, median, whole cell) and peak memory (MiB: its cgroup's `memory.peak`, page cache it read included):\n")
    print(figures_table(runs, scenarios, "daemon_cpu_s", lambda m: f"{m:.2f}"))
    print()
    print(figures_table(runs, scenarios, "daemon_rss_mib", lambda m: f"{m:.1f}"))
    split = [r for r in runs if r.get("daemon_start_cpu_s") is not None]
    if split:  # cells since the harness records what starting cost
        for r in split:
            r["daemon_run_cpu_s"] = r["daemon_cpu_s"] - r["daemon_start_cpu_s"]
        print("\nOf that CPU time, starting (until the contender is ready; mmrun: verifying and attaching) and "
              "running (s, median; cells that record it):\n")
        print(figures_table(split, scenarios, "daemon_start_cpu_s", lambda m: f"{m:.2f}"))
        print()
        print(figures_table(split, scenarios, "daemon_run_cpu_s", lambda m: f"{m:.2f}"))
    svc = [r for r in runs if r.get("service_p99_ms") is not None]
    if svc:
        print("\nThe service (redis GET, closed loop), median (range) over the repetitions: p99 and max ms, "
              "seconds of stalls over 1 s:\n")
        print("| scenario | contender | reps | p99 ms | max ms | stall s |\n| --- | --- | --- | --- | --- | --- |")
        groups = {}
        for r in svc:
            groups.setdefault((r["scenario"], key(r)), []).append(r)
        for (sc, k), rs in sorted(groups.items()):
            cols = []
            for field, f in (("service_p99_ms", "{:.1f}"), ("service_max_ms", "{:.0f}"), ("service_stall_s", "{:.1f}")):
                xs = [r[field] for r in rs]
                cols.append(f.format(median(xs)) + (f" ({f.format(min(xs))}–{f.format(max(xs))})" if len(xs) > 1 else ""))
            print(f"| {sc} | {k} | {len(rs)} | " + " | ".join(cols) + " |")
    print("\nWhere the guest's time went (minutes of the cells' wall time, summed):\n")
    print(time_table(runs, scenarios))
    if a.plots:
        for p in plots(a.results, runs, os.path.dirname(os.path.abspath(a.results))):
            print(f"\nwrote {p}", file=sys.stderr)


if __name__ == "__main__":
    main()
