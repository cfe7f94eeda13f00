#!/usr/bin/env python3
"""The reclaim benchmark inside the cgroup v2 guest: every cell (workload,
contender, repetition) of config.json, one after another, each on a
machine set back to the same state (zram emptied, page cache dropped,
memory compacted, cgroups made anew).

A cell: start the service in /workload.slice/NAME.service (the layout
std/senpai and oomd's Senpai assume); fill it with a cold data set of
values about as compressible as real ones (a third random bytes, two
thirds text) that the load never touches; write the hot set; start the
load tool in /bench.slice/load on the hot set only; after LEAD_S start
the contender in /bench.slice/daemon; sample what the kernel reports
every SAMPLE_S (memory.current, memory.swap.current, zram's mm_stat,
memory.pressure, memory.stat's refaults) and every round the load tool
reports (ops/s, p50, p99); at the end of the load phase, optionally turn
the cold set hot (the load reads the cold keys) and watch latency come
back; stop the contender (cgroup.kill), the load and the service.

Writes OUT/cells.jsonl (one object per cell, as it ends) and
OUT/series/CELL.json (the samples, for the plots).
usage: reclaim_guest.py OUT_DIR   (PID 1's child: test/vm/guest-init.sh, mmp_program=)
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import traceback

OUT = sys.argv[1]
CONFIG = json.load(open(os.path.join(OUT, "config.json")))
HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.dirname(HERE)
sys.path.insert(0, BENCH)
sys.path.insert(0, os.path.join(BENCH, "arena"))
import peers  # noqa: E402  (oomd, as the arena runs it)
from guestlib import (MiB, Mmrun, NoDaemon, become_harness, cgdir, keyed, kill_cgroup, make_cgroup,  # noqa: E402
                      pressure, read, remove_tree, run_cells, save_cell, set_swap, settle_memory, spawn,
                      stop_contender, unshield, write)

BIN = CONFIG["bin"]
TIMING = CONFIG["timing"]
LOAD_CG = "/bench.slice/load"
DAEMON_CG = "/bench.slice/daemon"
HARNESS_CG = "/bench.slice/harness"
SAMPLE_S = 1.0
LEAD_S = 5.0        # the load runs this long before the contender starts: the hot set is active
ZRAM_MIB = 1024
PAIR_WAIT_S = 900   # a paired run: the longest the other guest's fill may take (postgresql's ~3 min, slowed)
HUGE_ORDER = 9      # fragmentation: the share of free memory in blocks too small for 2 MiB


# --- what the kernel reports ---------------------------------------------------------
def zram():
    """zram's mm_stat: orig_data_size, compr_data_size, mem_used_total (bytes)."""
    try:
        f = read("/sys/block/zram0/mm_stat").split()
        return int(f[0]), int(f[1]), int(f[2])
    except (OSError, IndexError):
        return 0, 0, 0


def buddyinfo():
    """Free blocks by order, summed over the zones."""
    orders = [0] * 11
    for line in read("/proc/buddyinfo").splitlines():
        counts = [int(x) for x in line.split()[4:]]
        for k, n in enumerate(counts[:11]):
            orders[k] += n
    return orders


def fragmentation(orders):
    """The share of free memory in blocks smaller than 2 MiB (order 9):
    0 when every free page could back a huge page, 1 when none could."""
    free = sum(n << k for k, n in enumerate(orders))
    big = sum(n << k for k, n in enumerate(orders) if k >= HUGE_ORDER)
    return round(1 - big / free, 4) if free else None


def mean_of(rounds, key):
    """The mean of a per-round figure (each round is as many requests)."""
    xs = [r[key] for r in rounds if r.get(key) is not None]
    return round(sum(xs) / len(xs), 3) if xs else None


# --- the services -------------------------------------------------------------------
def value_maker(size):
    """Values of `size` bytes, a third random and two thirds text: zram
    compresses them about as well as real cached data, not as well as
    the zero-padded values of redis's DEBUG POPULATE."""
    pool = os.urandom(1 << 20)
    text = (b"GET /api/v2/items?id=%d HTTP/1.1 Host: shop.example user-agent: bench " * 64)
    rand = size // 3

    def make(i):
        at = (i * 7919 * rand) % (len(pool) - rand)
        return pool[at:at + rand] + text[i % 50:i % 50 + size - rand]
    return make


def wait_port(port, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port} after {timeout} s")


def fill_pipelined(port, count, command, marker, answer, what, batch=256):
    """Sends command(i) for every i below count, `batch` at a time, each
    batch followed by `marker`; waits for `answer` after each batch (the
    server has then done the batch). An error reply ends the fill."""
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    for first in range(0, count, batch):
        buf = bytearray()
        for i in range(first, min(first + batch, count)):
            buf += command(i)
        s.sendall(buf + marker)
        got = b""
        while not got.endswith(answer):
            chunk = s.recv(65536)
            if not chunk or b"ERR" in chunk:
                raise RuntimeError(f"{what} refused the cold set: {chunk[:200]!r}")
            got += chunk
    s.close()


class Service:
    """A service in /workload.slice/NAME.service; `p`: its parameters
    (cold_keys, hot_keys, value_bytes, round_requests). A twin (run_reclaim.py
    --twin) is a second instance of it in /twin.slice, outside every
    contender's reach, on the next port."""
    name = None

    def __init__(self, p, twin=False):
        self.p, self.twin = p, twin
        self.slice = "/twin.slice" if twin else "/workload.slice"
        self.cg = f"{self.slice}/{self.name}.service"
        self.port = type(self).port + (1 if twin else 0)


class Redis(Service):
    """redis-server, no persistence; the load is redis-benchmark on the
    hot keys (key:NNNNNNNNNNNN, -r HOT), SET and GET, 8 clients."""
    name = "redis"
    port = 6379
    tools = ("redis-server", "redis-benchmark")

    def start(self):
        return spawn(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                      "--appendonly", "no", "--protected-mode", "no", "--dir", "/tmp"], self.cg,
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def populate(self):
        """The cold set: cold:NNNNNNNNNNNN, pipelined SETs, each batch
        ended by a PING whose PONG answers it."""
        make, size = value_maker(self.p["value_bytes"]), self.p["value_bytes"]
        fill_pipelined(self.port, self.p["cold_keys"],
                       lambda i: b"*3\r\n$3\r\nSET\r\n$17\r\ncold:%012d\r\n$%d\r\n" % (i, size) + make(i) + b"\r\n",
                       b"*1\r\n$4\r\nPING\r\n", b"+PONG\r\n", "redis")

    def bench(self, extra):
        return ["stdbuf", "-oL", "redis-benchmark", "-h", "127.0.0.1", "-p", str(self.port), "-c", "8",
                "-n", str(self.p["round_requests"]), "-d", str(self.p["value_bytes"]), "-l", "--csv"] + extra

    def warm_argv(self):
        return ["redis-benchmark", "-h", "127.0.0.1", "-p", str(self.port), "-c", "8", "-q", "-t", "set",
                "-r", str(self.p["hot_keys"]), "-n", str(3 * self.p["hot_keys"]), "-d", str(self.p["value_bytes"])]

    def load_argv(self):
        return self.bench(["-r", str(self.p["hot_keys"]), "-t", "set,get"])

    def return_argv(self):
        return self.bench(["-r", str(self.p["cold_keys"]), "GET", "cold:__rand_int__"])

    @staticmethod
    def parse(line):
        """A CSV line of redis-benchmark: test, rps, avg, min, p50, p95, p99, max."""
        f = [x.strip('"') for x in line.strip().split(",")]
        if len(f) != 8 or f[0] == "test":
            return None
        return {"test": f[0], "rps": float(f[1]), "avg_ms": float(f[2]), "p50_ms": float(f[4]),
                "p99_ms": float(f[6])}


class Memcached(Service):
    """memcached, 2 threads; the load is memcaslap (memaslap) on its own
    hot window of keys (8 connections x WINDOW keys, given in thousands), 90% get, 10% set,
    reporting every 2 s. memaslap prints no percentiles per period, only
    its mean and maximum: p50 and p99 are left empty and `avg_ms` is the
    latency figure."""
    name = "memcached"
    port = 11211
    tools = ("memcached", "memcaslap")

    def __init__(self, p, twin=False):
        super().__init__(p, twin)
        self.cfg = os.path.join(OUT, "memaslap.cfg")
        with open(self.cfg, "w") as f:
            f.write(f"key\n16 16 1\nvalue\n{p['value_bytes']} {p['value_bytes']} 1\ncmd\n0 0.1\n1 0.9\n")

    def start(self):
        return spawn(["memcached", "-p", str(self.port), "-l", "127.0.0.1", "-m", "2048", "-t", "2", "-U", "0",
                      "-u", "root"], self.cg,
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def populate(self):
        """The cold set: cold:NNNNNNNNNNNN, `set ... noreply`, each batch
        ended by a meta no-op whose MN answers it."""
        make, size = value_maker(self.p["value_bytes"]), self.p["value_bytes"]
        fill_pipelined(self.port, self.p["cold_keys"],
                       lambda i: b"set cold:%012d 0 0 %d noreply\r\n" % (i, size) + make(i) + b"\r\n",
                       b"mn\r\n", b"MN\r\n", "memcached")

    # What memcached itself reads of its items: its LRU crawler walks every
    # item of a slab class once a minute at first (a minute longer after
    # each walk that found nothing to expire, up to an hour), and a hash
    # table expansion rehashes every item. Both fault reclaimed items
    # back; sampled with the cgroup's refaults to tell them apart.
    STATS = ("crawler_items_checked", "lru_crawler_starts", "hash_power_level", "hash_is_expanding",
             "curr_items", "lru_maintainer_juggles")

    def stats_now(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"stats\r\n")
                got = b""
                while not got.endswith(b"END\r\n"):
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    got += chunk
        except OSError:
            return None
        fields = dict(line.split()[1:3] for line in got.decode().splitlines() if line.startswith("STAT "))
        return [int(fields[k]) if k in fields else None for k in self.STATS]

    def extra_figures(self, t_from, t_to):
        last = self.stats_now()
        return {"memcached_stats": dict(zip(self.STATS, last)) if last else None}

    def bench(self, seconds):
        return ["stdbuf", "-oL", "memcaslap", "-s", f"127.0.0.1:{self.port}", "-F", self.cfg, "-T", "2", "-c", "8",
                "-w", f"{max(1, self.p['hot_keys'] // 8000)}k", "-t", f"{seconds}s", "-S", "2s"]

    def warm_argv(self):
        return None  # memaslap draws its keys anew each run: its load writes its own hot set

    def load_argv(self):
        return self.bench(TIMING["load_s"] + 60)

    def return_argv(self):
        return None  # memaslap cannot be pointed at the cold keys

    def parse(self, line):
        """The `Period` line after a `Total Statistics` heading: Time(s),
        Ops, TPS, Net, Get_miss, Min, Max, Avg (us)."""
        if line.startswith("Total Statistics"):
            self._total = True
            return None
        f = line.split()
        if not getattr(self, "_total", False) or not f or f[0] != "Period":
            return None
        self._total = False
        return {"test": "total", "rps": float(f[3]), "n": int(f[2]), "avg_ms": float(f[8]) / 1000,
                "p50_ms": None, "p99_ms": None}


class Postgres(Service):
    """PostgreSQL 15 (Debian's), its data directory on the guest's tmpfs,
    shared_buffers far larger than the queried working set: pgbench's
    tables at scale `scale` (100,000 accounts each) are loaded whole into
    shared_buffers (pg_prewarm), and the load, 8 clients, reads and updates
    the balance of one of the first `hot_rows` accounts per transaction.
    pgbench reports its mean latency every 2 s; p50 and p99 come from its
    per-transaction log (a tenth of the transactions, sampled)."""
    name = "postgresql"
    port = 5432
    tools = ("pgbench", "psql")
    bindir = "/usr/lib/postgresql/15/bin"

    def __init__(self, p, twin=False):
        super().__init__(p, twin)
        self.root = "/tmp/pg-twin" if twin else "/tmp/pg"
        self.data, self.logs = self.root + "/data", self.root + "/logs"
        self.script = os.path.join(self.root, "hot.sql")

    @staticmethod
    def as_postgres(argv):
        return ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--"] + argv

    def start(self):
        shutil.rmtree(self.root, ignore_errors=True)
        os.makedirs(self.logs)
        with open(self.script, "w") as f:
            f.write("\\set aid random(1, :rows)\n"
                    "UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid = :aid;\n"
                    "SELECT abalance FROM pgbench_accounts WHERE aid = :aid;\n")
        subprocess.run(["chown", "-R", "postgres:postgres", self.root], check=True)
        # initdb in the service's cgroup: its files on the tmpfs are charged there.
        init = spawn(self.as_postgres([f"{self.bindir}/initdb", "-D", self.data, "-A", "trust", "-U", "postgres",
                                       "--no-sync", "--no-instructions"]), self.cg,
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if init.wait(timeout=300) != 0:
            raise RuntimeError(f"initdb failed: {init.stderr.read()[-500:]}")
        return spawn(self.as_postgres([f"{self.bindir}/postgres", "-D", self.data, "-p", str(self.port),
                                       "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.root}",
                                       "-c", f"shared_buffers={self.p['shared_buffers_mib']}MB",
                                       "-c", "fsync=off", "-c", "synchronous_commit=off",
                                       "-c", "full_page_writes=off", "-c", "max_connections=20",
                                       "-c", "autovacuum=off"]), self.cg,
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def client(self, argv):
        return self.as_postgres(argv + ["-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "postgres"])

    def populate(self):
        """pgbench's tables, then every page of the accounts table and its
        index in shared_buffers: the cold set."""
        for argv in (["pgbench", "-i", "-q", "-s", str(self.p["scale"])],
                     ["psql", "-q", "-v", "ON_ERROR_STOP=1", "-c", "CREATE EXTENSION pg_prewarm",
                      "-c", "SELECT pg_prewarm('pgbench_accounts'), pg_prewarm('pgbench_accounts_pkey')"]):
            r = spawn(self.client(argv), self.cg, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                      stderr=subprocess.PIPE, text=True)
            if r.wait(timeout=900) != 0:
                raise RuntimeError(f"{argv[0]} failed: {r.stderr.read()[-500:]}")

    def bench(self, rows, seconds, log):
        argv = ["pgbench", "-n", "-c", "8", "-j", "2", "-T", str(seconds), "-P", "2", "-f", self.script,
                "-D", f"rows={rows}"]
        if log:
            argv += ["-l", "--sampling-rate=0.1", f"--log-prefix={self.logs}/{log}"]
        # pgbench reports progress on stderr: the load tool reads stdout.
        return ["sh", "-c", 'exec "$@" 2>&1', "sh"] + self.client(argv)

    def warm_argv(self):
        return None  # the prewarm read everything; the load's first seconds touch the hot rows

    def load_argv(self):
        return self.bench(self.p["hot_rows"], TIMING["load_s"] + 60, "load")

    def return_argv(self):
        return self.bench(100000 * self.p["scale"], TIMING["return_s"] + 30, None)

    @staticmethod
    def parse(line):
        """`progress: 4.0 s, 2745.5 tps, lat 2.906 ms stddev 1.210, 0 failed`."""
        f = line.replace(",", "").split()
        if len(f) < 7 or f[0] != "progress:" or f[4] != "tps" or f[5] != "lat":
            return None
        return {"test": "hot", "rps": float(f[3]), "n": int(float(f[3]) * 2), "avg_ms": float(f[6]),
                "p50_ms": None, "p99_ms": None}

    def latencies(self, t_from, t_to):
        """p50 and p99 (ms) of the logged transactions that ended in
        [t_from, t_to] (epoch seconds): `client tx latency_us script
        epoch_s epoch_us` per line."""
        lat = []
        for path in os.listdir(self.logs):
            with open(os.path.join(self.logs, path)) as f:
                for line in f:
                    w = line.split()
                    if len(w) >= 6 and t_from <= int(w[4]) + int(w[5]) / 1e6 <= t_to:
                        lat.append(int(w[2]) / 1000)
        if len(lat) < 100:
            return None, None
        lat.sort()
        return round(lat[len(lat) // 2], 3), round(lat[min(len(lat) - 1, int(len(lat) * 0.99))], 3)


class Churn(Redis):
    """Container churn: the redis service and its load as above, beside
    short-lived jobs, each in a cgroup of its own made for it and removed
    after it (/workload.slice/job-N.scope, in the scope std/senpai and
    std/proactive watch): every `job_every_s` a job starts, a stress-ng
    worker writing `job_mib` MiB over and over for `job_s` seconds. Their
    figures: jobs finished, and their run time (p50, p99): a policy that
    reclaims a job's hot pages slows the job."""
    name = "churn"
    tools = Redis.tools + ("stress-ng",)

    def __init__(self, p, twin=False):
        super().__init__(p, twin)
        self.jobs, self.stop_jobs = [], threading.Event()

    def begin_load(self):
        self.stop_jobs.clear()
        threading.Thread(target=self._churn, daemon=True).start()

    def end_load(self):
        self.stop_jobs.set()

    def _churn(self):
        n = 0
        while not self.stop_jobs.is_set():
            rel = f"{self.slice}/job-{n}.scope"
            make_cgroup(rel)
            t = time.time()
            proc = spawn(["stress-ng", "--vm", "1", "--vm-bytes", f"{self.p['job_mib']}M", "--vm-keep",
                          "--timeout", f"{self.p['job_s']}s", "--temp-path", "/tmp"], rel,
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         cwd="/tmp")
            threading.Thread(target=self._reap, args=(proc, rel, t), daemon=True).start()
            n += 1
            self.stop_jobs.wait(self.p["job_every_s"])

    def _reap(self, proc, rel, started):
        out, _ = proc.communicate()
        self.jobs.append({"start": started, "end": time.time(), "ok": proc.returncode == 0,
                          "why": None if proc.returncode == 0 else f"exit {proc.returncode}: {out.strip()[-300:]}"})
        remove_tree(rel)

    def extra_figures(self, t_from, t_to):
        done = sorted(j["end"] - j["start"] for j in self.jobs if j["ok"] and t_from <= j["end"] <= t_to)
        failed = [j for j in self.jobs if not j["ok"] and t_from <= j["end"] <= t_to]
        r = {"jobs_done": len(done), "jobs_failed": len(failed), "job_p50_s": None, "job_p99_s": None,
             "job_failure": failed[0]["why"] if failed else None}
        if done:
            r["job_p50_s"] = round(done[len(done) // 2], 2)
            r["job_p99_s"] = round(done[min(len(done) - 1, int(len(done) * 0.99))], 2)
        return r


WORKLOADS = {"redis": Redis, "memcached": Memcached, "postgresql": Postgres, "churn": Churn}


class LoadTool:
    """A load tool in /bench.slice/load; each report line it prints is a
    round, timed as it arrives."""

    def __init__(self, argv, parse, requests):
        self.argv, self.parse, self.requests = argv, parse, requests
        self.rounds, self.proc = [], None

    def start(self):
        self.proc = spawn(self.argv, LOAD_CG, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, text=True)
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        for line in self.proc.stdout:
            r = self.parse(line)
            if r:
                r["t"] = time.time()
                r.setdefault("n", self.requests)
                self.rounds.append(r)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def window_rounds(load, t_from, t_to):
    """The load tool's rounds that ended in [t_from, t_to] (epoch seconds),
    and their ops/s: their requests over the time from the round before
    the window (or its start) to the last of them."""
    rounds = [r for r in load.rounds if t_from <= r["t"] <= t_to]
    before = [r for r in load.rounds if r["t"] < t_from]
    span = rounds[-1]["t"] - (before[-1]["t"] if before else t_from) if rounds else 0
    return rounds, (round(sum(r["n"] for r in rounds) / span, 1) if span > 0 else None)


def latencies(svc, rounds, t_from, t_to):
    """p50 and p99 (ms) over the window: from the service's own log where
    it keeps one (postgresql), else the mean of the load tool's rounds."""
    if hasattr(svc, "latencies"):
        return svc.latencies(t_from, t_to)
    return mean_of(rounds, "p50_ms"), mean_of(rounds, "p99_ms")


# --- contenders ---------------------------------------------------------------------
class FixedHigh:
    """memory.high at a share of the service's footprint once filled: what
    a careful operator sets after looking at the service."""

    def __init__(self, service_cg, share):
        self.path, self.share = cgdir(service_cg) + "/memory.high", share

    def start(self, cgroup_dir):
        usage = int(read(os.path.dirname(self.path) + "/memory.current"))
        self.value = int(usage * self.share) & ~0xFFF
        write(self.path, self.value)

    def stop(self):
        write(self.path, "max")

    def log(self):
        return [f"memory.high = {self.value}"]


class OomdSenpai(peers.Oomd):
    """Debian's oomd 0.5.0 with its Senpai plugin on the service, every
    argument at the plugin's default: a ruleset whose detector always
    fires (`continue`) and whose action is `senpai`."""

    def __init__(self, service_cg):
        super().__init__("defaults", {})
        self.service_cg = service_cg

    def prepare(self):
        ruleset = {"rulesets": [{
            "name": "senpai",
            "detectors": [["always", {"name": "continue", "args": {}}]],
            "actions": [{"name": "senpai", "args": {"cgroup": self.service_cg.lstrip("/")}}]}]}
        self.conf = os.path.join(self.rundir, "oomd.json")
        with open(self.conf, "w") as f:
            json.dump(ruleset, f, indent=1)
        self.kmsg = os.path.join(self.rundir, "kills")
        self.note(f"config {self.conf}: {json.dumps(ruleset)}")
        r = subprocess.run(["/usr/bin/oomd", "--check-config", self.conf], capture_output=True, text=True)
        if r.returncode != 0:
            raise peers.PeerError(f"oomd rejects its Senpai configuration:\n{r.stdout}{r.stderr}")


def contender_for(cell, service_cg):
    kind = cell["contender"]
    if kind == "none":
        return NoDaemon()
    if kind == "fixed":
        return FixedHigh(service_cg, CONFIG["fixed_share"])
    if kind == "oomd-senpai":
        return OomdSenpai(service_cg)
    return Mmrun(BIN, cell["objects"])


# --- one cell -----------------------------------------------------------------------
class Cell:
    def __init__(self, cell):
        self.cell = cell
        self.name = f"{cell['workload']}.{cell['contender']}.{cell['rep']}"
        if cell.get("base"):  # a paired run's none: one cell per partner
            self.name += f".vs-{cell['partner']}"
        self.svc = WORKLOADS[cell["workload"]](CONFIG["workloads"][cell["workload"]])
        self.contender = contender_for(cell, self.svc.cg)
        self.samples, self.load, self.ret, self.proc = [], None, None, None
        self.svc_stats = []  # the service's own counters, where it has some (memcached)
        # --twin: the same service beside it, untouched, under its own load
        # started in the same second: its figures are the cell's baseline.
        self.twin = (WORKLOADS[cell["workload"]](CONFIG["workloads"][cell["workload"]], twin=True)
                     if CONFIG.get("twin") else None)
        self.twin_samples, self.twin_load, self.twin_proc = [], None, None

    def prepare(self):
        remove_tree("/workload.slice")
        remove_tree("/twin.slice")
        remove_tree(LOAD_CG)
        remove_tree(DAEMON_CG)
        set_swap(ZRAM_MIB)
        settle_memory()
        make_cgroup(self.svc.cg)
        if self.twin:
            make_cgroup(self.twin.cg)
        make_cgroup(LOAD_CG)
        self.daemon_dir = make_cgroup(DAEMON_CG)

    @staticmethod
    def fill_one(svc):
        proc = svc.start()
        wait_port(svc.port)
        svc.populate()
        if svc.warm_argv():
            warm = spawn(svc.warm_argv(), LOAD_CG, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if warm.wait(timeout=300) != 0:
                raise RuntimeError(f"warming the hot set failed ({warm.returncode})")
        return proc

    def fill(self):
        t = time.time()
        if self.twin and self.cell["rep"] % 2:  # the twin filled first every other repetition
            self.twin_proc = self.fill_one(self.twin)
        self.proc = self.fill_one(self.svc)
        if self.twin and not self.twin_proc:
            self.twin_proc = self.fill_one(self.twin)
        self.fill_s = time.time() - t
        self.filled_bytes = int(read(cgdir(self.svc.cg) + "/memory.current"))

    def sample(self, now):
        d = cgdir(self.svc.cg)
        stat = keyed(d + "/memory.stat")
        psi = pressure(d + "/memory.pressure")
        orig, compr, used = zram()
        self.samples.append([round(now - self.t0, 2), int(read(d + "/memory.current")),
                             int(read(d + "/memory.swap.current")), used, orig, compr,
                             psi["some"]["avg10"], psi["full"]["avg10"], psi["some"]["total"],
                             stat.get("workingset_refault_anon", 0) + stat.get("workingset_refault_file", 0)])
        if hasattr(self.svc, "stats_now"):
            self.svc_stats.append([round(now - self.t0, 2), self.svc.stats_now()])
        if self.twin:
            # Read as the cell's instance is read (memory.stat and
            # memory.pressure make the kernel flush and fold its counters,
            # memcached answers its `stats`): watching costs both alike.
            d = cgdir(self.twin.cg)
            keyed(d + "/memory.stat")
            pressure(d + "/memory.pressure")
            if hasattr(self.twin, "stats_now"):
                self.twin.stats_now()
            self.twin_samples.append([round(now - self.t0, 2), int(read(d + "/memory.current")),
                                      int(read(d + "/memory.swap.current"))])

    def run(self):
        p = self.svc.p
        self.load = LoadTool(self.svc.load_argv(), self.svc.parse, p["round_requests"])
        if self.twin:
            self.twin_load = LoadTool(self.twin.load_argv(), self.twin.parse, p["round_requests"])
        self.t0 = time.time()
        for svc, load in ((self.svc, self.load), (self.twin, self.twin_load)):
            if svc:
                load.start()
                if hasattr(svc, "begin_load"):
                    svc.begin_load()
        self.frag_before = buddyinfo()
        contender_started = False
        end = self.t0 + TIMING["load_s"]
        while time.time() < end:
            now = time.time()
            if not contender_started and now - self.t0 >= LEAD_S:
                self.t_contender = time.time()
                self.contender.start(self.daemon_dir)
                unshield(self.daemon_dir)
                self.cpu0 = keyed(self.daemon_dir + "/cpu.stat").get("usage_usec", 0)
                self.t_started = time.time()
                contender_started = True
            self.sample(now)
            if self.proc.poll() is not None:
                raise RuntimeError(f"the service died ({self.proc.returncode})")
            if self.twin and self.twin_proc.poll() is not None:
                raise RuntimeError(f"the twin died ({self.twin_proc.returncode})")
            time.sleep(max(0.0, SAMPLE_S - (time.time() - now)))
        for svc, load in ((self.svc, self.load), (self.twin, self.twin_load)):
            if svc:
                load.stop()
                if hasattr(svc, "end_load"):
                    svc.end_load()
        self.t_load_end = time.time()
        self.frag_after = buddyinfo()
        self.cpu1 = keyed(self.daemon_dir + "/cpu.stat").get("usage_usec", 0)
        self.t_cpu1 = time.time()
        if TIMING.get("return_s") and self.svc.return_argv():
            self.ret = LoadTool(self.svc.return_argv(), self.svc.parse, p["round_requests"])
            self.t_return = time.time()
            self.ret.start()
            end = self.t_return + TIMING["return_s"]
            while time.time() < end:
                now = time.time()
                self.sample(now)
                time.sleep(max(0.0, SAMPLE_S - (time.time() - now)))
            self.ret.stop()

    def figures(self):
        t0, load_s, steady_s = self.t0, TIMING["load_s"], TIMING["steady_s"]
        w0, w1 = load_s - steady_s, load_s
        win = [s for s in self.samples if w0 <= s[0] <= w1]
        mean = lambda i: sum(s[i] for s in win) / len(win)  # noqa: E731
        rounds, ops = window_rounds(self.load, t0 + w0, t0 + w1)
        mem = mean(1)
        started = self.t_contender - t0
        # Converged: from then on to the load's end, memory.current stays
        # within 5% of where it ends. A contender still shrinking at the
        # end "converges" late, and `still_falling` says so.
        load = [s for s in self.samples if started <= s[0] <= w1]
        end = load[-1][1]
        converge = started
        for s in load:
            if abs(s[1] - end) > 0.05 * end:
                converge = s[0]
        r = {
            "filled_mib": round(self.filled_bytes / MiB, 1),
            "fill_s": round(self.fill_s, 1),
            "mem_mean_mib": round(mem / MiB, 1),
            "mem_end_mib": round(win[-1][1] / MiB, 1),
            "swap_mib": round(mean(2) / MiB, 1),
            "zram_mib": round(mean(3) / MiB, 1),
            "zram_orig_mib": round(mean(4) / MiB, 1),
            "zram_ratio": round(mean(5) / mean(4), 3) if mean(4) > MiB else None,
            "ops_per_s": ops,
            "rounds": len(rounds),
            "avg_ms": mean_of(rounds, "avg_ms"),
            "psi_some_avg10": round(mean(6), 3),
            "psi_full_avg10": round(mean(7), 3),
            "stall_share_pct": round(100 * (win[-1][8] - win[0][8]) / 1e6 / (win[-1][0] - win[0][0]), 4),
            "refaults_per_s": round((win[-1][9] - win[0][9]) / (win[-1][0] - win[0][0]), 1),
            "converge_s": round(converge - started, 1),
            "still_falling": win[0][1] - end > 0.05 * end,
            "frag_before": fragmentation(self.frag_before),
            "frag_after": fragmentation(self.frag_after),
            "buddy_before": self.frag_before,
            "buddy_after": self.frag_after,
            "mmrun_cpu_pct": round(100 * (self.cpu1 - self.cpu0) / 1e6 / (self.t_cpu1 - self.t_started), 3),
            "contender_start_s": round(started, 2),
            "steady_window_s": [w0, w1],
        }
        r["p50_ms"], r["p99_ms"] = latencies(self.svc, rounds, t0 + w0, t0 + w1)
        if hasattr(self.svc, "extra_figures"):
            r.update(self.svc.extra_figures(t0 + w0, t0 + w1))
        if self.twin:
            t_rounds, t_ops = window_rounds(self.twin_load, t0 + w0, t0 + w1)
            t_win = [x for x in self.twin_samples if w0 <= x[0] <= w1]
            t_swap = sum(x[2] for x in t_win) / len(t_win) / MiB
            # zram is the guest's: the cell's zram_mib holds what the twin
            # swapped too (none, but for pressure on the whole guest).
            r["twin"] = {"mem_mean_mib": round(sum(x[1] for x in t_win) / len(t_win) / MiB, 1),
                         "swap_mib": round(t_swap, 1), "zram_mib": 0.0,
                         "ops_per_s": t_ops, "avg_ms": mean_of(t_rounds, "avg_ms"),
                         "filled_first": bool(self.cell["rep"] % 2)}
            r["twin"]["p50_ms"], r["twin"]["p99_ms"] = latencies(self.twin, t_rounds, t0 + w0, t0 + w1)
        if self.ret:
            rr = self.ret.rounds
            r["return_rounds"] = [[round(x["t"] - self.t_return, 2), x["rps"], x["p99_ms"]] for x in rr]
            span = rr[-1]["t"] - self.t_return if rr else 0
            r["return_ops_per_s"] = round(sum(x["n"] for x in rr) / span, 1) if span > 0 else None
            r["return_p99_ms"] = mean_of(rr, "p99_ms")
        return r

    def finish(self, result):
        for svc in (self.svc, self.twin):
            if svc and hasattr(svc, "end_load"):
                svc.end_load()
        stop_contender(self.contender, result)
        for tool in (self.load, self.ret, self.twin_load):
            if tool:
                tool.stop()
        kill_cgroup(LOAD_CG)
        kill_cgroup(self.svc.cg)
        if self.twin:
            kill_cgroup(self.twin.cg)
        rounds = lambda tool: [[round(r["t"] - self.t0, 2), r["test"], r["rps"], r["p50_ms"], r["p99_ms"]]  # noqa: E731
                               for r in (tool.rounds if tool else [])]
        save_cell(OUT, self.name, self.contender.log(), {
            "columns": ["t_s", "memory_current", "swap_current", "zram_used", "zram_orig", "zram_compr",
                        "psi_some_avg10", "psi_full_avg10", "psi_some_total_us", "refaults"],
            "rows": self.samples, "rounds": rounds(self.load), "return_rounds": rounds(self.ret),
            "service_stats": {"columns": list(getattr(self.svc, "STATS", ())), "rows": self.svc_stats},
            "twin_rows": self.twin_samples, "twin_rounds": rounds(self.twin_load),
            "return_start_s": round(self.t_return - self.t0, 2) if self.ret else None,
            "contender_start_s": round(getattr(self, "t_contender", self.t0) - self.t0, 2)})

def meet_partner(cell):
    """A paired run (run_reclaim.py --paired): the two guests start the
    load of a pair's cells together, so that what the shared host does to
    the one it does to the other. OUT/ready-K says this guest's cell of
    pair K is filled; the host answers with OUT/go-K once the other
    guest's is too (or has ended: OUT/done-K)."""
    k = cell["pair"]
    write(os.path.join(OUT, f"ready-{k}"), "")
    go, deadline = os.path.join(OUT, f"go-{k}"), time.time() + PAIR_WAIT_S
    while not os.path.exists(go):
        if time.time() > deadline:
            raise RuntimeError(f"the other guest's cell of pair {k} was not ready within {PAIR_WAIT_S} s")
        time.sleep(0.02)


def run_cell(cell):
    c = Cell(cell)
    print(f"cell {c.name}", flush=True)
    result = {"workload": cell["workload"], "contender": cell["contender"], "rep": cell["rep"], "void": None}
    if "pair" in cell:
        result.update(pair=cell["pair"], partner=cell["partner"], base=bool(cell.get("base")))
    try:
        c.prepare()
        c.fill()
        if "pair" in cell:
            meet_partner(cell)
        c.run()
        result.update(c.figures())
    except Exception as e:  # a cell that could not run is void; the run goes on
        traceback.print_exc()
        result["void"] = f"{type(e).__name__}: {e}"
    finally:
        c.finish(result)
        if "pair" in cell:
            write(os.path.join(OUT, f"done-{cell['pair']}"), "")
    print("  " + json.dumps({k: v for k, v in result.items() if not k.startswith(("buddy", "return_rounds"))}),
          flush=True)
    return result


def main():
    become_harness(OUT, HARNESS_CG)
    for tool in ["stdbuf"] + [t for w in {c["workload"] for c in CONFIG["cells"]} for t in WORKLOADS[w].tools]:
        if not shutil.which(tool):
            print(f"reclaim: {tool} is missing in the guest", flush=True)
            return 1
    run_cells(OUT, CONFIG["cells"], run_cell)
    return 0


if __name__ == "__main__":
    sys.exit(main())
