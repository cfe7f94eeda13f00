#include <cerrno>
#include <cstring>

#include "abi/mmp_abi.h"
#include "actions/actions.h"

namespace mmp::runtime {

namespace {

// Whether memory.reclaim takes "swappiness=" (6.1 does not: EINVAL).
// Unknown until the first try.
enum class Swappiness { Unknown, Supported, Unsupported } swappiness = Swappiness::Unknown;

}  // namespace

ActionResult reclaim(const std::string& dir, uint64_t bytes, uint32_t flags) {
  std::string amount = std::to_string(bytes);
  std::string arg;
  if (flags & MMP_RECLAIM_ANON) arg = (flags & MMP_RECLAIM_ONLY) ? "max" : "200";
  if (flags & MMP_RECLAIM_FILE) arg = "0";
  if (!arg.empty() && swappiness != Swappiness::Unsupported) {
    ActionResult r = writeCgroupFile(dir, "memory.reclaim", amount + " swappiness=" + arg);
    if (r.ok || r.detail.find(std::strerror(EINVAL)) == std::string::npos) {
      swappiness = Swappiness::Supported;
      return r;
    }
    swappiness = Swappiness::Unsupported;  // fall back to plain, and say so
  }
  ActionResult r = writeCgroupFile(dir, "memory.reclaim", amount);
  if (!arg.empty()) r.detail += " (this kernel's memory.reclaim takes no swappiness=)";
  return r;
}

}  // namespace mmp::runtime
