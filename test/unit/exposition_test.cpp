// The Prometheus text format and OpenMetrics as mmrun writes them
// (runtime/exposition): names, escaping, histograms, the negotiation.
#include "exposition.h"

#include <gtest/gtest.h>

namespace mmp::runtime {
namespace {

// One family of one sample, in either format.
std::string one(bool openMetrics, const char* name, MetricType type, const Labels& labels, double value) {
  Exposition x(openMetrics);
  x.family(name, type, "Help");
  x.sample(name, labels, value);
  return x.finish();
}

TEST(Exposition, CounterInTheTextFormatKeepsTotalInItsHeader) {
  EXPECT_EQ(one(false, "mmp_rule_fired_total", MetricType::Counter, {{"policy", "web"}, {"rule", "web.mmp:4"}}, 3),
            "# HELP mmp_rule_fired_total Help\n# TYPE mmp_rule_fired_total counter\n"
            "mmp_rule_fired_total{policy=\"web\",rule=\"web.mmp:4\"} 3\n");
}

TEST(Exposition, OpenMetricsNamesTheFamilyWithoutSuffixAndEnds) {
  EXPECT_EQ(one(true, "mmp_rule_fired_total", MetricType::Counter, {}, 0),
            "# HELP mmp_rule_fired Help\n# TYPE mmp_rule_fired counter\nmmp_rule_fired_total 0\n# EOF\n");
  EXPECT_EQ(one(true, "mmp_policy_info", MetricType::Info, {{"policy", "web"}}, 1),
            "# HELP mmp_policy Help\n# TYPE mmp_policy info\nmmp_policy_info{policy=\"web\"} 1\n# EOF\n");
}

TEST(Exposition, InfoIsAGaugeInTheTextFormat) {
  EXPECT_NE(one(false, "mmp_policy_info", MetricType::Info, {}, 1).find("# TYPE mmp_policy_info gauge\n"),
            std::string::npos);
}

TEST(Exposition, LabelValuesAreEscaped) {
  EXPECT_EQ(escapeLabelValue("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
  EXPECT_EQ(escapeLabelValue("/ok/path"), "/ok/path");
  // Invalid UTF-8 (a cgroup name is any bytes) becomes U+FFFD.
  EXPECT_EQ(escapeLabelValue(std::string("x\xff")), "x\xef\xbf\xbd");
  Exposition x(false);
  x.sample("m", {{"rule", "we\"ird.mmp:1"}}, 1);
  EXPECT_EQ(x.finish(), "m{rule=\"we\\\"ird.mmp:1\"} 1\n");
}

TEST(Exposition, HelpTextIsEscaped) {
  Exposition x(false);
  x.family("m", MetricType::Gauge, "two\nlines \\ here");
  EXPECT_EQ(x.finish(), "# HELP m two\\nlines \\\\ here\n# TYPE m gauge\n");
}

TEST(Exposition, HistogramIsCumulativeWithInfSumAndCount) {
  Histogram h({0.01, 0.1, 1});
  h.observe(0.005);
  h.observe(0.05);
  h.observe(0.05);
  h.observe(5);
  Exposition x(false);
  x.histogram("lat_seconds", {{"action", "kill"}}, h);
  EXPECT_EQ(x.finish(),
            "lat_seconds_bucket{action=\"kill\",le=\"0.01\"} 1\n"
            "lat_seconds_bucket{action=\"kill\",le=\"0.1\"} 3\n"
            "lat_seconds_bucket{action=\"kill\",le=\"1\"} 3\n"
            "lat_seconds_bucket{action=\"kill\",le=\"+Inf\"} 4\n"
            "lat_seconds_sum{action=\"kill\"} 5.105\n"
            "lat_seconds_count{action=\"kill\"} 4\n");
}

TEST(Exposition, OpenMetricsWritesBucketBoundsAsFloats) {
  Histogram h({0.5, 1, 10});
  Exposition x(true);
  x.histogram("lat_seconds", {}, h);
  std::string text = x.finish();
  EXPECT_NE(text.find("lat_seconds_bucket{le=\"1.0\"} 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("lat_seconds_bucket{le=\"10.0\"} 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("lat_seconds_bucket{le=\"0.5\"} 0\n"), std::string::npos) << text;
}

TEST(Exposition, SampleValues) {
  Exposition x(false);
  x.sample("a", {}, 1700000000.25);
  x.sample("b", {}, 12345678901234.0);
  x.sample("c", {}, 0.000123);
  EXPECT_EQ(x.finish(), "a 1700000000.25\nb 12345678901234\nc 0.000123\n");
}

TEST(Exposition, NegotiatesOpenMetricsFromAccept) {
  // What Prometheus 2.42 sends.
  EXPECT_TRUE(Exposition::wantsOpenMetrics(
      "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
      "text/plain;version=0.0.4;q=0.5,*/*;q=0.1"));
  EXPECT_FALSE(Exposition::wantsOpenMetrics("*/*"));
  EXPECT_FALSE(Exposition::wantsOpenMetrics(""));
  EXPECT_STREQ(Exposition::contentType(false), "text/plain; version=0.0.4; charset=utf-8");
}

}  // namespace
}  // namespace mmp::runtime
