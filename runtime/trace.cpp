#include "trace.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

namespace mmp::runtime {

namespace {

using nlohmann::json;
using nlohmann::ordered_json;

llvm::Error fail(const std::string& what) {
  return llvm::createStringError(std::errc::invalid_argument, "%s", what.c_str());
}

bool isBlank(const std::string& line) { return line.find_first_not_of(" \t\r") == std::string::npos; }

std::string describe(const json& v) {
  std::string s = v.dump();
  return s.size() > 40 ? s.substr(0, 37) + "..." : s;
}

}  // namespace

bool recordedIn(const SnapshotField& field, bool systemRecord) {
  if (field.type == "string") return false;
  return field.context == "system" || (field.context == "memcg" && !systemRecord);
}

TraceWriter::TraceWriter(std::ostream& out, const std::vector<SnapshotField>& layout, TraceHeader h) : out_(out), layout_(layout) {
  ordered_json header{{"mmp_trace", kTraceFormat}, {"source", h.source},         {"policy", h.policy},
                      {"cgroup_root", h.cgroupRoot}, {"cgroup_version", h.cgroupVersion},
                      {"mmrun_cgroup", h.mmrunCgroup}};
  json fields = json::array();
  for (const auto& entry : layout_)
    if (recordedIn(entry, false)) fields.push_back(entry.field);
  header["fields"] = fields;
  out_ << header.dump() << '\n';
}

void TraceWriter::write(const uint64_t* words, size_t count, const std::string* path) {
  bool system = count > 1 && words[1] == 0;
  ordered_json r{{"time_ns", count > 0 ? words[0] : 0}};
  r["cgroup"] = path && !system ? json(*path) : json(nullptr);
  r["cgroup_id"] = count > 1 ? words[1] : 0;
  // words[2], the scope mask, is left out: replay computes it from the
  // path, as mmrun load does.
  for (size_t i = 0; i < layout_.size() && 3 + i < count; ++i)
    if (recordedIn(layout_[i], system)) r[layout_[i].field] = words[3 + i];
  out_ << r.dump(-1, ' ', false, json::error_handler_t::replace) << '\n';
  ++written_;
}

llvm::Expected<Trace> readTrace(std::istream& in, const std::string& name, const std::vector<SnapshotField>& layout,
                                const std::string& policy) {
  Trace trace;
  std::string line;
  size_t number = 0;
  bool first = true;
  auto at = [&](const std::string& what) { return fail(fmt::format("{}:{}: {}", name, number, what)); };
  while (std::getline(in, line)) {
    ++number;
    if (isBlank(line)) continue;
    json j;
    try {
      j = json::parse(line);
    } catch (const json::parse_error& e) {
      // nlohmann's own words, past its "[json.exception...] parse error at line 1, column N: ".
      std::string what = e.what();
      size_t colon = what.find(": ", what.find("column "));
      std::string detail = colon == std::string::npos ? what : what.substr(colon + 2);
      return at(fmt::format("not JSON (column {}: {}): a trace holds one JSON object per line", e.byte, detail));
    }
    if (!j.is_object()) return at("not a JSON object: a trace holds one JSON object per line");
    bool isFirst = first;
    first = false;
    if (j.contains("mmp_trace")) {
      if (!isFirst) return at("a trace header (\"mmp_trace\") may only be the first line");
      const json& f = j["mmp_trace"];
      if (!f.is_number_unsigned() || f.get<uint64_t>() != kTraceFormat)
        return at(fmt::format("trace format {}, but this mmrun reads format {}: record the trace again with "
                              "this mmrun",
                              describe(f), kTraceFormat));
      TraceHeader h;
      auto text = [&](const char* key) { return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : ""; };
      h.source = text("source");
      h.policy = text("policy");
      h.cgroupRoot = text("cgroup_root");
      h.cgroupVersion = text("cgroup_version");
      h.mmrunCgroup = text("mmrun_cgroup");
      if (j.contains("fields") && j["fields"].is_array()) {
        for (const auto& f : j["fields"])
          if (f.is_string()) h.fields.push_back(f.get<std::string>());
        // A trace of another policy's layout fails here, on its first line.
        for (const auto& entry : layout) {
          if (!recordedIn(entry, false)) continue;
          if (std::find(h.fields.begin(), h.fields.end(), entry.field) == h.fields.end())
            return at(fmt::format("the trace does not record `{}`, which policy {} reads (it was recorded{}{}); "
                                  "`mmrun record` records every field",
                                  entry.field, policy, h.source.empty() ? "" : " by " + h.source,
                                  h.policy.empty() ? "" : " for policy " + h.policy));
        }
      }
      trace.header = std::move(h);
      continue;
    }

    TraceRecord r{number, 0, 0, std::nullopt, std::vector<uint64_t>(layout.size(), 0)};
    auto number64 = [&](const char* key, uint64_t& out) -> llvm::Error {
      if (!j.contains(key)) return llvm::Error::success();
      if (!j[key].is_number_unsigned())
        return at(fmt::format("\"{}\" is {}, not a non-negative integer", key, describe(j[key])));
      out = j[key].get<uint64_t>();
      return llvm::Error::success();
    };
    for (const char* key : {"time_ns", "cgroup_id"})
      if (!j.contains(key))
        return at(fmt::format("not a snapshot: it has no \"{}\" (each line of a trace is one snapshot, as "
                              "`mmrun record` writes them)",
                              key));
    if (auto e = number64("time_ns", r.timeNs)) return e;
    if (auto e = number64("cgroup_id", r.cgroupId)) return e;
    bool system = r.cgroupId == 0;
    if (!system) {
      // Scopes are matched against the path, as mmrun load matches them.
      if (!j.contains("cgroup"))
        return at("a cgroup's snapshot needs its path (\"cgroup\"): scopes are matched against it");
      if (j["cgroup"].is_string()) {
        r.cgroup = j["cgroup"].get<std::string>();
        if (r.cgroup->empty() || r.cgroup->front() != '/')
          return at(fmt::format("\"cgroup\" is {}, not a path below the cgroup root (\"/a/b\")", describe(j["cgroup"])));
      } else if (!j["cgroup"].is_null()) {
        return at(fmt::format("\"cgroup\" is {}, not a path", describe(j["cgroup"])));
      }
    }
    for (size_t i = 0; i < layout.size(); ++i) {
      if (!recordedIn(layout[i], system)) continue;
      const std::string& field = layout[i].field;
      if (!j.contains(field))
        return at(fmt::format("the {} snapshot has no `{}`, which policy {} reads; `mmrun record` records every "
                              "field",
                              system ? "system" : "cgroup's", field, policy));
      if (auto e = number64(field.c_str(), r.fields[i])) return e;
    }
    trace.records.push_back(std::move(r));
  }
  if (in.bad()) return fail(fmt::format("{}: cannot be read", name));
  return trace;
}

}  // namespace mmp::runtime
