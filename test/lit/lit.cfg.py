# lit configuration: diagnostics and command-line behaviour of mmpc.
import os
import lit.formats

config.name = "mmp"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".mmp", ".test"]
config.excludes = ["Inputs", "lit.cfg.py", "lit.site.cfg.py.in"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(os.path.dirname(config.mmp_bin_dir), "test", "lit-out")

config.environment["PATH"] = os.pathsep.join(
    [config.mmp_bin_dir, config.llvm_tools_dir, config.environment.get("PATH", "/usr/bin:/bin")])
config.environment["NO_COLOR"] = "1"
config.substitutions.append(("%mmpc", os.path.join(config.mmp_bin_dir, "mmpc")))
config.substitutions.append(("%mmrun", os.path.join(config.mmp_bin_dir, "mmrun")))
config.substitutions.append(("%stdlib", os.path.join(config.mmp_source_root, "stdlib")))
config.substitutions.append(("%examples", os.path.join(config.mmp_source_root, "examples")))

# Compiling to an object needs the running kernel's BTF; tests that do say
# `REQUIRES: kernel-btf` and are reported UNSUPPORTED where it is missing.
if os.access("/sys/kernel/btf/vmlinux", os.R_OK):
    config.available_features.add("kernel-btf")

# This machine's memory controller is cgroup v1: tests of what mmrun does on
# a v1 host say `REQUIRES: cgroup-v1`.
if os.path.exists("/sys/fs/cgroup/memory/memory.usage_in_bytes"):
    config.available_features.add("cgroup-v1")

# Running programs in the kernel (mmrun replay) needs root as well; tests
# that do say `REQUIRES: bpf`.
if os.access("/sys/kernel/btf/vmlinux", os.R_OK) and os.geteuid() == 0:
    config.available_features.add("bpf")
