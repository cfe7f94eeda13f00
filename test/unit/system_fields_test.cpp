// The zram devices' figures behind system.zram.* (runtime/system_fields.cpp),
// read from a directory laid out as /sys/block is.
#include "system_fields.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace mmp::runtime {
namespace {

namespace fs = std::filesystem;

struct SysBlock {
  fs::path root = fs::temp_directory_path() / ("mmp-sysblock-" + std::to_string(getpid()));
  SysBlock() { fs::create_directories(root); }
  ~SysBlock() { fs::remove_all(root); }
  void device(const std::string& name, const std::string& mmStat) {
    fs::create_directories(root / name);
    if (!mmStat.empty()) std::ofstream(root / name / "mm_stat") << mmStat;
  }
};

TEST(ZramStats, EveryDeviceSummedOthersIgnored) {
  SysBlock s;
  // orig_data_size compr_data_size mem_used_total mem_limit mem_used_max same_pages pages_compacted huge_pages
  s.device("zram0", "104857600 26214400 27262976 0 27262976 12 0 0\n");
  s.device("zram1", "4096 1024 8192 0 8192 0 0 0 0\n");
  s.device("vda", "1 2 3 4 5 6 7 8\n");  // not zram
  s.device("zram2", "");                  // no mm_stat: skipped
  auto z = zramStats(s.root.string());
  EXPECT_EQ(z["orig_data_size"], 104857600u + 4096u);
  EXPECT_EQ(z["compr_data_size"], 26214400u + 1024u);
  EXPECT_EQ(z["mem_used_total"], 27262976u + 8192u);
}

TEST(ZramStats, NoDeviceNoFigures) {
  SysBlock s;
  s.device("loop0", "");
  EXPECT_TRUE(zramStats(s.root.string()).empty());
  EXPECT_TRUE(zramStats((s.root / "missing").string()).empty());
}

}  // namespace
}  // namespace mmp::runtime
