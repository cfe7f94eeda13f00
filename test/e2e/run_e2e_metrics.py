#!/usr/bin/env python3
"""End-to-end: `mmrun load --metrics` scraped by a real Prometheus.

mmrun runs a kill policy over a memory cgroup tree of its own with
`--metrics 127.0.0.1:0` (a free port, which its log names). Checked:
- a live scrape passes `promtool check metrics` (before and after a kill),
  holds every metric docs/runtime.md lists, the object's SHA-256, the
  cgroups in scope, and the kernel's run counts of the walk program;
- the OpenMetrics answer, when asked for, ends with `# EOF`;
- Debian's `prometheus`, started on loopback with a scrape config pointing
  at mmrun, scrapes it (target up); after a hog is killed, a PromQL query
  to its HTTP API returns the kill, its latency and the firing;
- the kill's record and `mmrun status` carry the candidate table, and a
  dry-run cgroup kill's table names each leaf and why;
- every query of the Grafana dashboard runs on that Prometheus, whose
  answers scripts/render-dashboard draws (to PNG with --render-to);
- SIGHUP moves mmp_last_reload_timestamp_seconds; a bad address exits 2,
  a port in use 1, both with a message; without --metrics nothing listens.
Prints SKIPPED: reason where BPF, cgroups or Prometheus cannot be had.
usage: run_e2e_metrics.py BIN_DIR [--render-to PNG] [--soak SECONDS]
"""
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request

from run_e2e import (alive, check, compile_policy, failures, remove_cgroups, skip, start_hog, stop_hogs,  # noqa: E402
                     workspace)
BIN = sys.argv[1]
RENDER_TO = sys.argv[sys.argv.index("--render-to") + 1] if "--render-to" in sys.argv else None
# --soak SECONDS: before drawing, a new hog every 20 s for that long (more
# data for the picture in docs/fleet.md; the suite does not use it).
SOAK = int(sys.argv[sys.argv.index("--soak") + 1]) if "--soak" in sys.argv else 0
MMPC, MMRUN = (os.path.join(BIN, n) for n in ("mmpc", "mmrun"))
SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

METRICS = ["mmp_rule_evaluations_total", "mmp_rule_fired_total", "mmp_decisions_total",
           "mmp_action_latency_seconds_bucket", "mmp_action_latency_seconds_sum", "mmp_action_latency_seconds_count",
           "mmp_bpf_run_time_seconds_total", "mmp_bpf_runs_total", "mmp_cgroups_watched", "mmp_policy_info",
           "mmp_last_reload_timestamp_seconds", "mmp_rule_decisions_lost_total", "mmp_pre_kill_hooks_total",
           "mmp_log_records_dropped_total"]


class Mmrun:
    """mmrun load in the background; its JSON log lines gathered by a thread."""

    def __init__(self, args):
        self.p = subprocess.Popen([MMRUN, "load", "--log-format=json", "--interval=500ms", *args],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.records = []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for line in self.p.stdout:
            if line.startswith("{"):
                self.records.append(json.loads(line))

    def wait_for(self, pred, seconds):
        end = time.time() + seconds
        while time.time() < end:
            found = [r for r in list(self.records) if pred(r)]
            if found:
                return found[-1]
            if self.p.poll() is not None:
                return None
            time.sleep(0.05)
        return None

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        try:
            self.p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        self.thread.join(timeout=5)
        err = self.p.stderr.read()
        if err.strip():
            print(err.strip())
        return self.p.returncode


def get(url, accept=None, timeout=10):
    req = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.status, r.headers.get("Content-Type", ""), r.read().decode()


def samples(text):
    """{(name, frozenset(labels)): value} of a text-format scrape."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$', line)
        if not m:
            out[("unparsed", line)] = None
            continue
        labels = frozenset(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        out[(m.group(1), labels)] = float(m.group(4))
    return out


def value(s, name, **labels):
    """The sum of the samples of `name` whose labels include `labels`."""
    want = set(labels.items())
    return sum(v for (n, l), v in s.items() if n == name and want <= set(l))


def promtool(text, what):
    r = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
    check(r.returncode == 0, f"promtool check metrics passes on {what}" +
          ("" if r.returncode == 0 else f": {r.stdout}{r.stderr}"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_prometheus(tmp, target):
    """Debian's prometheus on loopback, scraping `target` every second:
    (process, base URL), or a skip."""
    if not shutil.which("prometheus"):
        skip("no prometheus here (Debian package `prometheus`; scripts/setup installs it)")
    port = free_port()
    config = os.path.join(tmp, "prometheus.yml")
    with open(config, "w") as f:
        f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                "scrape_configs:\n  - job_name: mmrun\n    static_configs:\n"
                f"      - targets: ['{target}']\n")
    log = open(os.path.join(tmp, "prometheus.log"), "w")
    p = subprocess.Popen(["prometheus", f"--config.file={config}", f"--storage.tsdb.path={tmp}/tsdb",
                          f"--web.listen-address=127.0.0.1:{port}", "--web.enable-lifecycle"],
                         stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            if get(base + "/-/ready", timeout=2)[0] == 200:
                return p, base
        except OSError:
            pass
        if p.poll() is not None:
            break
        time.sleep(0.2)
    p.kill()
    p.wait()
    print(open(os.path.join(tmp, "prometheus.log")).read()[-2000:])
    check(False, "prometheus starts and says it is ready")
    return None, None


def promql(base, query):
    """The result vector of an instant query."""
    status, _, body = get(base + "/api/v1/query?" + urllib.parse.urlencode({"query": query}))
    j = json.loads(body)
    return j["data"]["result"] if j.get("status") == "success" else []


def eventually(fn, seconds):
    end = time.time() + seconds
    while True:
        got = fn()
        if got or time.time() > end:
            return got
        time.sleep(0.5)


def bad_addresses(obj):
    r = subprocess.run([MMRUN, "load", "--metrics", "::1:9464", obj], capture_output=True, text=True, timeout=30)
    check(r.returncode == 2 and "write an IPv6 address in brackets" in r.stderr,
          f"--metrics ::1:9464 exits 2 and says why ({r.returncode}: {r.stderr.strip()})")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = subprocess.run([MMRUN, "load", "--metrics", f"127.0.0.1:{port}", obj], capture_output=True, text=True,
                           timeout=30)
    check(r.returncode == 1 and f"cannot listen on 127.0.0.1 port {port}" in r.stderr,
          f"a port in use exits 1 and says so ({r.returncode}: {r.stderr.strip()})")


def explained_kills(tmp, base_rel, base, hogs, victim_pid, mmrun):
    """The kill's record and `mmrun status` carry the candidate table; a
    dry-run cgroup kill names each leaf and why it was passed over."""
    kill = next((r for r in mmrun.records if r.get("action") == "kill" and r.get("outcome") == "enacted"), {})
    rows = kill.get("candidates", [])
    check(bool(rows) and rows[0].get("candidate") == f"pid {victim_pid} (mmp_hog)" and rows[0].get("key") == "rss"
          and rows[0].get("verdict") == "victim" and rows[0].get("value", "").endswith("MiB"),
          f"the kill's record names its victim in the candidate table ({rows})")
    r = subprocess.run([MMRUN, "status", "--json"], capture_output=True, text=True)
    recent = json.loads(r.stdout)[0].get("recent", []) if r.returncode == 0 else []
    check(any(d.get("action") == "kill" and d.get("outcome") == "enacted" and d.get("candidates") for d in recent)
          and len(recent) <= 10, f"mmrun status shows the kill among the last decisions ({len(recent)})")
    text = subprocess.run([MMRUN, "status"], capture_output=True, text=True).stdout
    check("last decisions:" in text and f"pid {victim_pid} (mmp_hog) rss=" in text,
          "mmrun status prints the last decisions with the candidate table")

    ex = os.path.join(base, "ex")
    leaves = {n: os.path.join(ex, n) for n in ("a", "b", "keep", "empty")}
    for d in leaves.values():
        os.makedirs(d)
    try:
        for name, mib in (("a", 24), ("b", 8), ("keep", 8)):
            hogs.append(start_hog(leaves[name], mib))
        obj = compile_policy(tmp, "explain", f'policy explain\nprotect "{base_rel}/ex/keep"\n'
                             f'in "{base_rel}/ex" {{\n  when memcg.usage > 1MiB kill cgroup cooldown 10s\n}}\n')
        run = Mmrun(["--dry-run", obj])
        rec = run.wait_for(lambda r: r.get("action") == "kill", 20)
        run.stop()
        table = {c["candidate"]: (c.get("key"), c["verdict"]) for c in (rec or {}).get("candidates", [])}
        want = {f"{base_rel}/ex/a": ("usage", "victim"), f"{base_rel}/ex/b": ("usage", "ranked lower"),
                f"{base_rel}/ex/keep": (None, "protected"), f"{base_rel}/ex/empty": ("usage", "ranked lower")}
        check(table == want, f"a dry-run cgroup kill's table: the victim, the one ranked lower, the protected "
              f"leaf and the empty one, ranked last, never read for processes ({table})")
        check(rec is not None and rec.get("detail", "").startswith(f"would kill {base_rel}/ex/a "),
              f"and its detail names the cgroup it would kill ({rec and rec.get('detail')})")
    finally:
        stop_hogs(hogs)
        remove_cgroups(list(leaves.values()) + [ex])


def main():
    base_rel, base, dirs, tmp = workspace("mmp-e2e-metrics", "victim", "bystander")
    hogs, mmrun, prom = [], None, None
    try:
        obj = compile_policy(tmp, "metrics", f'policy metrics\nin "{base_rel}/*" {{\n'
                             f'  when memcg.usage > 64MiB for 1s kill largest process\n}}\n')
        if failures:
            return 1
        bystander = start_hog(dirs["bystander"], 8)
        hogs.append(bystander)

        # Without --metrics, nothing listens: no metrics record.
        plain = Mmrun([obj])
        started = plain.wait_for(lambda r: r.get("outcome") == "started", 20)
        time.sleep(0.5)
        plain.stop()
        check(started is not None and not any(r.get("outcome") == "metrics" for r in plain.records),
              "without --metrics, mmrun serves no metrics")

        mmrun = Mmrun(["--metrics", "127.0.0.1:0", obj])
        rec = mmrun.wait_for(lambda r: r.get("outcome") == "metrics", 20)
        check(rec is not None, f"mmrun logs where it serves metrics ({rec})")
        if rec is None:
            return 1
        url = rec["detail"].split()[-1]
        check(url.startswith("http://127.0.0.1:") and url.endswith("/metrics"), f"on loopback: {url}")
        target = url[len("http://"):-len("/metrics")]
        time.sleep(1.2)  # two walks

        status, ctype, text = get(url)
        check(status == 200 and ctype.startswith("text/plain; version=0.0.4"), f"/metrics answers ({status}, {ctype})")
        promtool(text, "a live scrape")
        s = samples(text)
        check(not any(n == "unparsed" for n, _ in s), "every line of the scrape parses")
        names = {n for n, _ in s}
        check(all(m in names for m in METRICS), f"every metric is there (missing: {sorted(set(METRICS) - names)})")
        rule = os.path.join(tmp, "metrics.mmp") + ":3"  # the rule's file:line, as mmpc was given the file
        check(value(s, "mmp_rule_evaluations_total", policy="metrics", rule=rule) >= 2,
              "mmp_rule_evaluations_total counts the walks' evaluations of the rule")
        sha = hashlib.sha256(open(obj, "rb").read()).hexdigest()
        check(value(s, "mmp_policy_info", policy="metrics", object_sha256=sha) == 1,
              "mmp_policy_info carries the object's SHA-256")
        check(value(s, "mmp_cgroups_watched", policy="metrics") == 2,
              f"mmp_cgroups_watched counts the two cgroups in scope ({value(s, 'mmp_cgroups_watched')})")
        check(value(s, "mmp_bpf_runs_total", policy="metrics", program="mmp_tick") >= 2 and
              value(s, "mmp_bpf_run_time_seconds_total", policy="metrics", program="mmp_tick") > 0,
              "the kernel's run count and time of mmp_tick are there (BPF statistics on)")
        check(value(s, "mmp_decisions_total", rule=rule, action="kill", outcome="enacted") == 0 and
              ("mmp_decisions_total", frozenset({("policy", "metrics"), ("rule", rule), ("action", "kill"),
                                                 ("outcome", "rate_limited")})) in s,
              "every outcome of the rule's kill is there at 0 before the first decision")
        loaded = value(s, "mmp_last_reload_timestamp_seconds", policy="metrics")
        check(abs(loaded - time.time()) < 30, f"mmp_last_reload_timestamp_seconds is the load's time ({loaded})")
        _, octype, om = get(url, accept="application/openmetrics-text;version=1.0.0,text/plain;q=0.5")
        check(octype.startswith("application/openmetrics-text") and om.endswith("# EOF\n")
              and "# TYPE mmp_rule_fired counter" in om and "# TYPE mmp_policy info" in om,
              "asked for OpenMetrics, it answers OpenMetrics")

        prom, purl = start_prometheus(tmp, target)
        if not prom:
            return 1
        up = eventually(lambda: promql(purl, 'up{job="mmrun"} == 1'), 20)
        check(bool(up), "Prometheus scrapes mmrun: the target is up")
        victim = start_hog(dirs["victim"], 128)
        hogs.append(victim)
        for _ in range(100):
            if not alive(victim):
                break
            time.sleep(0.1)
        check(not alive(victim), "the hog is killed")
        kills = eventually(lambda: promql(
            purl, 'mmp_decisions_total{policy="metrics",action="kill",outcome="enacted"} >= 1'), 20)
        check(len(kills) == 1 and kills[0]["metric"]["rule"] == rule,
              f"PromQL to Prometheus returns the kill, with its rule ({kills})")
        fired = promql(purl, 'increase(mmp_rule_fired_total{policy="metrics"}[1m]) > 0')
        check(bool(fired), f"increase() over the firings sees the kill's rule fire ({fired})")
        lat = eventually(lambda: promql(purl, 'mmp_action_latency_seconds_count{action="kill"} >= 1'), 10)
        q = promql(purl, 'histogram_quantile(0.5, mmp_action_latency_seconds_bucket{action="kill"})')
        check(bool(lat) and q and 0 < float(q[0]["value"][1]) <= 10,
              f"the kill's latency is in Prometheus ({q[0]['value'][1] if q else None} s at the median)")
        targets = json.loads(get(purl + "/api/v1/targets")[2])["data"]["activeTargets"]
        check(targets and targets[0]["health"] == "up" and not targets[0]["lastError"],
              f"Prometheus's last scrape had no error ({targets[0]['lastError'] if targets else 'no target'})")
        _, _, after = get(url)
        promtool(after, "the scrape after the kill")
        explained_kills(tmp, base_rel, base, hogs, victim.pid, mmrun)

        soaked = 0
        for _ in range(SOAK // 20):
            time.sleep(20)
            hog = start_hog(dirs["victim"], 96 + 16 * (soaked % 4))
            hogs.append(hog)
            for _ in range(100):
                if not alive(hog):
                    soaked += 1
                    break
                time.sleep(0.1)
        check(soaked == SOAK // 20, f"soak: each of {SOAK // 20} more hogs is killed ({soaked})")
        # The Grafana dashboard's panels, every query sent to this Prometheus.
        png = RENDER_TO or os.path.join(tmp, "dashboard.png")
        # Run as it is (#!/usr/bin/python3: Debian's, with python3-matplotlib).
        r = subprocess.run([os.path.join(SOURCE, "scripts", "render-dashboard"),
                            "--prometheus", purl, "--range", f"{max(2, SOAK // 60 + 2)}m", "--step", "2",
                            "--out", png],
                           capture_output=True, text=True)
        check(r.returncode == 0 and os.path.exists(png) and os.path.getsize(png) > 10000,
              f"the dashboard's queries all run and it renders to {png}" + (": " + r.stderr if r.returncode else ""))

        # A reload is a new load: its time moves.
        time.sleep(1.1)
        mmrun.p.send_signal(signal.SIGHUP)
        mmrun.wait_for(lambda r: r.get("outcome") == "reloaded", 20)
        again = value(samples(get(url)[2]), "mmp_last_reload_timestamp_seconds", policy="metrics")
        check(again > loaded, f"SIGHUP moves mmp_last_reload_timestamp_seconds ({loaded} -> {again})")
        rc = mmrun.stop()
        mmrun = None
        check(rc == 0, f"mmrun exits 0 on SIGTERM with --metrics (got {rc})")
        try:
            get(url, timeout=2)
            check(False, "after mmrun stops, nothing answers at its metrics address")
        except OSError:
            check(True, "after mmrun stops, nothing answers at its metrics address")
        bad_addresses(obj)
    finally:
        if mmrun:
            mmrun.stop()
        if prom:
            prom.terminate()
            try:
                prom.wait(timeout=20)
            except subprocess.TimeoutExpired:
                prom.kill()
                prom.wait()
        stop_hogs(hogs)
        remove_cgroups(list(dirs.values()) + [base])
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
