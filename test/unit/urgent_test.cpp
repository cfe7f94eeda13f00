// mmrun's scheduling on the kill path (runtime/urgent.h): SCHED_FIFO while
// decisions are enacted and back after, and a SIGKILL's victim raised in
// every thread. Both need CAP_SYS_NICE: without it the test says SKIPPED.
#include "urgent.h"

#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using mmp::runtime::hastenExit;
using mmp::runtime::Urgent;

namespace {

// Whether this process may raise a task's priority; says why not.
bool maySchedule() {
  errno = 0;
  int nice = getpriority(PRIO_PROCESS, 0);
  if (setpriority(PRIO_PROCESS, 0, nice - 1) != 0) return false;
  setpriority(PRIO_PROCESS, 0, nice);
  return true;
}

// Field 19 of /proc/PID/task/TID/stat, the nice value.
int niceOf(pid_t pid, const std::string& tid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/task/" + tid + "/stat");
  std::string line;
  std::getline(in, line);
  std::istringstream rest(line.substr(line.rfind(')') + 2));  // from field 3
  std::string field;
  for (int i = 3; i < 19; ++i) rest >> field;
  int nice = 0;
  rest >> nice;
  return nice;
}

std::vector<std::string> tasksOf(pid_t pid) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& t : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec))
    out.push_back(t.path().filename().string());
  return out;
}

void* sleeper(void*) {
  while (true) pause();
  return nullptr;
}

}  // namespace

TEST(Urgent, RaisesTheThreadWhileInScopeAndDropsItAfter) {
  if (!maySchedule()) GTEST_SKIP() << "SKIPPED: no CAP_SYS_NICE, mmrun would stay in the normal class";
  const int before = sched_getscheduler(0);  // SCHED_OTHER, or SCHED_IDLE under chrt -i
  {
    Urgent urgent(true);
    EXPECT_EQ(sched_getscheduler(0), SCHED_FIFO | SCHED_RESET_ON_FORK);
  }
  EXPECT_EQ(sched_getscheduler(0), SCHED_OTHER);  // mmrun's class between decisions
  {
    Urgent off(false);  // mmrun load --no-realtime
    EXPECT_EQ(sched_getscheduler(0), SCHED_OTHER);
  }
  struct sched_param p {};
  sched_setscheduler(0, before, &p);
}

TEST(Urgent, HastenExitRaisesEveryThreadOfTheVictim) {
  if (!maySchedule()) GTEST_SKIP() << "SKIPPED: no CAP_SYS_NICE, a victim cannot be raised";
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    pthread_t t;
    pthread_create(&t, nullptr, sleeper, nullptr);
    sleeper(nullptr);
  }
  for (int i = 0; i < 500 && tasksOf(child).size() < 2; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  std::vector<std::string> tasks = tasksOf(child);
  ASSERT_EQ(tasks.size(), 2u) << "the child's second thread did not start";
  const int inherited = getpriority(PRIO_PROCESS, 0);  // 0, or 19 under `nice -n 19 ctest`
  for (const auto& t : tasks) EXPECT_EQ(niceOf(child, t), inherited);
  hastenExit(child);
  for (const auto& t : tasks) EXPECT_EQ(niceOf(child, t), -20) << "thread " << t;
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  hastenExit(child);  // gone: nothing to raise, no failure
}
