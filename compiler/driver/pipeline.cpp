#include <fmt/format.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <map>
#include <tuple>

#include <nlohmann/json.hpp>

#include "diagnostics/render.h"
#include "driver/driver.h"
#include "load/load.h"

namespace mmp {

namespace fs = std::filesystem;

std::string stdlibDirectory(const DriverOptions& opts) {
  if (!opts.stdlibDir.empty()) return opts.stdlibDir;
  if (const char* env = std::getenv("MMP_STDLIB"); env && *env) return env;
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    fs::path installed = exe.parent_path().parent_path() / "share/mmp/stdlib";
    if (fs::exists(installed / "bindings/kernel.json", ec)) return installed.string();
  }
  return MMP_SOURCE_STDLIB;
}

std::optional<Bindings> loadKernelBindings(const DriverOptions& opts) {
  std::string path = (fs::path(stdlibDirectory(opts)) / "bindings/kernel.json").string();
  auto bindings = loadBindings(path);
  if (bindings) return std::move(*bindings);
  std::string message = llvm::toString(bindings.takeError());
  const char* help = "restore the file, or point --stdlib at a complete standard library";
  if (opts.format == DiagFormat::Json) {
    nlohmann::json j{{"file", path}, {"severity", "error"}, {"code", "E0005"}, {"message", message},
                     {"notes", nlohmann::json::array()}, {"help", {help}}};
    std::cerr << j.dump() << "\n";
  } else {
    std::cerr << fmt::format("mmpc: error[E0005]: {}\nhelp: {}\n", message, help);
  }
  return std::nullopt;
}

std::unique_ptr<FrontEndResult> runFrontEnd(const std::string& path, const Bindings& bindings,
                                            const DriverOptions& opts) {
  auto r = std::make_unique<FrontEndResult>();
  uint32_t file;
  std::string error;
  if (!readSource(path, r->sources, file, error)) {
    std::cerr << fmt::format("mmpc: error: cannot read '{}': {}\n", path, error);
    return nullptr;
  }
  r->loaded = loadPolicy(file, stdlibDirectory(opts), r->sources, r->diags);
  if (!r->loaded) return r;
  r->ok = checkPolicy(*r->loaded, bindings, r->diags, r->checked);
  return r;
}

size_t printDiagnostics(const FrontEndResult& r, const DriverOptions& opts) {
  RenderOptions ro;
  ro.werror = opts.werror;
  ro.color = opts.color == ColorMode::Always ||
             (opts.color == ColorMode::Auto && isatty(STDERR_FILENO) && !std::getenv("NO_COLOR"));
  // Source order, file by file, as a reader goes through the policy.
  std::vector<const Diagnostic*> sorted;
  for (const auto& d : r.diags.all()) sorted.push_back(&d);
  std::stable_sort(sorted.begin(), sorted.end(), [](const Diagnostic* a, const Diagnostic* b) {
    return std::tie(a->range.file, a->range.begin) < std::tie(b->range.file, b->range.begin);
  });
  // Text shows at most kSameLine diagnostics of one code on one line, then
  // says how many more there are (JSON lists them all: it repeats no source).
  constexpr size_t kSameLine = 10;
  std::map<std::tuple<uint32_t, uint32_t, std::string_view>, size_t> seen;
  for (const Diagnostic* d : sorted) {
    if (opts.format == DiagFormat::Json) {
      renderJson(*d, r.sources, std::cerr, ro);
      continue;
    }
    uint32_t line = r.sources.file(d->range.file).position(d->range.begin).line;
    if (++seen[{d->range.file, line, diagInfo(d->code).id}] <= kSameLine) renderText(*d, r.sources, std::cerr, ro);
  }
  for (const auto& [where, count] : seen)
    if (count > kSameLine)
      std::cerr << fmt::format("note: {} more [{}] on line {} of {} not shown\n", count - kSameLine,
                               std::get<2>(where), std::get<1>(where), r.sources.file(std::get<0>(where)).path());
  size_t errors = r.diags.errorCount(), warnings = r.diags.warningCount();
  if (opts.werror) {
    errors += warnings;
    warnings = 0;
  }
  if (opts.format == DiagFormat::Text && (errors || warnings)) {
    std::vector<std::string> parts;
    if (errors) parts.push_back(fmt::format("{} error{}", errors, errors == 1 ? "" : "s"));
    if (warnings) parts.push_back(fmt::format("{} warning{}", warnings, warnings == 1 ? "" : "s"));
    std::cerr << fmt::format("{}: {}\n", r.sources.file(0).path(), fmt::join(parts, ", "));
  }
  return errors;
}

}  // namespace mmp
