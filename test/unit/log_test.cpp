// mmrun's log records with hostile cgroup names (runtime/log.cpp): no
// control byte reaches the terminal, and JSON keeps the exact bytes.
#include "log.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace mmp::runtime {
namespace {

// A name that, printed raw, returns the carriage and writes a forged record.
const std::string kForged = "/evil\r2026-01-01T00:00:00.000Z decision p r cgroup=/FAKE action=kill enacted\x1b]0;t\x07\xff";

std::string logged(const LogRecord& r, LogFormat f) {
  testing::internal::CaptureStdout();
  writeLog(r, f, "T");
  return testing::internal::GetCapturedStdout();
}

LogRecord record() {
  LogRecord r{"decision", "p", "p.mmp:3", kForged, "log", "", "logged", "", "say \"hi\" \x1b[2J", {}};
  r.values = {{"memcg.usage", "1MiB"}};
  return r;
}

TEST(Log, TextEscapesControlBytesQuotesAndInvalidUtf8) {
  std::string line = logged(record(), LogFormat::Text);
  ASSERT_EQ(line.back(), '\n');
  line.pop_back();
  for (char c : line) EXPECT_FALSE(static_cast<unsigned char>(c) < 0x20 || c == 0x7f) << line;
  EXPECT_EQ(line.find('\xff'), std::string::npos);
  EXPECT_NE(line.find("cgroup=\"/evil\\r2026-01-01T00:00:00.000Z decision p r cgroup=/FAKE action=kill "
                      "enacted\\x1b]0;t\\x07\\xff\" action=log"),
            std::string::npos)
      << line;
  EXPECT_NE(line.find("message=\"say \\\"hi\\\" \\x1b[2J\""), std::string::npos) << line;
}

TEST(Log, JsonKeepsTheExactBytesOfANonUtf8Name) {
  auto j = nlohmann::json::parse(logged(record(), LogFormat::Json));
  std::string hex;
  for (unsigned char c : kForged) hex += fmt::format("{:02x}", c);
  EXPECT_EQ(j["cgroup_hex"], hex);
  EXPECT_EQ(j["cgroup"].get<std::string>().substr(0, 6), "/evil\r");  // JSON escapes it; U+FFFD for 0xff
  EXPECT_FALSE(j.contains("message_hex"));                         // valid UTF-8: as it is
}

}  // namespace
}  // namespace mmp::runtime
