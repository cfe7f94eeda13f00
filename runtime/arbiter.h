// Several policies in one mmrun: when their decisions meet on one cgroup
// within one interval, the policy given earlier on the command line wins;
// a later policy's decision there is overruled (logged and counted).
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>

namespace mmp::runtime {

class Arbiter {
public:
  using Clock = std::chrono::steady_clock;
  explicit Arbiter(std::chrono::nanoseconds window) : window_(window) {}
  // The shortest interval of the policies now running (--policy-dir
  // changes them); the claims made stay.
  void setWindow(std::chrono::nanoseconds window) { window_ = window; }

  // Policy `rank` (its place on the command line, then in the policy
  // directory, from 0) wants to act on
  // `cgroup`. Returns the name of an earlier policy that acted on it within
  // the window (the decision is then overruled), else records the claim.
  std::optional<std::string> claim(const std::string& cgroup, size_t rank, const std::string& policy,
                                   Clock::time_point now = Clock::now());

private:
  struct Claim {
    size_t rank;
    std::string policy;
    Clock::time_point at;
  };
  std::chrono::nanoseconds window_;
  std::map<std::string, Claim> claims_;
};

}  // namespace mmp::runtime
