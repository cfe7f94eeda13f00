"""The arena's peers: earlyoom, oomd, nohang and systemd-oomd, each run as
its Debian package ships it, inside a cgroup of its own.

    contender = peers.make(name, config, scenario)  # config: "defaults" or "tuned"
    contender.start(cgroup_dir)   # returns once the daemon monitors
    contender.stop()              # cgroup.kill; raises if anything of it is left
    contender.log()               # its output (and the configuration it ran with)

Python 3 standard library only; runs in the guest as root (cgroup v2 at
/sys/fs/cgroup). The configurations are files in peers/NAME/ (README.md
there says why each value): `${var}` in them is filled from the scenario
(`variables`); a line naming a variable the scenario does not define is
dropped, and a line naming a list is repeated once per element.

Every daemon is exec'd directly (never through a shell) by a child that has
first moved itself into cgroup_dir, so nothing of it can run outside that
cgroup; stop() ends the whole cgroup with cgroup.kill.

systemd-oomd has no PID 1 to ask which cgroups to watch in the guest: this
module serves the io.systemd.ManagedOOM varlink interface that PID 1 would
(/run/systemd/io.system.ManagedOOM), from the configuration's `.managed`
file, and sets the user.oomd_avoid / user.oomd_omit xattrs that PID 1 sets
for ManagedOOMPreference=. systemd-oomd's own logic does the rest.
"""
import glob
import json
import os
import re
import shutil
import socket
import string
import subprocess
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PEERS = os.path.join(HERE, "peers")
CGROOT = "/sys/fs/cgroup"
NAMES = ("earlyoom", "oomd", "systemd-oomd", "nohang")
CONFIGS = ("defaults", "tuned")
START_TIMEOUT_S = 60.0   # TCG is slow: Python (nohang) takes a few seconds to start
STOP_TIMEOUT_S = 10.0
UINT32_MAX = 0xFFFFFFFF


class PeerError(RuntimeError):
    pass


# --- the scenario's variables ------------------------------------------------

def _comm(argv0):
    """The process name a tool matches by (comm: 15 bytes of the basename)."""
    return os.path.basename(argv0)[:15]


def _leaves(paths):
    paths = sorted({p.rstrip("/") or "/" for p in paths})
    return [p for p in paths if not any(q != p and q.startswith(p.rstrip("/") + "/") for q in paths)]


def _parse_size(v):
    v = str(v).strip()
    if v == "max":
        return None
    m = re.fullmatch(r"(\d+)([KMGT]?)", v, re.I)
    if not m:
        return None
    return int(m.group(1)) << {"": 0, "K": 10, "M": 20, "G": 30, "T": 40}[m.group(2).upper()]


def variables(scenario):
    """What the tuned templates may name, from the scenario dict alone (not
    from its culprit: a tuned peer knows the threshold and what to protect,
    not which workload will misbehave)."""
    th = scenario.get("threshold") or {}
    protected = [p.rstrip("/") or "/" for p in scenario.get("protected", [])]
    cgroups = set(scenario.get("cgroups", {})) | {w["cgroup"] for w in scenario.get("workloads", [])}
    leaves = _leaves(cgroups)
    under = lambda c, p: c == p or c.startswith(p.rstrip("/") + "/")  # noqa: E731
    candidates = [c for c in leaves if not any(under(c, p) or under(p, c) for p in protected)]
    names = sorted({_comm(w["cmd"][0]) for w in scenario.get("workloads", [])
                    if any(under(w["cgroup"], p) for p in protected)})
    v = {
        "protected": protected,
        "protected_rel": [p.lstrip("/") for p in protected],
        "protected_re": [re.escape(p) for p in protected],
        "candidates": candidates,
        "candidates_rel_csv": ",".join(c.lstrip("/") for c in candidates),
        # Every top-level cgroup of the scenario: what a system-wide rule covers.
        "tops": sorted({"/" + c.strip("/").split("/")[0] for c in cgroups if c.strip("/")}),
    }
    v["tops_rel_csv"] = ",".join(t.lstrip("/") for t in v["tops"])
    if th.get("cgroup"):
        # The candidates inside the watched cgroup (itself, when it is a leaf).
        inside = [c for c in candidates if under(c, th["cgroup"])] or [th["cgroup"]]
        v["watched_candidates_rel_csv"] = ",".join(c.lstrip("/") for c in inside)
    if names:
        # A POSIX extended regex (earlyoom's regcomp): escape only its own
        # special characters (Python's re.escape also escapes "-").
        ere = lambda n: re.sub(r"([.\[\]{}()\\*+?^$|])", r"\\\1", n)  # noqa: E731
        v["avoid_names_re"] = "^(" + "|".join(ere(n) for n in names) + ")$"
    kind = th.get("kind")
    v["kind"] = kind
    if kind == "mem_available_pct":
        v["mem_below"] = _num(th["below"])
        v["mem_below_half"] = _num(th["below"] / 2)
        v["mem_used_above"] = _num(100 - th["below"])
    elif kind == "psi_full_avg10":
        v["psi_cgroup"] = th["cgroup"]
        v["psi_cgroup_rel"] = th["cgroup"].strip("/")
        v["psi_above"] = _num(th["above"])
    elif kind == "usage_pct_of_max":
        v["usage_cgroup"] = th["cgroup"]
        v["usage_cgroup_rel"] = th["cgroup"].strip("/")
        v["usage_above"] = _num(th["above"])
        limit = _parse_size(scenario.get("cgroups", {}).get(th["cgroup"], {}).get("memory.max", "max"))
        if limit:
            v["usage_bytes"] = str(limit * th["above"] // 100)
            v["usage_mib"] = _num(limit * th["above"] / 100 / (1 << 20))
    return v


def _num(x):
    x = float(x)
    return str(int(x)) if x == int(x) else f"{x:g}"


def fill(text, v):
    """`${var}` of text from v; a line naming an unknown variable is dropped,
    one naming a list is repeated for each element (twice: the product)."""
    out = []
    for line in text.splitlines():
        names = [m.group(1) for m in re.finditer(r"\$\{(\w+)\}", line)
                 if not line.lstrip().startswith(("#", "//"))]
        if any(n not in v for n in names):
            continue
        lists = [n for n in dict.fromkeys(names) if isinstance(v[n], list)]
        rows = [{}]
        for n in lists:
            rows = [dict(r, **{n: e}) for r in rows for e in v[n]]
        for r in rows:
            out.append(line if not names else string.Template(line).safe_substitute({**v, **r}))
    return "\n".join(out) + "\n"


def config_file(name, config, scenario, suffix):
    """The configuration file of a peer, filled: peers/NAME/CONFIG-KIND.SUFFIX
    when the threshold's kind has its own, else peers/NAME/CONFIG.SUFFIX."""
    kind = (scenario.get("threshold") or {}).get("kind")
    for base in ([f"{config}-{kind}"] if kind else []) + [config]:
        path = os.path.join(PEERS, name, base + suffix)
        if os.path.exists(path):
            with open(path) as f:
                return path, fill(f.read(), variables(scenario))
    raise PeerError(f"{name}: no {config} configuration ({PEERS}/{name}/{config}{suffix})")


# --- running a daemon in a cgroup --------------------------------------------

def _enter(cgroup_dir):
    """A preexec_fn: the child moves itself into cgroup_dir before exec."""
    procs = os.path.join(cgroup_dir, "cgroup.procs")

    def enter():
        # Plain system calls only: the caller may have threads (systemd-oomd's
        # varlink server does), and the child of a fork must take no lock.
        fd = os.open(procs, os.O_WRONLY)
        try:
            os.write(fd, b"0")  # "0": the writing process itself
        finally:
            os.close(fd)
    return enter


def _populated(cgroup_dir):
    with open(os.path.join(cgroup_dir, "cgroup.events")) as f:
        return dict(line.split() for line in f if line.strip()).get("populated") == "1"


class Peer:
    name = None
    suffix = None
    ready_re = None         # a line of its output that says it monitors
    unbuffer = True         # C stdio to a file is block-buffered: stdbuf -oL

    def __init__(self, config, scenario):
        if config not in CONFIGS:
            raise PeerError(f"{self.name}: no configuration {config!r} (one of {', '.join(CONFIGS)})")
        self.config, self.scenario = config, scenario
        self.cgroup_dir = None
        self.procs = []
        self.rundir = None
        self.out_path = None
        self.notes = []         # what peers.py did, for the log
        self.started_at = None

    # Subclasses: argv(), prepare(), and optionally ready().
    def prepare(self):
        pass

    def argv(self):
        raise NotImplementedError

    def env(self):
        return {}

    def note(self, text):
        self.notes.append(f"[peers.py +{time.monotonic() - (self.started_at or time.monotonic()):.1f}s] {text}")

    def spawn(self, argv, out, env=None, unbuffer=None):
        if (self.unbuffer if unbuffer is None else unbuffer) and shutil.which("stdbuf"):
            argv = [shutil.which("stdbuf"), "-oL", "-eL"] + argv
        e = dict(os.environ, PYTHONUNBUFFERED="1", **(env or {}))
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=e,
                             preexec_fn=_enter(self.cgroup_dir), close_fds=True, cwd="/")
        self.procs.append(p)
        return p

    def output(self):
        if not self.out_path or not os.path.exists(self.out_path):
            return ""
        with open(self.out_path, errors="replace") as f:
            return f.read()

    def ready(self):
        return self.ready_re is not None and re.search(self.ready_re, self.output(), re.M) is not None

    def start(self, cgroup_dir):
        if self.procs:
            raise PeerError(f"{self.name}: already started")
        self.cgroup_dir = cgroup_dir
        if not os.path.isdir(cgroup_dir):
            raise PeerError(f"{self.name}: {cgroup_dir} is no cgroup (the caller makes it)")
        if _populated(cgroup_dir):
            raise PeerError(f"{self.name}: {cgroup_dir} already has processes")
        self.started_at = time.monotonic()
        self.rundir = tempfile.mkdtemp(prefix=f"mmp-peer-{self.name}-")
        self.out_path = os.path.join(self.rundir, "output")
        try:
            self.prepare()
            argv = self.argv()
            self.note("exec " + " ".join(argv))
            with open(self.out_path, "ab") as out:
                main = self.spawn(argv, out, self.env())
        except BaseException:
            self._end()
            self.procs = []
            raise
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self.ready():
            if main.poll() is not None:
                log = self.log()
                self._end()
                self.procs = []
                raise PeerError(f"{self.name} exited with {main.returncode} before it monitored:\n{log}")
            if time.monotonic() > deadline:
                log = self.log()
                self._end()
                self.procs = []
                raise PeerError(f"{self.name} did not say it monitors within {START_TIMEOUT_S:.0f} s:\n{log}")
            time.sleep(0.1)
        self.note(f"monitoring (pid {main.pid}, in {cgroup_dir})")

    def _end(self):
        """cgroup.kill, then wait for the cgroup to empty; returns whether it did."""
        if not self.cgroup_dir:
            return True
        try:
            with open(os.path.join(self.cgroup_dir, "cgroup.kill"), "w") as f:
                f.write("1")
        except OSError as e:
            self.note(f"cgroup.kill: {e}")
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while _populated(self.cgroup_dir) and time.monotonic() < deadline:
            time.sleep(0.05)
        for p in self.procs:
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        self.cleanup()
        return not _populated(self.cgroup_dir)

    def cleanup(self):
        pass

    def stop(self):
        if not self.procs:
            return
        emptied = self._end()
        self.note("stopped: cgroup.kill")
        left = []
        with open(os.path.join(self.cgroup_dir, "cgroup.procs")) as f:
            left = [line.strip() for line in f if line.strip()]
        alive = [p.pid for p in self.procs if p.poll() is None]
        self.procs = []
        if not emptied or left or alive:
            raise PeerError(f"{self.name}: left behind in {self.cgroup_dir}: pids {left or alive}")

    def log(self):
        return "\n".join(self.notes) + "\n" + self.output()


class Earlyoom(Peer):
    """earlyoom 1.7: flags only, one per line in peers/earlyoom/CONFIG.args."""
    name = "earlyoom"
    suffix = ".args"
    # Printed after its settings, right before its polling loop: with
    # Debian's -r 3600 the first "mem avail:" report can be an hour away.
    ready_re = r"^\s*SIGKILL when mem <="

    def prepare(self):
        self.path, text = config_file(self.name, self.config, self.scenario, self.suffix)
        self.args = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
        self.note(f"config {os.path.relpath(self.path, HERE)}: {self.args}")

    def argv(self):
        return ["/usr/bin/earlyoom"] + self.args


class Oomd(Peer):
    """oomd 0.5.0: a JSON ruleset (peers/oomd/CONFIG[-KIND].json), paths
    relative to the cgroup2 root /sys/fs/cgroup (--cgroup-fs)."""
    name = "oomd"
    suffix = ".json"
    ready_re = r"Running oomd"

    def prepare(self):
        self.path, text = config_file(self.name, self.config, self.scenario, self.suffix)
        self.conf = os.path.join(self.rundir, "oomd.json")
        with open(self.conf, "w") as f:
            f.write(text)
        self.kmsg = os.path.join(self.rundir, "kills")
        self.note(f"config {os.path.relpath(self.path, HERE)} -> {self.conf}:\n{text}")
        r = subprocess.run(["/usr/bin/oomd", "--check-config", self.conf], capture_output=True, text=True)
        if r.returncode != 0:
            raise PeerError(f"oomd rejects {self.path}:\n{r.stdout}{r.stderr}")

    def argv(self):
        # Debian's /etc/default/oomd runs it with --interval 1 (its finest:
        # whole seconds) and --cgroup-fs /sys/fs/cgroup/unified, which that
        # file says to drop on a unified hierarchy such as the guest's.
        return ["/usr/bin/oomd", "--config", self.conf, "--interval", "1", "--cgroup-fs", CGROOT,
                "--runtime-dir", os.path.join(self.rundir, "run"), "--kmsg-override", self.kmsg]

    def output(self):
        out = super().output()
        if os.path.exists(getattr(self, "kmsg", "")):
            with open(self.kmsg, errors="replace") as f:
                out += "".join("kmsg: " + line for line in f)
        return out


class Nohang(Peer):
    """nohang 0.2.0: Debian's /etc/nohang/nohang.conf (defaults), with the
    keys of peers/nohang/tuned.conf replaced and its @ lines added (tuned)."""
    name = "nohang"
    suffix = ".conf"
    ready_re = r"Monitoring has started!"
    unbuffer = False     # Python: PYTHONUNBUFFERED

    def prepare(self):
        self.path, text = config_file(self.name, self.config, self.scenario, self.suffix)
        base = "/etc/nohang/nohang.conf"
        if os.path.realpath(self.path) == base:   # defaults: the shipped file itself
            self.conf = base
            self.note(f"config {base} as shipped")
            return
        with open(base) as f:
            shipped = f.read()
        overrides, extra = {}, []
        for line in text.splitlines():
            s = line.strip()
            if not s or s.startswith("#"):
                continue
            if s.startswith("@"):
                extra.append(s)
            elif "=" in s:
                k, val = s.split("=", 1)
                overrides[k.strip()] = val.strip()
        lines = []
        for line in shipped.splitlines():
            k = line.split("=", 1)[0].strip() if "=" in line and not line.lstrip().startswith("#") else None
            if k in overrides:
                line = f"{k} = {overrides.pop(k)}"
            lines.append(line)
        if overrides:
            raise PeerError(f"nohang: {self.path} sets keys {base} does not have: {sorted(overrides)}")
        self.conf = os.path.join(self.rundir, "nohang.conf")
        with open(self.conf, "w") as f:
            f.write("\n".join(lines + ["", "# peers.py: from " + os.path.relpath(self.path, HERE)] + extra) + "\n")
        self.note(f"config {base} with {os.path.relpath(self.path, HERE)}:\n{text}")

    def argv(self):
        return ["/usr/bin/python3", "/usr/sbin/nohang", "--monitor", "--config", self.conf]


def _systemd_root():
    """The systemd-oomd unpacked by bench/arena/setup ($MMP_CACHE/peers/systemd)."""
    homes = [os.environ.get("MMP_CACHE"), os.path.expanduser("~/.cache/mmp"), "/root/.cache/mmp"]
    for h in filter(None, homes):
        root = os.path.join(h, "peers", "systemd")
        if os.path.exists(os.path.join(root, "lib/systemd/systemd-oomd")):
            return root
    raise PeerError("systemd-oomd is not unpacked: run bench/arena/setup (looked in "
                    + ", ".join(os.path.join(h, "peers/systemd") for h in filter(None, homes)) + ")")


def _uint32_scale(permyriad):
    """A percentage as systemd passes it around: 100% == 2^32-1, rounded
    (UINT32_SCALE_FROM_PERMYRIAD; oomd turns it back with ..._TO_PERMYRIAD)."""
    return (min(max(permyriad, 0), 10000) * UINT32_MAX + 5000) // 10000


def _permyriad(text):
    m = re.fullmatch(r"(\d+(?:\.\d{1,2})?)%", text.strip())
    if not m:
        raise PeerError(f"systemd-oomd: {text!r} is not a percentage")
    return round(float(m.group(1)) * 100)


class ManagedOOMServer:
    """What systemd (PID 1) serves to systemd-oomd: the varlink method
    io.systemd.ManagedOOM.SubscribeManagedOOMCGroups on
    /run/systemd/io.system.ManagedOOM. Varlink: one JSON object per message,
    each ended by a NUL byte. The call comes with "more": true; the answer is
    {"parameters": {"cgroups": [...]}, "continues": true} and the connection
    stays open (PID 1 would send changes on it; the arena's are fixed)."""
    PATH = "/run/systemd/io.system.ManagedOOM"
    METHOD = "io.systemd.ManagedOOM.SubscribeManagedOOMCGroups"

    def __init__(self, cgroups, note):
        self.cgroups, self.note = cgroups, note
        os.makedirs(os.path.dirname(self.PATH), exist_ok=True)
        if os.path.exists(self.PATH):
            os.unlink(self.PATH)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.PATH)
        self.sock.listen(4)
        self.conns = []
        self.calls = 0
        self.closed = False
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while not self.closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            threading.Thread(target=self.client, args=(conn,), daemon=True).start()

    def client(self, conn):
        buf = b""
        while True:
            try:
                chunk = conn.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            buf += chunk
            while b"\0" in buf:
                raw, buf = buf.split(b"\0", 1)
                try:
                    msg = json.loads(raw)
                except ValueError:
                    self.note(f"varlink: not JSON: {raw[:200]!r}")
                    return
                self.calls += 1
                self.note(f"varlink: systemd-oomd calls {json.dumps(msg)}")
                if msg.get("method") == self.METHOD:
                    reply = {"parameters": {"cgroups": self.cgroups}}
                    if msg.get("more"):
                        reply["continues"] = True
                    self.note(f"varlink: answers {json.dumps(reply)}")
                elif msg.get("method") == "org.varlink.service.GetInfo":
                    reply = {"parameters": {"vendor": "mmp", "product": "bench/arena/peers.py", "version": "1",
                                            "url": "", "interfaces": ["io.systemd.ManagedOOM"]}}
                else:
                    reply = {"error": "org.varlink.service.MethodNotFound",
                             "parameters": {"method": msg.get("method", "")}}
                if not msg.get("oneway"):
                    try:
                        conn.sendall(json.dumps(reply).encode() + b"\0")
                    except OSError:
                        return

    def close(self):
        self.closed = True
        for c in self.conns + [self.sock]:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            c.close()
        try:
            os.unlink(self.PATH)
        except OSError:
            pass


class SystemdOomd(Peer):
    """systemd-oomd 252 (Debian's, unpacked by setup, on its own
    libsystemd-shared): oomd.conf from peers/systemd-oomd/CONFIG[-KIND].conf
    (as a drop-in in /run/systemd/oomd.conf.d/), the units' ManagedOOM*=
    settings from CONFIG[-KIND].managed, served over varlink as PID 1 would."""
    name = "systemd-oomd"
    suffix = ".conf"
    DROPIN = "/run/systemd/oomd.conf.d/mmp-arena.conf"

    def prepare(self):
        self.root = _systemd_root()
        # (Debian 12: usr/lib/x86_64-linux-gnu/systemd/; a recursive glob
        # over the 9p root takes seconds)
        shared = [f for d in ("usr/lib/*/systemd", "usr/lib/systemd", "lib/systemd")
                  for f in glob.glob(os.path.join(self.root, d, "libsystemd-shared-*.so"))]
        if not shared:
            raise PeerError(f"systemd-oomd: no libsystemd-shared in {self.root}")
        self.libdir = os.path.dirname(shared[0])
        self.path, conf = config_file(self.name, self.config, self.scenario, ".conf")
        self.mpath, managed = config_file(self.name, self.config, self.scenario, ".managed")
        os.makedirs(os.path.dirname(self.DROPIN), exist_ok=True)
        with open(self.DROPIN, "w") as f:
            f.write(conf)
        self.note(f"oomd.conf {os.path.relpath(self.path, HERE)} -> {self.DROPIN}:\n{conf}")
        self.note(f"units {os.path.relpath(self.mpath, HERE)}:\n{managed}")
        cgroups, self.xattrs = [], []
        for line in managed.splitlines():
            s = line.split("#", 1)[0].split()
            if not s:
                continue
            path, props = s[0], dict(p.split("=", 1) for p in s[1:])
            for prop in ("ManagedOOMSwap", "ManagedOOMMemoryPressure"):
                mode = props.get(prop)
                if mode is None:
                    continue
                if mode not in ("kill", "auto"):
                    raise PeerError(f"systemd-oomd: {prop}={mode} (kill or auto)")
                e = {"mode": mode, "path": path, "property": prop}
                if prop == "ManagedOOMMemoryPressure":   # PID 1 always sends it: 0 = oomd.conf's default
                    lim = props.get("ManagedOOMMemoryPressureLimit")
                    e["limit"] = _uint32_scale(_permyriad(lim)) if lim else 0
                cgroups.append(e)
            pref = props.get("ManagedOOMPreference")
            if pref in ("avoid", "omit"):
                self.xattrs.append((os.path.join(CGROOT, path.lstrip("/")), f"user.oomd_{pref}"))
            elif pref not in (None, "none"):
                raise PeerError(f"systemd-oomd: ManagedOOMPreference={pref}")
        for d, attr in self.xattrs:
            os.setxattr(d, attr, b"1")
            self.note(f"xattr {attr}=1 on {d} (ManagedOOMPreference=, as PID 1 sets it)")
        self.notify_path = os.path.join(self.rundir, "notify")
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(self.notify_path)
        self.notify.setblocking(False)
        self.notified = []
        os.makedirs("/run/systemd/oom", exist_ok=True)   # its own varlink socket (RuntimeDirectory=)
        self.server = ManagedOOMServer(cgroups, self.note)
        # No D-Bus system bus is needed: systemd-oomd opens it in "watch
        # bind" mode (sd-bus waits on inotify for /run/dbus/system_bus_socket
        # and goes on), so it neither blocks nor fails without one; only its
        # Killed signal and oomctl's D-Bus interface are then unreachable.

    def env(self):
        return {"LD_LIBRARY_PATH": self.libdir, "NOTIFY_SOCKET": self.notify_path,
                "SYSTEMD_LOG_TARGET": "console", "SYSTEMD_LOG_LEVEL": "debug", "SYSTEMD_LOG_COLOR": "0",
                "SYSTEMD_LOG_TIME": "1"}

    def argv(self):
        return [os.path.join(self.root, "lib/systemd/systemd-oomd")]

    def ready(self):
        try:
            while True:
                self.notified.append(self.notify.recv(4096).decode(errors="replace"))
        except (BlockingIOError, OSError):
            pass
        return any("READY=1" in n.split("\n") for n in self.notified) and self.server.calls > 0

    def cleanup(self):
        for attr in ("server",):
            if getattr(self, attr, None):
                getattr(self, attr).close()
        if getattr(self, "notify", None):
            self.notify.close()
        for d, attr in getattr(self, "xattrs", []):
            try:
                os.removexattr(d, attr)
            except OSError:
                pass
        try:
            os.unlink(self.DROPIN)
        except OSError:
            pass


def make(name, config, scenario):
    cls = {"earlyoom": Earlyoom, "oomd": Oomd, "nohang": Nohang, "systemd-oomd": SystemdOomd}.get(name)
    if cls is None:
        raise PeerError(f"no peer {name!r} (one of {', '.join(NAMES)})")
    return cls(config, scenario)
