#include "load/load.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstring>
#include <filesystem>
#include <map>

#include "parse/parse.h"
#include "safe_file.h"
#include "support/suggest.h"

namespace mmp {

namespace fs = std::filesystem;

bool readSource(const std::string& path, SourceManager& sm, uint32_t& file, std::string& error) {
  // Only a regular file, of bounded size: /dev/zero grew mmpc to 3 GB and a
  // FIFO blocked it forever.
  std::string text;
  if (!readRegularFile(path, kMaxSourceBytes, text, error)) return false;
  file = sm.add(path, std::move(text));
  return true;
}

namespace {

constexpr size_t kMaxImports = 64;

// Compares the names after their directory (`std/`), which every
// candidate shares and which would make any two names look alike.
std::optional<std::string> closestMatchByBase(const std::string& name, const std::vector<std::string>& candidates) {
  auto base = [](const std::string& s) { return s.substr(s.rfind('/') + 1); };
  std::vector<std::string> bases;
  for (const auto& c : candidates) bases.push_back(base(c));
  auto best = closestMatch(base(name), bases);
  if (!best) return std::nullopt;
  for (const auto& c : candidates)
    if (base(c) == *best) return c;
  return std::nullopt;
}

class Loader {
public:
  Loader(const std::string& stdlibDir, SourceManager& sm, Diagnostics& diags)
      : stdlib_(stdlibDir), sm_(sm), diags_(diags) {}

  // Depth-first: a file's imports land before it.
  void load(uint32_t file, std::vector<std::unique_ptr<ast::Policy>>& out) {
    auto policy = parsePolicy(sm_, file, diags_);
    if (!policy) return;
    for (auto& item : policy->items) {
      auto* imp = llvm::dyn_cast<ast::ImportDecl>(item.get());
      if (imp) loadImport(*imp, out);
    }
    out.push_back(std::move(policy));
  }

private:
  void loadImport(ast::ImportDecl& imp, std::vector<std::unique_ptr<ast::Policy>>& out) {
    std::string name = imp.path.value;
    if (name.size() > 4 && name.ends_with(".mmp")) name.resize(name.size() - 4);
    if (name.empty() || name.front() == '/' || name.find("..") != std::string::npos) {
      diags_.report(DiagCode::E0100, imp.path.range, fmt::format("cannot import `{}`", imp.path.value))
          .help("imports name a policy of the standard library, such as \"std/earlyoom\"");
      return;
    }
    if (auto it = state_.find(name); it != state_.end()) {
      if (it->second == State::Loading)
        diags_.report(DiagCode::E0103, imp.path.range, fmt::format("`{}` imports itself through this import", name))
            .help("remove one of the imports that form the cycle");
      else if (const ast::ImportDecl* first = first_[name]; configures(imp) || configures(*first))
        diags_.report(DiagCode::E0106, imp.path.range,
                      fmt::format("`{}` is already imported, and one of its imports sets its {}", name,
                                  imp.scopes.empty() && first->scopes.empty() ? "parameters" : "scope"))
            .note(first->path.range, "first imported here")
            .help("a policy of the standard library is loaded once: set its parameters and scope in one import");
      return;  // loaded once
    }
    fs::path path = fs::path(stdlib_) / (name + ".mmp");
    if (state_.size() >= kMaxImports) {
      diags_.report(DiagCode::E0104, imp.path.range,
                    fmt::format("cannot import `{}`: a policy loads at most {} files of the standard library", name,
                                kMaxImports))
          .help("import fewer policies: each file is loaded once, whoever imports it");
      return;
    }
    std::string error;
    uint32_t file;
    if (!readSource(path.string(), sm_, file, error)) {
      if (error != std::strerror(ENOENT)) {
        diags_.report(DiagCode::E0100, imp.path.range, fmt::format("cannot read `{}` of the standard library: {}", name, error))
            .note(fmt::format("looked for {}", path.string()));
        return;
      }
      auto& d = diags_.report(DiagCode::E0100, imp.path.range, fmt::format("cannot find `{}` in the standard library", name));
      if (auto best = closestMatchByBase(name, available())) d.help(fmt::format("did you mean \"{}\"?", *best));
      else d.note(fmt::format("looked for {}", path.string()));
      return;
    }
    state_[name] = State::Loading;
    first_[name] = &imp;
    load(file, out);
    state_[name] = State::Done;
    if (!out.empty() && out.back()->file == file) configure(imp, *out.back());
  }

  static bool configures(const ast::ImportDecl& imp) { return !imp.scopes.empty() || !imp.args.empty(); }

  // The importer's `with` values bound to the policy's parameters, and its
  // `in` made the one scope of every rule the policy has.
  void configure(ast::ImportDecl& imp, ast::Policy& policy) {
    policy.importedBy = &imp;
    std::map<std::string, ast::LetDecl*> lets;
    std::vector<std::string> params;
    for (auto& item : policy.items)
      if (auto* let = llvm::dyn_cast<ast::LetDecl>(item.get())) {
        lets.emplace(let->name, let);
        if (let->param) params.push_back(let->name);
      }
    std::map<std::string, const ast::ImportArg*> seen;
    for (const auto& arg : imp.args) {
      if (auto [it, fresh] = seen.emplace(arg.name, &arg); !fresh) {
        diags_.report(DiagCode::E0102, arg.nameRange, fmt::format("parameter `{}` is set twice", arg.name))
            .note(it->second->nameRange, "first set here")
            .help("keep one value per parameter");
        continue;
      }
      auto found = lets.find(arg.name);
      if (found == lets.end() || !found->second->param) {
        auto& d = diags_.report(DiagCode::E0105, arg.nameRange,
                                fmt::format("`{}` has no parameter `{}`", imp.path.value, arg.name));
        if (found != lets.end()) d.note(found->second->nameRange, "a `let` of the policy, private to it");
        if (auto best = closestMatch(arg.name, params)) d.help(fmt::format("did you mean `{}`?", *best));
        else if (params.empty()) d.help(fmt::format("`{}` has no parameters", imp.path.value));
        else d.help(fmt::format("its parameters: {}", fmt::join(params, ", ")));
        continue;
      }
      found->second->given = arg.value.get();
    }
    if (!imp.scopes.empty()) {
      imp.rescope = std::make_unique<ast::Scope>(imp.range);
      imp.rescope->patterns = imp.scopes;
    }
  }

  // The policies of the standard library, by name. Nothing here touches a
  // file: a symbolic link loop in the directory threw filesystem_error
  // (fs::relative resolves links) and aborted mmpc.
  std::vector<std::string> available() const {
    std::vector<std::string> names;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(stdlib_, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec))
      if (it->path().extension() == ".mmp")
        names.push_back(it->path().lexically_relative(stdlib_).replace_extension().string());
    return names;
  }

  enum class State { Loading, Done };
  std::string stdlib_;
  SourceManager& sm_;
  Diagnostics& diags_;
  std::map<std::string, State> state_;
  std::map<std::string, const ast::ImportDecl*> first_;  // the import that loaded each file
};

}  // namespace

std::unique_ptr<LoadedPolicy> loadPolicy(uint32_t file, const std::string& stdlibDir, SourceManager& sm,
                                         Diagnostics& diags) {
  auto loaded = std::make_unique<LoadedPolicy>();
  Loader(stdlibDir, sm, diags).load(file, loaded->files);
  // The main file is the last one loaded, if it parsed at all.
  if (loaded->files.empty() || loaded->files.back()->file != file) return nullptr;
  return loaded;
}

}  // namespace mmp
