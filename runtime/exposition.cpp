#include "exposition.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "text_escape.h"

namespace mmp::runtime {

namespace {

std::string_view typeName(MetricType t, bool openMetrics) {
  switch (t) {
    case MetricType::Counter: return "counter";
    case MetricType::Gauge: return "gauge";
    case MetricType::Histogram: return "histogram";
    case MetricType::Info: return openMetrics ? "info" : "gauge";  // the text format has no info type
  }
  return "untyped";
}

// OpenMetrics names a counter's family without `_total` and an info's
// without `_info`.
std::string_view familyName(std::string_view name, MetricType t, bool openMetrics) {
  auto strip = [&](std::string_view suffix) {
    return name.ends_with(suffix) ? name.substr(0, name.size() - suffix.size()) : name;
  };
  if (!openMetrics) return name;
  if (t == MetricType::Counter) return strip("_total");
  if (t == MetricType::Info) return strip("_info");
  return name;
}

void appendLabels(std::string& out, const Labels& labels) {
  if (labels.empty()) return;
  out += '{';
  for (size_t i = 0; i < labels.size(); ++i)
    out += fmt::format("{}{}=\"{}\"", i ? "," : "", labels[i].first, escapeLabelValue(labels[i].second));
  out += '}';
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)), counts_(bounds_.size(), 0) {
  std::sort(bounds_.begin(), bounds_.end());
}

void Histogram::observe(double value) {
  for (size_t i = 0; i < bounds_.size(); ++i)
    if (value <= bounds_[i]) ++counts_[i];
  ++count_;
  sum_ += value;
}

std::string escapeLabelValue(std::string_view v) {
  std::string text = replaceInvalidUtf8(v), out;
  for (char c : text) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string Exposition::number(double v, bool label) const {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  // Counts print as integers; OpenMetrics wants a bucket's `le` in its
  // canonical float form (`1.0`, not `1`).
  if (v == std::floor(v) && std::fabs(v) < 1e15)
    return fmt::format("{}{}", static_cast<int64_t>(v), label && openMetrics_ ? ".0" : "");
  return fmt::format("{}", v);
}

void Exposition::family(std::string_view name, MetricType type, std::string_view help) {
  std::string_view f = familyName(name, type, openMetrics_);
  std::string h;
  for (char c : help) h += c == '\\' ? "\\\\" : c == '\n' ? "\\n" : std::string(1, c);
  out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", f, h, f, typeName(type, openMetrics_));
}

void Exposition::sample(std::string_view name, const Labels& labels, double value) {
  out_ += name;
  appendLabels(out_, labels);
  out_ += ' ';
  out_ += number(value, false);
  out_ += '\n';
}

void Exposition::histogram(std::string_view name, const Labels& labels, const Histogram& h) {
  std::string bucket = std::string(name) + "_bucket";
  for (size_t i = 0; i <= h.bounds().size(); ++i) {
    Labels with = labels;
    bool inf = i == h.bounds().size();
    with.emplace_back("le", inf ? "+Inf" : number(h.bounds()[i], true));
    sample(bucket, with, static_cast<double>(inf ? h.count() : h.counts()[i]));
  }
  sample(std::string(name) + "_sum", labels, h.sum());
  sample(std::string(name) + "_count", labels, static_cast<double>(h.count()));
}

std::string Exposition::finish() {
  if (openMetrics_) out_ += "# EOF\n";
  return std::move(out_);
}

const char* Exposition::contentType(bool openMetrics) {
  return openMetrics ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
                     : "text/plain; version=0.0.4; charset=utf-8";
}

bool Exposition::wantsOpenMetrics(std::string_view accept) {
  return accept.find("application/openmetrics-text") != std::string_view::npos;
}

}  // namespace mmp::runtime
