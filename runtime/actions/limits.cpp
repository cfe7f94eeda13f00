#include "abi/mmp_abi.h"
#include "actions/actions.h"

namespace mmp::runtime {

namespace {

std::string amount(uint64_t bytes) { return bytes == MMP_UNLIMITED ? "max" : std::to_string(bytes); }

}  // namespace

ActionResult setHigh(const std::string& dir, uint64_t bytes) { return writeCgroupFile(dir, "memory.high", amount(bytes)); }

ActionResult setMax(const Hierarchy& h, const std::string& dir, uint64_t bytes) {
  if (h.version == CgroupVersion::V1)
    return writeCgroupFile(dir, "memory.limit_in_bytes", bytes == MMP_UNLIMITED ? "-1" : std::to_string(bytes));
  return writeCgroupFile(dir, "memory.max", amount(bytes));
}

}  // namespace mmp::runtime
