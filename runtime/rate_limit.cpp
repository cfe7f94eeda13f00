#include "rate_limit.h"

namespace mmp::runtime {

bool RateLimit::take(Clock::time_point now) {
  // The window (now - 1 s, now] may hold N - 1 earlier actions.
  while (!recent_.empty() && now - recent_.front() >= std::chrono::seconds(1)) recent_.pop_front();
  if (recent_.size() >= perSecond_) return false;
  recent_.push_back(now);
  return true;
}

}  // namespace mmp::runtime
