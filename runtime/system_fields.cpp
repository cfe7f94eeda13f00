#include "system_fields.h"

#include "actions/held_files.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace mmp::runtime {

namespace {

// MemTotal: 16316412 kB → bytes
std::map<std::string, uint64_t> meminfo() {
  std::map<std::string, uint64_t> out;
  std::istringstream in(HeldFiles::proc().read("/proc", "meminfo", true));  // at every tick: held open
  std::string key;
  uint64_t kib;
  std::string unit;
  while (in >> key >> kib) {
    std::getline(in, unit);
    if (!key.empty() && key.back() == ':') key.pop_back();
    out[key] = kib * 1024;
  }
  return out;
}

// "some avg10=1.23 avg60=... total=456" → {"some:avg10": 1230} in thousandths
// of a percent, {"some:total": 456000}: the total stall time, from
// microseconds to nanoseconds.
std::map<std::string, uint64_t> pressure() {
  std::map<std::string, uint64_t> out;
  std::ifstream in("/proc/pressure/memory");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string kind, item;
    words >> kind;
    while (words >> item) {
      size_t eq = item.find('=');
      if (eq == std::string::npos) continue;
      std::string name = item.substr(0, eq), value = item.substr(eq + 1);
      if (name == "total") {
        out[kind + ":total"] = std::strtoull(value.c_str(), nullptr, 10) * 1000;
        continue;
      }
      if (name.rfind("avg", 0) != 0) continue;
      double v = std::stod(value);
      out[kind + ":" + name] = static_cast<uint64_t>(v * 1000 + 0.5);
    }
  }
  return out;
}

}  // namespace

std::map<std::string, uint64_t> zramStats(const std::string& sysBlock) {
  std::map<std::string, uint64_t> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(sysBlock, ec)) {
    if (e.path().filename().string().rfind("zram", 0) != 0) continue;
    std::ifstream in(e.path() / "mm_stat");
    uint64_t orig = 0, compr = 0, used = 0;
    if (!(in >> orig >> compr >> used)) continue;
    out["orig_data_size"] += orig;
    out["compr_data_size"] += compr;
    out["mem_used_total"] += used;
  }
  return out;
}

void refreshSystemFields(const Manifest& m, struct bpf_map* map) {
  if (!map) return;
  const auto& layout = m.snapshot;
  std::vector<uint64_t> values(layout.size(), 0);
  auto mem = meminfo();
  auto psi = pressure();
  std::map<std::string, uint64_t> zram;
  bool zramRead = false;
  for (size_t i = 0; i < layout.size(); ++i) {
    const std::string& source = layout[i].runtime;
    if (source.rfind("meminfo:", 0) == 0) values[i] = mem[source.substr(8)];
    else if (source.rfind("pressure:", 0) == 0) values[i] = psi[source.substr(9)];
    else if (source.rfind("zram:", 0) == 0) {
      if (!zramRead) zram = zramStats();  // once a tick, and only for a policy that reads it
      zramRead = true;
      values[i] = zram[source.substr(5)];
    }
  }
  uint32_t key = 0;
  if (values.size() * 8 == bpf_map__value_size(map)) bpf_map_update_elem(bpf_map__fd(map), &key, values.data(), BPF_ANY);
}

}  // namespace mmp::runtime
