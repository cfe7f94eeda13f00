#!/usr/bin/env python3
"""Generates a realistic, valid mmp policy with exactly N rules (deterministic).

The shape is that of a large fleet policy: global settings, a protect list,
file-level constants and a few unscoped rules, then one `in` block per
service (4..12 rules each) whose patterns name that service only, so the
scopes are pairwise disjoint. Every construct of the language appears:
scopes with `*`, `**` and glob components, several patterns per scope, lets
at file and scope level, protects, every action and every event, `for`,
`cooldown`, `at most`, `unless`, log interpolation, implicit wholes
(`memcg.usage > 90%`, whole on either side), `rate()`, arithmetic that
constant-folds, `not`/`and`/`or`, parentheses, comments.

The policy is meant to pass `mmpc check` with no diagnostic at all:
- contradictory actions (`anon` vs `file`, `throttle` vs `unthrottle`) only
  ever meet in disjoint scopes: each service picks one reclaim preference
  and one of throttle/unthrottle, and unscoped rules (which overlap every
  scope) use neither;
- every `kill` has a `for` or a `cooldown` of at least 1s;
- `limit to` is enabled with `set allow_limit = true`;
- no condition folds to a constant; shares stay within 0..100%.

The output depends only on (N, seed): the same arguments give the same bytes.

usage: gen_policy.py N [--seed S] [-o FILE]
"""

import argparse
import random
import sys

# Rules outside any `in` block: a fleet-wide safety net. They overlap every
# scope, so they use neither a reclaim preference nor throttle/unthrottle.
TOP_TEMPLATES = [
    lambda g: f"when memcg.usage > {g.pct(93, 99)} for {g.dur_long()} kill largest process",
    lambda g: f"when memcg.pressure > critical for hold reclaim big_step",
    lambda g: ('on oom log "oom in {memcg.path}: victim {oom.victim.pid}, '
               'rss {oom.victim.rss}, limit {memcg.max}"'),
    lambda g: (f"when system.memory.available < {g.pct(2, 6)} for {g.dur_short()} "
               f"kill largest cgroup at most 1 per 1min"),
    lambda g: ('when system.swap.free < 10% and system.pressure.full > 20% '
               'log "swap low: {system.swap.free} of {system.swap.total} free" cooldown 1min'),
    lambda g: f"when memcg.swap > {g.pct(85, 95)} limit to memcg.usage + {g.mib(128, 512)} cooldown 10min",
    lambda g: f"on cgroup_created log \"new cgroup {{memcg.path}} (max {{memcg.max}}, high {{memcg.high}})\"",
    lambda g: f"when rate(memcg.usage) > burst and memcg.usage > {g.pct(70, 90)} reclaim 1% at most 1_000 per 1h",
]


def scope_templates():
    """Rules inside a service's scope; `s` holds the service's choices."""
    return [
        lambda g, s: f"when memcg.pressure > local_hot reclaim {s.which} first",
        lambda g, s: (f"when memcg.pressure.full > {g.pct(15, 30)} for {g.dur_short()} "
                      f"reclaim {g.pct(2, 8)} of memcg.usage {s.which} only"),
        lambda g, s: (f"when memcg.usage > {g.pct(85, 92)} of memcg.max throttle to {g.pct(93, 97)} of memcg.max"
                      if s.throttles else
                      f"when memcg.pressure.some.avg60 < calm and memcg.usage < {g.pct(40, 60)} unthrottle cooldown 1min"),
        lambda g, s: (f"when system.swap.free < {g.pct(5, 15)} and memcg.pressure.full > {g.pct(40, 60)} "
                      f"for {g.dur_short()} kill largest process"),
        lambda g, s: (f"when memcg.usage > {g.pct(80, 90)} reclaim local_step {s.which} first, "
                      f"log \"{{memcg.path}}: usage {{memcg.usage}} of {{memcg.max}}, reclaiming {s.which}\""),
        lambda g, s: f"when rate(memcg.usage) > {g.mib(20, 80)} / 1s for 10s reclaim 2 * {g.mib(16, 64)}",
        lambda g, s: f"when memcg.events.oom_kill > {g.count(1, 5)} kill oldest cgroup cooldown 5min at most 1 per 10min",
        lambda g, s: (f"when memcg.swap > {g.pct(50, 70)} and not (memcg.pressure < {g.pct(5, 15)}) "
                      f"reclaim {s.which} first unless system.memory.available > {g.pct(30, 50)}"),
        lambda g, s: ('on oom log "oom under {memcg.path}: pid {oom.victim.pid} '
                      'used {oom.victim.rss} (\\"{{victim}}\\")"'),
        lambda g, s: f"on reclaim when reclaim.order >= {g.count(2, 5)} reclaim {g.mib(8, 32)} {s.which} first at most 10 per 1s",
        lambda g, s: (f"on pressure when memcg.pressure.full > {g.pct(30, 50)} throttle to memcg.usage - {g.mib(32, 128)} cooldown 30s"
                      if s.throttles else
                      f"on pressure when memcg.pressure.full > {g.pct(30, 50)} reclaim 1% {s.which} first cooldown 30s"),
        lambda g, s: 'on cgroup_created log "joined {memcg.path}: low {memcg.low}, min {memcg.min}"',
        lambda g, s: (f"when memcg.usage - memcg.low > {g.mib(256, 1024)} and memcg.pressure.some.avg300 > {g.pct(10, 20)} "
                      f"for 1min limit to {g.pct(90, 98)} of memcg.max at most 2 per 1h"),
        lambda g, s: ('when memcg.events.high >= 100 or memcg.events.max > 0 '
                      'log "{memcg.path} hit memory.high {memcg.events.high} times, max {memcg.events.max}" cooldown 1min'),
        lambda g, s: f"when {g.pct(80, 95)} < memcg.usage for {g.dur_long()} kill youngest process cooldown 1min unless memcg.events.oom > 0",
        lambda g, s: f"when memcg.pressure.full.avg10 > {g.pct(60, 80)} for {g.dur_short()} kill growing cgroup at most 1 per 5min",
        lambda g, s: (f"when rate(memcg.swap) > {g.mib(5, 20)} / 1s and memcg.swap > {g.pct(20, 40)} of memcg.swap.max "
                      f"reclaim {g.mib(16, 64)} {s.which} only"),
        lambda g, s: ("when memcg.usage > memcg.high - 64MiB and memcg.high < 4GiB throttle to memcg.high - 32MiB"
                      if s.throttles else
                      "when memcg.usage < memcg.high / 2 and memcg.pressure.some < calm unthrottle cooldown 5min"),
        lambda g, s: f"when system.pressure.some.avg60 > {g.pct(30, 50)} reclaim 2.5% {s.which} first cooldown 10s",
        lambda g, s: (f"when (memcg.pressure.some.avg10 > local_hot or memcg.events.low > {g.count(5, 20)}) "
                      f"and memcg.usage >= {g.gib()} reclaim {s.which} first cooldown hold"),
    ]


class Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)

    def pct(self, lo, hi):
        v = self.r.randint(lo * 2, hi * 2) / 2  # halves: 57.5%
        return f"{v:g}%"

    def mib(self, lo, hi):
        return f"{self.r.randint(lo // 8, hi // 8) * 8}MiB"

    def gib(self):
        return self.r.choice(["512MiB", "1GiB", "1.5GiB", "2GiB", "4GiB"])

    def count(self, lo, hi):
        return str(self.r.randint(lo, hi))

    def dur_short(self):
        return self.r.choice(["5s", "10s", "15s", "20s", "30s", "1500ms"])

    def dur_long(self):
        return self.r.choice(["30s", "45s", "1min", "2min"])


class Deck:
    """Deals template indices so that every block of len(templates) draws
    holds each template once: small policies still mix every construct."""

    def __init__(self, n, rng):
        self.n, self.rng, self.cards = n, rng, []

    def draw(self):
        if not self.cards:
            self.cards = list(range(self.n))
            self.rng.shuffle(self.cards)
        return self.cards.pop()


class Service:
    def __init__(self, which, throttles):
        self.which, self.throttles = which, throttles


def scope_patterns(g, i):
    svc = f"svc-{i:05d}"
    shapes = [
        [f'"/workload.slice/{svc}/*"'],
        [f'"/workload.slice/{svc}/**"'],
        [f'"/batch.slice/team-{i:05d}/job-*"'],
        [f'"/workload.slice/{svc}.service"'],
        [f'"/workload.slice/{svc}/*"', f'"/canary.slice/{svc}/*"'],
        [f'"/workload.slice/{svc}/**"', f'"/batch.slice/team-{i:05d}/*-worker"'],
    ]
    return shapes[i % len(shapes)]


def generate(n_rules, seed):
    g = Gen(seed)
    out = []
    emit = out.append
    emit(f"# Generated by bench/gen_policy.py: {n_rules} rules, seed {seed}. Do not edit.")
    emit(f"policy fleet_{n_rules}")
    emit("")
    emit("set interval = 1s")
    emit("set dry_run = false")
    emit("set reclaim_step = 64MiB")
    emit("set allow_limit = true")
    emit("set max_actions_per_second = 20")
    emit("set pressure_trigger = 15%")
    # The worst case grows with the rules (E0400 counts the subprograms a
    # program calls): about 1,000 instructions a rule leaves room.
    emit(f"set insn_budget = {min(1_000_000, max(8_192, 1_000 * n_rules)):_}")
    emit("")
    emit('protect "/system.slice/sshd.service", "/system.slice/systemd-journald.service"')
    emit('protect "/init.scope"')
    emit("")
    emit("let critical = 85%")
    emit("let calm = 5%")
    emit("let hold = 30s")
    emit("let big_step = 2 * 128MiB")
    emit("let burst = 200MiB / 1s")
    emit("")

    n_top = max(1, n_rules // 12)
    n_scoped = n_rules - n_top
    top_deck = Deck(len(TOP_TEMPLATES), g.r)
    templates = scope_templates()
    deck = Deck(len(templates), g.r)

    emit("# Fleet-wide safety net: every memcg but the root and the protected.")
    top_written = 0
    # Half of the unscoped rules first, the rest at the end of the file.
    for _ in range(n_top - n_top // 2):
        emit(TOP_TEMPLATES[top_deck.draw()](g))
        top_written += 1
    emit("")

    written = 0
    svc = 0
    protect_every = 8  # a protected database child in one service of 8
    while written < n_scoped:
        size = min(g.r.randint(4, 12), n_scoped - written)
        s = Service(g.r.choice(["anon", "file"]), g.r.random() < 0.5)
        emit(f"# service {svc:05d}: prefers {s.which} reclaim, "
             f"{'throttles near its limit' if s.throttles else 'unthrottles when calm'}")
        if svc % protect_every == 3:
            emit(f'protect "/workload.slice/svc-{svc:05d}/db-primary"')
        emit(f"in {', '.join(scope_patterns(g, svc))} {{")
        emit(f"  let local_hot = {g.pct(50, 70)}")
        if svc % 2 == 0:
            emit(f"  let local_step = {g.mib(16, 96)}")
        else:
            emit(f"  let local_step = {g.pct(1, 4)}")
        for _ in range(size):
            emit("  " + templates[deck.draw()](g, s))
        emit("}")
        emit("")
        written += size
        svc += 1

    emit("# Last resorts.")
    while top_written < n_top:
        emit(TOP_TEMPLATES[top_deck.draw()](g))
        top_written += 1
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("rules", type=int, help="number of rules (at least 1)")
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("-o", "--output", help="output file (default: stdout)")
    a = ap.parse_args()
    if a.rules < 1:
        ap.error("rules must be at least 1")
    text = generate(a.rules, a.seed)
    if a.output:
        with open(a.output, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
