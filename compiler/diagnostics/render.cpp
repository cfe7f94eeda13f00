#include "diagnostics/render.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace mmp {
namespace {

struct Palette {
  bool on;
  std::string_view bold() const { return on ? "\x1b[1m" : ""; }
  std::string_view red() const { return on ? "\x1b[1;31m" : ""; }
  std::string_view magenta() const { return on ? "\x1b[1;35m" : ""; }
  std::string_view green() const { return on ? "\x1b[1;32m" : ""; }
  std::string_view cyan() const { return on ? "\x1b[1;36m" : ""; }
  std::string_view reset() const { return on ? "\x1b[0m" : ""; }
};

Severity shownSeverity(const Diagnostic& d, const RenderOptions& opts) {
  return opts.werror ? Severity::Error : d.severity;
}

// Prints the source line of `r` and a caret with tildes under the range.
void printSnippet(SourceRange r, const SourceManager& sm, std::ostream& os, const Palette& p) {
  const SourceFile& f = sm.file(r.file);
  LineColumn at = f.position(r.begin);
  std::string_view line = f.line(at.line);
  std::string gutter = std::to_string(at.line);
  os << fmt::format(" {} | {}\n", gutter, line);
  // Pad and underline by characters: UTF-8 continuation bytes take no column.
  auto continuation = [](char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; };
  std::string pad;
  for (uint32_t i = 0; i + 1 < at.column && i < line.size(); ++i)
    if (!continuation(line[i])) pad += line[i] == '\t' ? '\t' : ' ';
  size_t width = 0;
  for (size_t i = at.column - 1; i < line.size() && i < at.column - 1 + (r.end - r.begin); ++i)
    if (!continuation(line[i])) ++width;
  width = std::max<size_t>(1, width);
  os << fmt::format(" {} | {}{}^{}{}\n", std::string(gutter.size(), ' '), pad, p.green(),
                    std::string(width - 1, '~'), p.reset());
}

std::string location(SourceRange r, const SourceManager& sm) {
  const SourceFile& f = sm.file(r.file);
  LineColumn at = f.position(r.begin);
  return fmt::format("{}:{}:{}", f.path(), at.line, at.column);
}

}  // namespace

void renderText(const Diagnostic& d, const SourceManager& sm, std::ostream& os,
                const RenderOptions& opts) {
  Palette p{opts.color};
  bool error = shownSeverity(d, opts) == Severity::Error;
  os << fmt::format("{}{}: {}{}[{}]:{} {}{}{}\n", p.bold(), location(d.range, sm),
                    error ? p.red() : p.magenta(), error ? "error" : "warning",
                    diagInfo(d.code).id, p.reset(), p.bold(), d.message, p.reset());
  printSnippet(d.range, sm, os, p);
  for (const auto& n : d.notes) {
    if (!n.range) {
      os << fmt::format("{}note:{} {}\n", p.cyan(), p.reset(), n.message);
      continue;
    }
    os << fmt::format("{}{}: {}note:{} {}\n", p.bold(), location(*n.range, sm), p.cyan(),
                      p.reset(), n.message);
    printSnippet(*n.range, sm, os, p);
  }
  for (const auto& h : d.helps) os << fmt::format("{}help:{} {}\n", p.cyan(), p.reset(), h);
}

void renderJson(const Diagnostic& d, const SourceManager& sm, std::ostream& os,
                const RenderOptions& opts) {
  auto place = [&](SourceRange r, nlohmann::json& j) {
    const SourceFile& f = sm.file(r.file);
    LineColumn b = f.position(r.begin), e = f.position(r.end);
    j["file"] = f.path();
    j["line"] = b.line;
    j["column"] = b.column;
    j["end_line"] = e.line;
    j["end_column"] = e.column;
  };
  nlohmann::json j;
  place(d.range, j);
  j["severity"] = shownSeverity(d, opts) == Severity::Error ? "error" : "warning";
  j["code"] = std::string(diagInfo(d.code).id);
  j["message"] = d.message;
  j["notes"] = nlohmann::json::array();
  for (const auto& n : d.notes) {
    nlohmann::json nj;
    if (n.range) place(*n.range, nj);
    nj["message"] = n.message;
    j["notes"].push_back(std::move(nj));
  }
  j["help"] = d.helps;
  os << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

}  // namespace mmp
