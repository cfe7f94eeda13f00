#include "kernel_kill.h"

#include <bpf/btf.h>
#include <fmt/format.h>

#include "abi/mmp_abi.h"

namespace mmp::runtime {

std::vector<std::string> missingKillKfuncs() {
  static const char* kKfuncs[] = {"bpf_iter_task_new", "bpf_iter_task_next", "bpf_iter_task_destroy",
                                  "bpf_task_from_pid", "bpf_task_release",   "bpf_send_signal_task"};
  std::vector<std::string> missing;
  struct btf* vmlinux = btf__load_vmlinux_btf();
  for (const char* k : kKfuncs)
    if (!vmlinux || btf__find_by_name_kind(vmlinux, k, BTF_KIND_FUNC) < 0) missing.push_back(k);
  btf__free(vmlinux);
  return missing;
}

std::string chooseKillPath(struct bpf_object* obj, bool allowed) {
  struct bpf_program* plain = bpf_object__find_program_by_name(obj, MMP_PROG_MEMCG_RECLAIM);
  struct bpf_program* kernel = bpf_object__find_program_by_name(obj, MMP_PROG_MEMCG_RECLAIM_KERNEL);
  if (!kernel) return "";
  std::string why;
  if (!allowed) {
    why = "mmrun (--dry-run, --pre-kill, or a policy given after another: mmrun kills)";
  } else if (auto missing = missingKillKfuncs(); !missing.empty()) {
    why = fmt::format("mmrun (this kernel lacks {}{}: mmrun kills)", missing.front(),
                      missing.size() > 1 ? fmt::format(" and {} more kfuncs", missing.size() - 1) : "");
  } else {
    if (plain) bpf_program__set_autoload(plain, false);
    return "kernel (the reclaim hook signals the victim: bpf_send_signal_task)";
  }
  bpf_program__set_autoload(kernel, false);
  return why;
}

}  // namespace mmp::runtime
