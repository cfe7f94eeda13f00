#include "psi_triggers.h"

#include <bpf/bpf.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>

namespace mmp::runtime {

namespace {
constexpr uint64_t kWindowUs = 1'000'000;  // the kernel takes 500 ms to 10 s
}

PsiTriggers::PsiTriggers(const Manifest& m) {
  for (const auto& rule : m.rules)
    if (rule.event == "pressure") scopeBits_ |= 1ULL << rule.scope;
  // Thousandths of a percent of the window, in microseconds.
  uint64_t raw = m.settings.pressureTrigger.raw;
  spec_ = fmt::format("some {} {}", std::max<uint64_t>(1, kWindowUs / 100'000 * raw), kWindowUs);
}

PsiTriggers::~PsiTriggers() {
  for (const auto& [id, fd] : byCgroup_) close(fd);
}

std::vector<std::string> PsiTriggers::sync(const std::vector<Cgroup>& cgroups, const Scopes& scopes,
                                           const std::function<void(int, uint64_t, bool)>& watch) {
  std::vector<std::string> errors;
  std::set<uint64_t> live;
  for (const auto& c : cgroups) {
    if (!(scopes.maskOf(c.path) & scopeBits_)) continue;
    live.insert(c.id);
    if (byCgroup_.count(c.id)) continue;
    // A trigger lives as long as its file is open: one fd per cgroup.
    int fd = open((c.dir + "/memory.pressure").c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0 || write(fd, spec_.c_str(), spec_.size() + 1) < 0) {
      errors.push_back(fmt::format("{}/memory.pressure <- \"{}\": {}", c.dir, spec_, std::strerror(errno)));
      if (fd >= 0) close(fd);
      continue;
    }
    byCgroup_[c.id] = fd;
    byFd_[fd] = c.id;
    watch(fd, c.id, true);
  }
  for (auto it = byCgroup_.begin(); it != byCgroup_.end();) {
    if (live.count(it->first)) {
      ++it;
      continue;
    }
    watch(it->second, it->first, false);
    close(it->second);
    byFd_.erase(it->second);
    it = byCgroup_.erase(it);
  }
  return errors;
}

uint64_t PsiTriggers::cgroupOf(int fd) const {
  auto it = byFd_.find(fd);
  return it == byFd_.end() ? 0 : it->second;
}

bool PsiTriggers::fire(struct bpf_map* trigger, uint64_t cgroup, const std::function<bool()>& walk) {
  if (!trigger) return false;
  uint32_t zero = 0;
  uint64_t none = 0;
  bpf_map_update_elem(bpf_map__fd(trigger), &zero, &cgroup, BPF_ANY);
  bool ok = walk();
  bpf_map_update_elem(bpf_map__fd(trigger), &zero, &none, BPF_ANY);
  return ok;
}

}  // namespace mmp::runtime
