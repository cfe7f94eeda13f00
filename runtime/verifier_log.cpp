#include "verifier_log.h"

#include <fmt/format.h>

#include <cstring>
#include <vector>

namespace mmp::runtime {

std::string verifierVerdict(const std::string& log, int err) {
  std::string program, verdict;
  // "libbpf: prog 'mmp_tick': BPF program load failed: ..."
  if (size_t at = log.find("libbpf: prog '"); at != std::string::npos) {
    size_t end = log.find('\'', at + 14);
    if (end != std::string::npos) program = log.substr(at + 14, end - at - 14);
  }
  if (size_t end = log.find("-- END PROG LOAD LOG --"); end != std::string::npos) {
    // The line before "processed N insns ...", or the last one.
    std::vector<std::string> lines;
    size_t begin = log.rfind("-- BEGIN PROG LOAD LOG --", end);
    std::string body = log.substr(begin == std::string::npos ? 0 : begin, end - (begin == std::string::npos ? 0 : begin));
    for (size_t at = 0; at < body.size();) {
      size_t nl = std::min(body.find('\n', at), body.size());
      std::string l = body.substr(at, nl - at);
      if (!l.empty() && l.rfind("processed ", 0) != 0 && l.rfind("-- ", 0) != 0) lines.push_back(l);
      at = nl + 1;
    }
    if (!lines.empty()) verdict = lines.back();
  }
  std::string out = program.empty() ? "" : fmt::format("program `{}`: ", program);
  out += verdict.empty() ? std::strerror(err) : fmt::format("{} ({})", verdict, std::strerror(err));
  if (verdict.find("too many subprograms") != std::string::npos)
    out += "; the policy has too many rules for one program: split it into several policies";
  else if (verdict.find("program is too large") != std::string::npos)
    out += "; the verifier's work is over its limit: fewer rules per policy (`set insn_budget` catches it at compile time)";
  return out;
}

}  // namespace mmp::runtime
