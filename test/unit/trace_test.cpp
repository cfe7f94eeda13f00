// Traces (runtime/trace.h): what the writer writes the reader reads back
// in the policy's layout, and every malformed trace fails with its line.
#include "trace.h"

#include <gtest/gtest.h>

#include <sstream>

namespace mmp::runtime {
namespace {

using Layout = std::vector<SnapshotField>;

Layout layout(std::initializer_list<std::pair<const char*, const char*>> fields) {
  Layout out;
  for (auto [name, context] : fields)
    out.push_back({name, std::string(name) == "memcg.path" ? "string" : "bytes", context, ""});
  return out;
}

const Layout kRecorded = layout({{"memcg.usage", "memcg"}, {"system.memory.free", "system"}, {"memcg.max", "memcg"},
                               {"reclaim.order", "event"}, {"memcg.path", "memcg"}});

std::string written() {
  std::ostringstream out;
  TraceWriter w(out, kRecorded, {"mmrun record", "rec", "/sys/fs/cgroup", "v2", "/init.scope", {}});
  uint64_t system[] = {100, 0, ~0ULL, 7, 8, 9, 10, 11};
  std::string path = "/a/b";
  uint64_t cgroup[] = {200, 42, 1, 70, 80, ~0ULL, 3, 0};
  w.write(system, 8, nullptr);
  w.write(cgroup, 8, &path);
  EXPECT_EQ(w.written(), 2u);
  return out.str();
}

llvm::Expected<Trace> read(const std::string& text, const Layout& policyLayout) {
  std::istringstream in(text);
  return readTrace(in, "t.jsonl", policyLayout, "p");
}

std::string error(const std::string& text, const Layout& policyLayout) {
  auto t = read(text, policyLayout);
  if (t) return "no error";
  return llvm::toString(t.takeError());
}

TEST(Trace, WritesAHeaderThenOneLinePerSnapshotByFieldName) {
  std::istringstream lines(written());
  std::string header, system, cgroup;
  std::getline(lines, header);
  std::getline(lines, system);
  std::getline(lines, cgroup);
  EXPECT_EQ(header,
            R"({"mmp_trace":1,"source":"mmrun record","policy":"rec","cgroup_root":"/sys/fs/cgroup",)"
            R"("cgroup_version":"v2","mmrun_cgroup":"/init.scope","fields":["memcg.usage","system.memory.free","memcg.max"]})");
  // No scope mask (replay computes it), no event field, no string.
  EXPECT_EQ(system, R"({"time_ns":100,"cgroup":null,"cgroup_id":0,"system.memory.free":8})");
  EXPECT_EQ(cgroup,
            R"({"time_ns":200,"cgroup":"/a/b","cgroup_id":42,"memcg.usage":70,"system.memory.free":80,)"
            R"("memcg.max":18446744073709551615})");
}

TEST(Trace, ReadsFieldsByNameIntoAnotherPolicysLayout) {
  // A policy reading fewer fields, in another order.
  Layout mine = layout({{"memcg.max", "memcg"}, {"system.memory.free", "system"}, {"reclaim.order", "event"}});
  auto t = read(written(), mine);
  ASSERT_TRUE(bool(t)) << llvm::toString(t.takeError());
  ASSERT_TRUE(t->header);
  EXPECT_EQ(t->header->mmrunCgroup, "/init.scope");
  ASSERT_EQ(t->records.size(), 2u);
  EXPECT_EQ(t->records[0].line, 2u);
  EXPECT_EQ(t->records[0].cgroupId, 0u);
  EXPECT_FALSE(t->records[0].cgroup);
  EXPECT_EQ(t->records[0].fields, (std::vector<uint64_t>{0, 8, 0}));  // a system record: memcg fields 0
  EXPECT_EQ(t->records[1].timeNs, 200u);
  EXPECT_EQ(*t->records[1].cgroup, "/a/b");
  EXPECT_EQ(t->records[1].fields, (std::vector<uint64_t>{~0ULL, 80, 0}));
}

TEST(Trace, TheHeaderIsOptionalAndBlankLinesAreSkipped) {
  auto t = read("\n{\"time_ns\":5,\"cgroup_id\":3,\"cgroup\":\"/x\",\"memcg.usage\":9}\n\n",
                layout({{"memcg.usage", "memcg"}}));
  ASSERT_TRUE(bool(t)) << llvm::toString(t.takeError());
  EXPECT_FALSE(t->header);
  ASSERT_EQ(t->records.size(), 1u);
  EXPECT_EQ(t->records[0].line, 2u);
  EXPECT_EQ(t->records[0].fields, std::vector<uint64_t>{9});
}

TEST(Trace, AFieldThePolicyReadsAndTheTraceLacksIsNamed) {
  Layout wants = layout({{"memcg.usage", "memcg"}, {"memcg.swap", "memcg"}});
  EXPECT_EQ(error(written(), wants),
            "t.jsonl:1: the trace does not record `memcg.swap`, which policy p reads (it was recorded by mmrun "
            "record for policy rec); `mmrun record` records every field");
  // Without a header, on the first snapshot that lacks it.
  EXPECT_EQ(error("{\"time_ns\":1,\"cgroup_id\":0}\n{\"time_ns\":2,\"cgroup_id\":4,\"cgroup\":\"/a\",\"memcg.usage\":1}\n",
                  wants),
            "t.jsonl:2: the cgroup's snapshot has no `memcg.swap`, which policy p reads; `mmrun record` records "
            "every field");
  EXPECT_EQ(error("{\"time_ns\":1,\"cgroup_id\":0}\n", layout({{"system.swap.free", "system"}})),
            "t.jsonl:1: the system snapshot has no `system.swap.free`, which policy p reads; `mmrun record` records "
            "every field");
}

TEST(Trace, MalformedLinesFailWithTheirLineNumber) {
  Layout l = layout({{"memcg.usage", "memcg"}});
  std::string ok = "{\"time_ns\":1,\"cgroup_id\":2,\"cgroup\":\"/a\",\"memcg.usage\":3}\n";
  EXPECT_EQ(error(ok + "{\"time_ns\": 5,\n", l),
            "t.jsonl:2: not JSON (column 15: syntax error while parsing object key - unexpected end of input; "
            "expected string literal): a trace holds one JSON object per line");
  EXPECT_EQ(error(ok + "{\"time_ns\": x}\n", l),
            "t.jsonl:2: not JSON (column 13: syntax error while parsing value - invalid literal; last read: "
            "'\"time_ns\": x'): a trace holds one JSON object per line");
  EXPECT_EQ(error(ok + ok + "[1, 2]\n", l), "t.jsonl:3: not a JSON object: a trace holds one JSON object per line");
  EXPECT_EQ(error(ok + "{\"time\":\"2024-01-01T00:00:00Z\",\"kind\":\"decision\"}\n", l),
            "t.jsonl:2: not a snapshot: it has no \"time_ns\" (each line of a trace is one snapshot, as `mmrun "
            "record` writes them)");
  EXPECT_EQ(error("{\"time_ns\":1,\"cgroup_id\":2,\"cgroup\":\"/a\",\"memcg.usage\":-3}\n", l),
            "t.jsonl:1: \"memcg.usage\" is -3, not a non-negative integer");
  EXPECT_EQ(error("{\"time_ns\":1.5,\"cgroup_id\":2,\"cgroup\":\"/a\",\"memcg.usage\":3}\n", l),
            "t.jsonl:1: \"time_ns\" is 1.5, not a non-negative integer");
  EXPECT_EQ(error("{\"time_ns\":1,\"cgroup_id\":2,\"memcg.usage\":3}\n", l),
            "t.jsonl:1: a cgroup's snapshot needs its path (\"cgroup\"): scopes are matched against it");
  EXPECT_EQ(error("{\"time_ns\":1,\"cgroup_id\":2,\"cgroup\":\"a\",\"memcg.usage\":3}\n", l),
            "t.jsonl:1: \"cgroup\" is \"a\", not a path below the cgroup root (\"/a/b\")");
}

TEST(Trace, AnotherFormatIsRefusedOnItsFirstLine) {
  Layout l = layout({{"memcg.usage", "memcg"}});
  EXPECT_EQ(error("{\"mmp_trace\":2,\"fields\":[]}\n", l),
            "t.jsonl:1: trace format 2, but this mmrun reads format 1: record the trace again with this mmrun");
  EXPECT_EQ(error("{\"time_ns\":1,\"cgroup_id\":0}\n{\"mmp_trace\":1}\n", l),
            "t.jsonl:2: a trace header (\"mmp_trace\") may only be the first line");
}

TEST(Trace, AGoneCgroupKeepsANullPath) {
  auto t = read("{\"time_ns\":1,\"cgroup_id\":2,\"cgroup\":null,\"memcg.usage\":3}\n", layout({{"memcg.usage", "memcg"}}));
  ASSERT_TRUE(bool(t)) << llvm::toString(t.takeError());
  EXPECT_FALSE(t->records[0].cgroup);
}

}  // namespace
}  // namespace mmp::runtime
