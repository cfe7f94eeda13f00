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

// A snippet shows at most this many bytes of a line, around the caret: a
// long line would otherwise be printed again with every diagnostic on it
// (16,000 on one 192 KB line made 7.7 GB of stderr).
constexpr size_t kSnippetBytes = 120, kSnippetBefore = 40;

bool continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// Moves `i` back to the start of the UTF-8 character it is in.
size_t charStart(std::string_view line, size_t i) {
  while (i > 0 && i < line.size() && continuation(line[i])) --i;
  return i;
}

// Prints the source line of `r` and a caret with tildes under the range;
// a long line is clipped to a window around the caret, marked with `...`.
void printSnippet(SourceRange r, const SourceManager& sm, std::ostream& os, const Palette& p) {
  const SourceFile& f = sm.file(r.file);
  LineColumn at = f.position(r.begin);
  std::string_view whole = f.line(at.line);
  size_t caret = std::min<size_t>(at.column - 1, whole.size());
  bool clip = whole.size() > kSnippetBytes;
  size_t from = clip && caret > kSnippetBefore ? charStart(whole, caret - kSnippetBefore) : 0;
  size_t to = from + kSnippetBytes >= whole.size() ? whole.size() : charStart(whole, from + kSnippetBytes);
  std::string_view line = whole.substr(from, to - from);
  std::string before = from > 0 ? "..." : "", after = to < whole.size() ? "..." : "";
  std::string gutter = std::to_string(at.line);
  os << fmt::format(" {} | {}{}{}\n", gutter, before, line, after);
  // Pad and underline by characters: UTF-8 continuation bytes take no column.
  std::string pad(before.size(), ' ');
  for (size_t i = 0; i < caret - from && i < line.size(); ++i)
    if (!continuation(line[i])) pad += line[i] == '\t' ? '\t' : ' ';
  size_t width = 0;
  for (size_t i = caret - from; i < line.size() && i < caret - from + (r.end - r.begin); ++i)
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
