// mmrun's log records with hostile cgroup names (runtime/log.cpp): no
// control byte reaches the terminal, and JSON keeps the exact bytes; and
// the values of a record as each type shows them.
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

LogRecord kill() {
  LogRecord r{"decision", "p", "p.mmp:6", "/jobs", "kill", "", "enacted", "SIGKILL to pid 7", "", {}};
  r.candidates = {{"pid 7 (hog)", "rss", "200MiB", "victim"},
                  {"pid 8 (tail)", "rss", "1.5MiB", "ranked lower"},
                  {"/jobs/" + std::string("\x1b[2J"), "", "", "protected"}};
  r.candidatesOmitted = 3;
  return r;
}

TEST(Log, TextCarriesTheCandidateTableEscaped) {
  std::string line = logged(kill(), LogFormat::Text);
  EXPECT_NE(line.find("(SIGKILL to pid 7) candidates: pid 7 (hog) rss=200MiB victim; pid 8 (tail) rss=1.5MiB ranked "
                      "lower; /jobs/\\x1b[2J protected; and 3 more\n"),
            std::string::npos)
      << line;
}

TEST(Log, JsonCarriesTheCandidateTable) {
  auto j = nlohmann::json::parse(logged(kill(), LogFormat::Json));
  ASSERT_EQ(j["candidates"].size(), 3u);
  EXPECT_EQ(j["candidates"][0], (nlohmann::json{{"candidate", "pid 7 (hog)"}, {"key", "rss"}, {"value", "200MiB"},
                                                {"verdict", "victim"}}));
  EXPECT_EQ(j["candidates"][2], (nlohmann::json{{"candidate", "/jobs/\x1b[2J"}, {"verdict", "protected"}}));
  EXPECT_EQ(j["candidates_omitted"], 3);
  EXPECT_FALSE(nlohmann::json::parse(logged(record(), LogFormat::Json)).contains("candidates"));
}

TEST(Log, CarriesTheLatencyWhenItHasOne) {
  LogRecord r = kill();
  r.latencyMs = 12.34567;
  EXPECT_EQ(nlohmann::json::parse(logged(r, LogFormat::Json))["latency_ms"], 12.346);
  EXPECT_NE(logged(r, LogFormat::Text).find("(SIGKILL to pid 7) latency=12.346ms candidates:"), std::string::npos);
  EXPECT_FALSE(nlohmann::json::parse(logged(kill(), LogFormat::Json)).contains("latency_ms")) << "replay has none";
  EXPECT_EQ(logged(kill(), LogFormat::Text).find("latency="), std::string::npos);
}

// A kill asked `in kernel` says who made it; the decision's own time is JSON's.
TEST(Log, SaysWhoMadeAKillInKernelAndWhenItWasDecided) {
  LogRecord r = kill();
  r.by = "kernel";
  r.decidedNs = 1234567890123ULL;
  auto j = nlohmann::json::parse(logged(r, LogFormat::Json));
  EXPECT_EQ(j["by"], "kernel");
  EXPECT_EQ(j["decided_ns"], 1234567890123ULL);
  std::string text = logged(r, LogFormat::Text);
  EXPECT_NE(text.find(" enacted by=kernel (SIGKILL to pid 7)"), std::string::npos) << text;
  EXPECT_EQ(text.find("decided"), std::string::npos) << text;
  j = nlohmann::json::parse(logged(kill(), LogFormat::Json));
  EXPECT_FALSE(j.contains("by") || j.contains("decided_ns")) << "other kills, and replay, have neither";
}

}  // namespace
}  // namespace mmp::runtime

// A record's values as the log shows them, by the manifest's type names.
TEST(Log, FormatsEachTypeOfValue) {
  using mmp::runtime::formatValue;
  EXPECT_EQ(formatValue("bytes", 3 << 20), "3MiB");
  EXPECT_EQ(formatValue("percent", 12'500), "12.5%");
  EXPECT_EQ(formatValue("rate", static_cast<uint64_t>(-5)), "-5B/s");
  EXPECT_EQ(formatValue("count rate", 333), "0.333/s");  // thousandths per second
  EXPECT_EQ(formatValue("count rate", 100'000), "100/s");
  EXPECT_EQ(formatValue("count rate", static_cast<uint64_t>(-1'500)), "-1.5/s");
}
