#include "scopes.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

namespace mmp::runtime {

namespace {

// "/a/b/c" → "/a", "/a/b", "/a/b/c"
std::vector<std::string> selfAndAncestors(const std::string& path) {
  std::vector<std::string> out;
  for (size_t i = 1; i <= path.size(); ++i)
    if (i == path.size() || path[i] == '/') out.push_back(path.substr(0, i));
  return out;
}

}  // namespace

std::vector<ScopePattern> parsePatterns(const std::vector<std::string>& list) {
  std::vector<ScopePattern> out;
  std::string error;
  for (const auto& p : list)
    if (auto parsed = parseScopePattern(p, error)) out.push_back(*parsed);
  return out;
}

Scopes::Scopes(const Manifest& m, const Hierarchy& h) : Scopes(m, ownCgroup(h)) {}

Scopes::Scopes(const Manifest& m, std::string own) : own_(std::move(own)) {
  for (const auto& s : m.scopes) {
    if (scopes_.size() <= s.bit) scopes_.resize(s.bit + 1);
    scopes_[s.bit] = parsePatterns(s.patterns);
  }
  protects_ = parsePatterns(m.protect);
}

bool Scopes::isProtected(const std::string& path) const {
  if (path.empty() || path == "/") return true;
  // mmrun's own cgroup, and its ancestors: acting on them acts on mmrun.
  if (!own_.empty() && own_ != "/" && (own_ == path || own_.rfind(path + "/", 0) == 0)) return true;
  for (const auto& prefix : selfAndAncestors(path))
    for (const auto& q : protects_)
      if (matches(q, prefix)) return true;
  return false;
}

bool Scopes::inScope(uint32_t bit, const std::string& path) const {
  if (bit >= scopes_.size() || isProtected(path)) return false;
  for (const auto& p : scopes_[bit])
    if (matches(p, path)) return true;
  return false;
}

uint64_t Scopes::maskOf(const std::string& path) const {
  uint64_t mask = 0;
  if (isProtected(path)) return 0;
  for (uint32_t bit = 0; bit < scopes_.size(); ++bit)
    for (const auto& p : scopes_[bit])
      if (matches(p, path)) mask |= 1ULL << bit;
  return mask;
}

size_t Scopes::refresh(struct bpf_map* map, const std::vector<Cgroup>& cgroups) {
  int fd = bpf_map__fd(map);
  std::map<uint64_t, uint64_t> now;
  for (const auto& c : cgroups)
    if (uint64_t mask = maskOf(c.path)) now[c.id] = mask;
  for (const auto& [id, mask] : now) {
    auto it = written_.find(id);
    if (it != written_.end() && it->second == mask) continue;
    bpf_map_update_elem(fd, &id, &mask, BPF_ANY);
  }
  for (const auto& [id, mask] : written_)
    if (!now.count(id)) bpf_map_delete_elem(fd, &id);
  written_ = std::move(now);
  return written_.size();
}

void Scopes::refreshProtected(struct bpf_map* map, const std::vector<Cgroup>& cgroups) {
  if (!map) return;
  int fd = bpf_map__fd(map);
  std::map<uint64_t, uint64_t> now;
  for (const auto& c : cgroups)
    if (c.id && isProtected(c.path)) now[c.id] = 1;
  // Gone ones first, so that the map has room for new ones.
  for (const auto& [id, one] : protectedWritten_)
    if (!now.count(id)) bpf_map_delete_elem(fd, &id);
  bool complete = true;
  std::map<uint64_t, uint64_t> written;
  for (const auto& [id, one] : now) {
    if (protectedWritten_.count(id) || bpf_map_update_elem(fd, &id, &one, BPF_ANY) == 0) written[id] = one;
    else complete = false;  // the map is full: the hook must not kill on a partial list
  }
  const uint64_t key = 0, one = 1;
  if (complete) bpf_map_update_elem(fd, &key, &one, BPF_ANY);
  else bpf_map_delete_elem(fd, &key);
  protectedWritten_ = std::move(written);
}

}  // namespace mmp::runtime
