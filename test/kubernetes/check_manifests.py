#!/usr/bin/python3
"""The Kubernetes manifests of dist/kubernetes, checked without a cluster.

- Every object validates against the Kubernetes API's schemas
  (kubernetes-models from npm, which scripts/setup installs into
  $MMP_CACHE/npm; without node or it, that part prints SKIPPED).
- The DaemonSet is what docs/fleet.md says: hostPID; capabilities, not
  `privileged`; /sys/fs/cgroup, /sys/fs/bpf and /sys/kernel/btf mounted;
  Prometheus's scrape annotations on the port mmrun's --metrics serves;
  resource requests equal to limits (Guaranteed QoS) on every container;
  the ConfigMap it mounts exists in its namespace.
- The commands it runs take the options they are given (mmrun's and mmpc's
  own --help), and every policy of the ConfigMap compiles with this mmpc.
- The compile container's loop, run for real on a ConfigMap-like
  directory: it compiles, recompiles on an update, marks a broken policy
  and does not retry it, removes an object whose policy left.
- The Containerfile installs the libraries mmrun and mmpc link (ldd).
usage: check_manifests.py SOURCE_DIR BIN_DIR
"""
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import yaml

from configmap_volume import swap  # the kubelet's update of a ConfigMap volume

SOURCE, BIN = sys.argv[1], sys.argv[2]
DIST = os.path.join(SOURCE, "dist", "kubernetes")
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def load():
    objects = []
    for path in sorted(glob.glob(os.path.join(DIST, "*.yaml"))):
        for doc in yaml.safe_load_all(open(path)):
            if doc:
                objects.append(doc)
    return objects


def one(objects, kind):
    found = [o for o in objects if o.get("kind") == kind]
    check(len(found) == 1, f"one {kind} ({len(found)})")
    return found[0] if found else {}


def options_of(program, sub):
    out = subprocess.run([os.path.join(BIN, program), sub, "--help"], capture_output=True, text=True).stdout
    return set(re.findall(r"--[a-z][a-z-]*", out))


def used_options(command, program):
    """The --options given to `program` in a shell command line."""
    opts = set()
    for m in re.finditer(rf"\b{program} \w+((?: [^;|&\n]*)?)", command):
        opts |= set(re.findall(r"(--[a-z][a-z-]*)", m.group(1)))
    return opts


def check_daemonset(ds, configmap):
    spec = ds.get("spec", {}).get("template", {}).get("spec", {})
    meta = ds.get("spec", {}).get("template", {}).get("metadata", {})
    check(spec.get("hostPID") is True, "the DaemonSet runs in the host's PID namespace")
    containers = spec.get("containers", []) + spec.get("initContainers", [])
    check(not any(c.get("securityContext", {}).get("privileged") for c in containers),
          "no container is privileged")
    mmrun = next((c for c in spec.get("containers", []) if c.get("name") == "mmrun"), {})
    caps = mmrun.get("securityContext", {}).get("capabilities", {})
    check(caps.get("drop") == ["ALL"] and {"BPF", "PERFMON"} <= set(caps.get("add", [])),
          f"mmrun drops every capability and adds BPF and PERFMON ({caps})")
    hostpaths = {v["name"]: v["hostPath"]["path"] for v in spec.get("volumes", []) if "hostPath" in v}
    mounts = {m["name"]: m["mountPath"] for m in mmrun.get("volumeMounts", [])}
    for path in ("/sys/fs/cgroup", "/sys/fs/bpf", "/sys/kernel/btf"):
        check(any(hostpaths.get(n) == path and mounts.get(n) == path for n in hostpaths),
              f"the host's {path} is mounted at {path} in mmrun's container")
    command = " ".join(mmrun.get("command", []) + mmrun.get("args", []))
    port = re.search(r"--metrics \S*:(\d+)", command)
    ports = [p.get("containerPort") for p in mmrun.get("ports", [])]
    ann = meta.get("annotations", {})
    check(port is not None and int(port.group(1)) in ports and ann.get("prometheus.io/scrape") == "true"
          and ann.get("prometheus.io/port") == port.group(1) and ann.get("prometheus.io/path") == "/metrics",
          f"Prometheus's annotations point at the port --metrics serves ({ann}, {ports})")
    for c in containers:
        r = c.get("resources", {})
        check(r.get("requests") and r.get("requests") == r.get("limits") and
              {"cpu", "memory"} <= set(r["requests"]),
              f"container {c.get('name')} requests cpu and memory, equal to its limits ({r})")
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    cm = [v["configMap"]["name"] for v in volumes.values() if "configMap" in v]
    check(cm == [configmap.get("metadata", {}).get("name")] and
          ds.get("metadata", {}).get("namespace") == configmap.get("metadata", {}).get("namespace"),
          f"the DaemonSet mounts the ConfigMap of its namespace ({cm})")
    for c in containers:
        line = " ".join(c.get("command", []) + c.get("args", []))
        for program, sub in (("mmrun", "load"), ("mmpc", "compile")):
            used = used_options(line, program)
            if used:
                known = options_of(program, sub)
                check(used <= known, f"{c['name']}: `{program} {sub}` takes {sorted(used)} "
                      f"(unknown: {sorted(used - known)})")


def check_policies(configmap):
    data = configmap.get("data", {})
    policies = {k: v for k, v in data.items() if k.endswith(".mmp")}
    check(bool(policies), f"the ConfigMap carries policies ({sorted(data)})")
    tmp = tempfile.mkdtemp()
    try:
        for name, text in policies.items():
            src = os.path.join(tmp, name)
            open(src, "w").write(text)
            r = subprocess.run([os.path.join(BIN, "mmpc"), "compile", "--werror", src, "-o", src + ".bpf.o"],
                               capture_output=True, text=True)
            check(r.returncode == 0, f"the ConfigMap's {name} compiles" + (": " + r.stderr if r.returncode else ""))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def wait_until(pred, seconds=20):
    end = time.time() + seconds
    while time.time() < end and not pred():
        time.sleep(0.1)
    return pred()


def check_compile_loop(ds, configmap):
    """The compile container's own script, run with /etc/mmp/policies and
    /var/lib/mmp moved to a temporary directory laid out as the kubelet
    lays out a ConfigMap volume: each policy compiled, again after an
    update, a broken one not retried until it changes, an object whose
    policy left the ConfigMap removed."""
    spec = ds.get("spec", {}).get("template", {}).get("spec", {})
    compile_c = next((c for c in spec.get("containers", []) if c.get("name") == "compile"), {})
    script = (compile_c.get("command") or [""])[-1]
    check("mmpc compile" in script, "the compile container runs mmpc compile in a loop")
    tmp = tempfile.mkdtemp()
    policies, objects = os.path.join(tmp, "policies"), os.path.join(tmp, "objects")
    os.makedirs(objects)
    script = script.replace("/etc/mmp/policies", policies).replace("/var/lib/mmp", objects)
    data = {k: v for k, v in configmap.get("data", {}).items() if k.endswith(".mmp")}
    name = sorted(data)[0] if data else "none.mmp"
    obj = os.path.join(objects, name[:-4] + ".bpf.o")

    os.makedirs(policies)
    swap(policies, "v1", data)
    env = dict(os.environ, PATH=BIN + ":" + os.environ.get("PATH", ""))
    loop = subprocess.Popen(["sh", "-c", script], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        check(wait_until(lambda: all(os.path.exists(os.path.join(objects, k[:-4] + ".bpf.o")) for k in data)),
              f"the loop compiles every policy of the ConfigMap ({sorted(os.listdir(objects))})")
        first = os.stat(obj).st_mtime_ns if os.path.exists(obj) else 0
        swap(policies, "v2", dict(data, **{name: data.get(name, "") + "\n# edited\n", "broken.mmp": "policy broken\nwhen\n"}))
        check(wait_until(lambda: os.path.exists(obj) and os.stat(obj).st_mtime_ns > first),
              f"an updated policy is compiled again ({name})")
        check(wait_until(lambda: os.path.exists(os.path.join(objects, "broken.bpf.o.failed"))),
              "a policy that does not compile leaves a .failed mark, and no object")
        failed = os.stat(os.path.join(objects, "broken.bpf.o.failed")).st_mtime_ns
        time.sleep(6)  # one more pass of the loop
        check(os.stat(os.path.join(objects, "broken.bpf.o.failed")).st_mtime_ns == failed and
              not os.path.exists(os.path.join(objects, "broken.bpf.o")),
              "it is not compiled again until it changes")
        swap(policies, "v3", {k: v for k, v in data.items() if k != name})
        check(wait_until(lambda: not os.path.exists(obj)), "the object of a policy that left the ConfigMap is removed")
        check(not [f for f in os.listdir(objects) if f.endswith(".part")], "no half-written object is left")
    finally:
        loop.kill()
        out = loop.communicate()[0]
        if failures:
            print(out[-2000:])
        shutil.rmtree(tmp, ignore_errors=True)


def check_containerfile():
    """The image's final stage names the Debian package of every library
    the built programs load (this host is Debian 12, as the image is)."""
    text = open(os.path.join(DIST, "Containerfile")).read()
    final = text[text.rindex("FROM "):]
    named = set(re.findall(r"\b([a-z0-9][a-z0-9.+-]+)\b", final))
    base = {"libc6", "libstdc++6", "libgcc-s1"}  # in every Debian image
    for program in ("mmrun", "mmpc"):
        out = subprocess.run(["ldd", os.path.join(BIN, program)], capture_output=True, text=True).stdout
        packages = set()
        for path in re.findall(r"=> (/\S+)", out):
            owners = set()
            for p in (path, os.path.realpath(path)):  # dpkg knows one of the /lib and /usr/lib spellings
                found = subprocess.run(["dpkg", "-S", p], capture_output=True, text=True).stdout
                owners |= {line.split(":")[0] for line in found.splitlines() if ":" in line}
            packages |= owners or {f"(no package owns {path})"}
        missing = sorted(packages - base - named)
        check(packages and not missing, f"the image installs the package of every library {program} loads "
              f"(missing: {missing})")


def check_schemas(objects):
    cache = os.environ.get("MMP_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "mmp"))
    modules = os.path.join(cache, "npm", "node_modules")
    if not shutil.which("node") or not os.path.isdir(os.path.join(modules, "kubernetes-models")):
        return f"no node or no kubernetes-models in {modules} (scripts/setup installs it)"
    r = subprocess.run(["node", os.path.join(os.path.dirname(__file__), "validate.mjs"), modules],
                       input=json.dumps(objects), capture_output=True, text=True)
    for line in r.stdout.splitlines():
        check(line.startswith("ok "), f"schema: {line}")
    check(r.returncode == 0 and r.stdout.count("\n") == len(objects),
          f"every object validates against the Kubernetes API's schemas{': ' + r.stderr if r.stderr else ''}")
    return None


def main():
    objects = load()
    check({o.get("kind") for o in objects} == {"Namespace", "ConfigMap", "DaemonSet"},
          f"dist/kubernetes holds a Namespace, a ConfigMap and a DaemonSet ({[o.get('kind') for o in objects]})")
    configmap = one(objects, "ConfigMap")
    check_daemonset(one(objects, "DaemonSet"), configmap)
    check_policies(configmap)
    check_compile_loop(one(objects, "DaemonSet"), configmap)
    check_containerfile()
    skipped = check_schemas(objects)
    print(f"{len(failures)} failures")
    if failures:
        return 1
    if skipped:
        print(f"SKIPPED: the schema check: {skipped}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
