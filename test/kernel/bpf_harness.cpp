#include "bpf_harness.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <nlohmann/json.hpp>
#include <fstream>
#include <sstream>

#include "btf/kernel_btf.h"
#include "check/check.h"
#include "codegen/codegen.h"
#include "codegen/manifest.h"
#include "manifest.h"
#include "diagnostics/render.h"
#include "load/load.h"
#include "lower/plan.h"

namespace mmp::test {

std::optional<std::string> bpfUnavailable() {
  if (geteuid() != 0) return "not root: loading BPF needs CAP_BPF and CAP_PERFMON";
  if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) return "the kernel has no BTF (/sys/kernel/btf/vmlinux)";
  return std::nullopt;
}

namespace {

const Bindings& bindings() {
  static Bindings b = [] {
    auto loaded = loadBindings(std::string(MMP_SOURCE_STDLIB) + "/bindings/kernel.json");
    if (!loaded) {
      llvm::consumeError(loaded.takeError());
      return Bindings();
    }
    return std::move(*loaded);
  }();
  return b;
}

}  // namespace

namespace {

Compiled compileHere(const std::string& text, const std::string& name, const std::string& btfPath) {
  Compiled out;
  SourceManager sm;
  Diagnostics diags;
  uint32_t file = sm.add(name, text);
  auto loaded = loadPolicy(file, MMP_SOURCE_STDLIB, sm, diags);
  CheckedPolicy checked;
  bool ok = loaded && checkPolicy(*loaded, bindings(), diags, checked);
  std::optional<plan::Plan> plan;
  if (ok) {
    plan = plan::lowerPolicy(checked, sm, diags);
    out.manifest = buildManifest(*plan, text);
    auto btf = KernelBtf::load(btfPath);
    if (!btf) {
      out.diagnostics = llvm::toString(btf.takeError());
      return out;
    }
    if (auto err = addBindingTypes(**btf, bindings().types)) {
      out.diagnostics = llvm::toString(std::move(err));
      return out;
    }
    llvm::LLVMContext ctx;
    CodegenInput in{*plan, **btf, name, out.manifest};
    auto module = emitModule(in, ctx, diags);
    if (module && !diags.hasErrors()) {
      auto bytes = emitOutput(*module, OutputKind::Object);
      if (bytes) out.object = *bytes;
      else out.diagnostics = llvm::toString(bytes.takeError());
    }
  }
  std::ostringstream os;
  for (const auto& d : diags.all()) renderText(d, sm, os, {});
  out.diagnostics += os.str();
  return out;
}

bool readAll(int fd, std::string& s) {
  uint64_t n;
  if (read(fd, &n, sizeof n) != sizeof n) return false;
  s.resize(n);
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, s.data() + got, n - got);
    if (r <= 0) return false;
    got += r;
  }
  return true;
}

void writeAll(int fd, const std::string& s) {
  uint64_t n = s.size();
  if (write(fd, &n, sizeof n) != sizeof n) return;
  size_t put = 0;
  while (put < n) {
    ssize_t w = write(fd, s.data() + put, n - put);
    if (w <= 0) return;
    put += w;
  }
}

}  // namespace

// LLVM 19's BPF CO-RE pass keeps relocation globals in a static map across
// modules, so a second compile in one process reads a freed module (as
// mmpc compiles once per process, only tests meet it): compile in a child.
Compiled compilePolicy(const std::string& text, const std::string& name, const std::string& btfPath) {
  int fds[2];
  if (pipe(fds) != 0) return compileHere(text, name, btfPath);
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    Compiled c = compileHere(text, name, btfPath);
    writeAll(fds[1], c.object);
    writeAll(fds[1], c.diagnostics);
    writeAll(fds[1], c.manifest);
    _exit(0);
  }
  close(fds[1]);
  Compiled out;
  if (!readAll(fds[0], out.object) || !readAll(fds[0], out.diagnostics) || !readAll(fds[0], out.manifest))
    out.diagnostics = "the compiling child process died";
  close(fds[0]);
  int status;
  waitpid(pid, &status, 0);
  return out;
}

Compiled compileFile(const std::string& path, const std::string& btfPath) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return compilePolicy(ss.str(), path, btfPath);
}

LoadedPolicy::~LoadedPolicy() {
  ring_buffer__free(rb_);
  bpf_object__close(obj_);
}

int LoadedPolicy::onDecision(void* self, void* data, size_t size) {
  struct mmp_decision d;
  std::memset(&d, 0, sizeof d);
  std::memcpy(&d, data, std::min(size, sizeof d));
  static_cast<LoadedPolicy*>(self)->pending_.push_back(d);
  return 0;
}

std::unique_ptr<LoadedPolicy> LoadedPolicy::load(const Compiled& compiled, std::string& error, bool record) {
  const std::string& object = compiled.object;
  auto p = std::unique_ptr<LoadedPolicy>(new LoadedPolicy());
  nlohmann::json manifest = nlohmann::json::parse(compiled.manifest);
  for (const auto& f : manifest["snapshot"]) p->layout_.push_back(f["field"].get<std::string>());
  LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = "mmp_test");
  p->obj_ = bpf_object__open_mem(object.data(), object.size(), &opts);
  if (!p->obj_) {
    error = fmt::format("bpf_object__open_mem: {}", std::strerror(errno));
    return nullptr;
  }
  if (int err = record ? mmp_set_recording(p->obj_, 1) : 0) {
    error = fmt::format("mmp_set_recording: {}", std::strerror(-err));
    return nullptr;
  }
  // memory.stat's counters, as mmrun finds them (runtime/stat_slots.h).
  auto parsed = mmp::runtime::parseManifest(compiled.manifest, "the test's object");
  if (!parsed) {
    error = llvm::toString(parsed.takeError());
    return nullptr;
  }
  if (auto err = mmp::runtime::setSlots(p->obj_, parsed->slots)) {
    error = llvm::toString(std::move(err));
    return nullptr;
  }
  if (int err = bpf_object__load(p->obj_)) {
    error = fmt::format("bpf_object__load: {}", std::strerror(-err));
    return nullptr;
  }
  struct bpf_map* rb = bpf_object__find_map_by_name(p->obj_, MMP_MAP_DECISIONS);
  if (!rb) {
    error = "no decisions ring buffer";
    return nullptr;
  }
  p->rb_ = ring_buffer__new(bpf_map__fd(rb), &LoadedPolicy::onDecision, p.get(), nullptr);
  if (!p->rb_) {
    error = "ring_buffer__new failed";
    return nullptr;
  }
  return p;
}

std::vector<struct mmp_decision> LoadedPolicy::replay(uint64_t timeNs, uint64_t cgroupId, uint64_t scopeMask,
                                                      const std::map<std::string, uint64_t>& fields) {
  std::vector<uint64_t> snap = {timeNs, cgroupId, scopeMask};
  for (const auto& name : layout_) {
    auto it = fields.find(name);
    snap.push_back(it == fields.end() ? 0 : it->second);
  }
  for (const auto& [name, value] : fields)
    if (std::find(layout_.begin(), layout_.end(), name) == layout_.end()) {
      ADD_FAILURE() << "the policy reads no field `" << name << "`";
      return {};
    }
  return replayWords(snap);
}

std::vector<struct mmp_decision> LoadedPolicy::replayWords(const std::vector<uint64_t>& snap) {
  struct bpf_program* prog = bpf_object__find_program_by_name(obj_, MMP_PROG_REPLAY);
  LIBBPF_OPTS(bpf_test_run_opts, run, .ctx_in = snap.data(), .ctx_size_in = static_cast<uint32_t>(snap.size() * 8));
  pending_.clear();
  if (!prog || bpf_prog_test_run_opts(bpf_program__fd(prog), &run) != 0) return {};
  ring_buffer__consume(rb_);
  return pending_;
}

std::vector<struct mmp_decision> LoadedPolicy::drainDecisions() {
  pending_.clear();
  ring_buffer__consume(rb_);
  return pending_;
}

struct mmp_rule_counters LoadedPolicy::counters(uint32_t rule) {
  struct mmp_rule_counters c;
  std::memset(&c, 0, sizeof c);
  struct bpf_map* m = bpf_object__find_map_by_name(obj_, MMP_MAP_COUNTERS);
  if (m) mmp_read_counters(bpf_map__fd(m), rule, &c);
  return c;
}

bool kernelHasFunction(const std::string& name) {
  struct btf* vmlinux = btf__load_vmlinux_btf();
  if (!vmlinux) return false;
  bool has = btf__find_by_name_kind(vmlinux, name.c_str(), BTF_KIND_FUNC) >= 0;
  btf__free(vmlinux);
  return has;
}

std::vector<struct bpf_insn> LoadedPolicy::translated(const std::string& name) {
  struct bpf_program* prog = bpf_object__find_program_by_name(obj_, name.c_str());
  if (!prog) return {};
  struct bpf_prog_info info;
  std::memset(&info, 0, sizeof info);
  uint32_t len = sizeof info;
  if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len) != 0) return {};
  std::vector<struct bpf_insn> insns(info.xlated_prog_len / sizeof(struct bpf_insn));
  std::memset(&info, 0, sizeof info);
  info.xlated_prog_len = static_cast<uint32_t>(insns.size() * sizeof(struct bpf_insn));
  info.xlated_prog_insns = reinterpret_cast<uint64_t>(insns.data());
  len = sizeof info;
  if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len) != 0) return {};
  return insns;
}

std::vector<std::pair<std::string, uint32_t>> LoadedPolicy::programSizes() {
  std::vector<std::pair<std::string, uint32_t>> out;
  struct bpf_program* prog;
  bpf_object__for_each_program(prog, obj_) {
    struct bpf_prog_info info;
    std::memset(&info, 0, sizeof info);
    uint32_t len = sizeof info;
    if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len) == 0)
      out.emplace_back(bpf_program__name(prog), info.verified_insns);
  }
  return out;
}

}  // namespace mmp::test
