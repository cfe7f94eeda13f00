#include "pressure_fresh.h"

namespace mmp::runtime {

PressureFreshener::PressureFreshener(const Manifest& m, const Hierarchy& h) {
  if (h.version != CgroupVersion::V2) return;  // v1 has no memory.pressure
  for (const auto& f : m.snapshot)
    if (f.context == "memcg" && f.runtime.empty() && f.field.rfind("memcg.pressure", 0) == 0) wanted_ = true;
}

void PressureFreshener::follow(const Scopes& scopes, const std::vector<Cgroup>& cgroups) {
  if (!wanted_) return;
  dirs_.clear();
  for (const auto& c : cgroups)
    if (scopes.maskOf(c.path) && dirs_.size() < HeldFiles::kMaxHeld) dirs_.push_back(c.dir);
  files_.hold(dirs_, {"memory.pressure"});
}

void PressureFreshener::freshen() {
  auto now = std::chrono::steady_clock::now();
  if (now - last_ < std::chrono::seconds(1)) return;
  last_ = now;
  for (const auto& d : dirs_) files_.read(d, "memory.pressure");
}

}  // namespace mmp::runtime
