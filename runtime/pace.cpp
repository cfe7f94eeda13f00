#include "pace.h"

#include "actions/held_files.h"


#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace mmp::runtime {

void Pace::observe(std::chrono::steady_clock::time_point now, uint64_t available, uint64_t total) {
  total_ = total;
  if (seen_ && now > last_) {
    double dt = std::chrono::duration<double>(now - last_).count();
    double falling = (static_cast<double>(lastAvailable_) - static_cast<double>(available)) / dt;
    // Half the weight to the newest reading: a leak that starts is seen
    // within a tick or two, one that stops is forgotten as fast.
    rate_ = std::max(0.0, 0.5 * rate_ + 0.5 * falling);
  }
  last_ = now;
  lastAvailable_ = available;
  seen_ = true;
}

std::chrono::nanoseconds Pace::next(std::chrono::nanoseconds interval) const {
  if (rate_ <= 0 || interval <= kFloor) return interval;
  double seconds = static_cast<double>(lastAvailable_) / rate_ / kTicksToExhaustion;
  auto paced = std::chrono::nanoseconds(static_cast<int64_t>(std::min(seconds, 3600.0) * 1e9));
  if (static_cast<double>(lastAvailable_) < kNearShare * static_cast<double>(total_))
    paced = std::min<std::chrono::nanoseconds>(paced, kNearTick);
  return std::clamp<std::chrono::nanoseconds>(paced, kFloor, interval);
}

MemoryLeft memoryLeft() {
  // Through a file held open: this runs at every tick, up to 100 times a
  // second, as memory runs out (held_files.h).
  std::string text = HeldFiles::proc().read("/proc", "meminfo", true);
  if (text.empty()) return {};
  const char* buf = text.c_str();
  auto kib = [&](const char* key) -> uint64_t {
    const char* at = std::strstr(buf, key);
    return at ? std::strtoull(at + std::strlen(key), nullptr, 10) : 0;
  };
  return {(kib("MemAvailable:") + kib("SwapFree:")) * 1024, (kib("MemTotal:") + kib("SwapTotal:")) * 1024,
          kib("MemAvailable:") * 1024, kib("MemTotal:") * 1024};
}

}  // namespace mmp::runtime
