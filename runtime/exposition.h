// Metrics as Prometheus scrapes them: the text exposition format 0.0.4, or
// OpenMetrics 1.0.0 when the scraper asks for it. A writer of families and
// samples, and a histogram with fixed buckets; what the metrics are is
// metrics.cpp's business. Pure, so that both formats are unit-tested
// (test/unit/exposition_test.cpp) and checked by `promtool check metrics`.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mmp::runtime {

enum class MetricType { Counter, Gauge, Histogram, Info };

using Labels = std::vector<std::pair<std::string, std::string>>;

// Cumulative buckets: counts[i] observations at or under bounds[i]; the
// +Inf bucket is `count`.
class Histogram {
public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double value);
  const std::vector<double>& bounds() const { return bounds_; }
  const std::vector<uint64_t>& counts() const { return counts_; }
  uint64_t count() const { return count_; }
  double sum() const { return sum_; }

private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  double sum_ = 0;
};

class Exposition {
public:
  explicit Exposition(bool openMetrics) : openMetrics_(openMetrics) {}

  // Starts a family. `name` is the sample name: a counter's ends in
  // `_total`, an info's in `_info` (OpenMetrics names the family without
  // the suffix).
  void family(std::string_view name, MetricType type, std::string_view help);
  void sample(std::string_view name, const Labels& labels, double value);
  // NAME_bucket for each bound and +Inf, NAME_sum, NAME_count.
  void histogram(std::string_view name, const Labels& labels, const Histogram& h);
  // The whole text (OpenMetrics ends with `# EOF`).
  std::string finish();

  // The Content-Type of each format.
  static const char* contentType(bool openMetrics);
  // Whether an Accept header asks for OpenMetrics (as Prometheus does
  // when it may).
  static bool wantsOpenMetrics(std::string_view accept);

private:
  std::string number(double v, bool label) const;
  bool openMetrics_;
  std::string out_;
};

// A label value or HELP text as both formats escape it: `\`, `"` and
// newline backslashed; invalid UTF-8 replaced (OpenMetrics requires it).
std::string escapeLabelValue(std::string_view v);

}  // namespace mmp::runtime
