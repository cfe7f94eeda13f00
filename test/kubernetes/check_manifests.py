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

import yaml

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
