#include "rate_limit.h"

namespace mmp::runtime {

bool RateLimit::take(Clock::time_point now) {
  // The window (now - 1 s, now] may hold N - 1 earlier actions.
  while (!recent_.empty() && now - recent_.front() >= std::chrono::seconds(1)) recent_.pop_front();
  if (recent_.size() >= perSecond_) return false;
  recent_.push_back(now);
  return true;
}

void RateLimit::note(Clock::time_point now) {
  while (!recent_.empty() && now - recent_.front() >= std::chrono::seconds(1)) recent_.pop_front();
  recent_.push_back(now);
  while (recent_.size() > perSecond_) recent_.pop_front();  // take() needs no more than N
}

}  // namespace mmp::runtime
