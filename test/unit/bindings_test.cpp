// Kernel bindings: the shipped stdlib/bindings/kernel.json, and clear
// errors for malformed files.
#include "bindings/bindings.h"

#include <gtest/gtest.h>

#include <algorithm>

#include <string>
#include <utility>
#include <vector>

namespace mmp {
namespace {

const std::string kKernelJson = std::string(MMP_TEST_STDLIB) + "/bindings/kernel.json";

// A valid file with the given events and fields arrays (JSON text).
std::string file(const std::string& events, const std::string& fields) {
  return R"({"format": 1, "events": )" + events + R"(, "fields": )" + fields + "}";
}

const std::string kEvents = R"([{"name": "oom"}, {"name": "reclaim", "memcg": true, "doc": "x"}])";

// The error message of parsing `text`, or "" when it parsed.
std::string errorOf(const std::string& text, const std::string& path = "bad.json") {
  auto b = parseBindings(text, path);
  if (b) return "";
  return llvm::toString(b.takeError());
}

void expectError(const std::string& text, const std::vector<std::string>& mentions) {
  std::string message = errorOf(text);
  ASSERT_FALSE(message.empty()) << "parsed: " << text;
  EXPECT_EQ(message.rfind("bad.json", 0), 0u) << message;
  for (const auto& m : mentions) EXPECT_NE(message.find(m), std::string::npos) << "`" << m << "` not in: " << message;
}

// ---- the shipped file ---------------------------------------------------------

class ShippedBindings : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    auto loaded = loadBindings(kKernelJson);
    if (!loaded) {
      error_ = llvm::toString(loaded.takeError());
      return;
    }
    bindings_ = new Bindings(std::move(*loaded));
  }
  static void TearDownTestSuite() {
    delete bindings_;
    bindings_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(bindings_, nullptr) << error_; }
  static const Bindings& b() { return *bindings_; }

  static Bindings* bindings_;
  static std::string error_;
};
Bindings* ShippedBindings::bindings_ = nullptr;
std::string ShippedBindings::error_;

TEST_F(ShippedBindings, MemcgUsage) {
  const Binding* usage = b().field("memcg.usage");
  ASSERT_NE(usage, nullptr);
  EXPECT_EQ(usage->type, Type::Bytes);
  EXPECT_EQ(usage->context, FieldContext::Memcg);
  EXPECT_EQ(usage->whole, "memcg.max");
  EXPECT_EQ(usage->wholeBinding, b().field("memcg.max"));
  EXPECT_FALSE(usage->logOnly);
  EXPECT_EQ(usage->kernel.from, "mem_cgroup");
  ASSERT_EQ(usage->kernel.paths.size(), 1u);
  ASSERT_EQ(usage->kernel.paths[0].size(), 3u);
  EXPECT_EQ(usage->kernel.paths[0][0].name, "memory");
  EXPECT_EQ(usage->kernel.scale, KernelScale::Pages);
}

TEST_F(ShippedBindings, KernelSourcesOfEveryKind) {
  const KernelSource& total = b().field("memcg.pressure.some.total")->kernel;  // a two-dimensional index
  ASSERT_EQ(total.paths.size(), 1u);
  const KernelPathElement& element = total.paths[0].back();
  EXPECT_EQ(element.index, (std::vector<std::string>{"@psi_aggregators:PSI_AVGS", "@psi_states:PSI_MEM_SOME"}));
  EXPECT_EQ(element.rows, "@psi_aggregators:NR_PSI_AGGREGATORS");
  const KernelSource& rss = b().field("oom.victim.rss")->kernel;
  EXPECT_EQ(rss.paths.size(), 3u);  // a sum
  ASSERT_EQ(rss.otherwise.size(), 1u);  // 6.1's layout
  ASSERT_EQ(rss.otherwise[0].size(), 3u);
  EXPECT_EQ(rss.otherwise[0][0][1].as, "mm_struct___6_1");
  ASSERT_EQ(b().types.size(), 3u);
  EXPECT_TRUE(std::any_of(b().types.begin(), b().types.end(),
                          [](const LocalStruct& t) { return t.name == "mm_struct___6_1"; }));
  EXPECT_EQ(b().field("memcg.since_reclaim")->kernel.observed, "reclaim");
  EXPECT_EQ(b().field("reclaim.order")->kernel.eventArg, 0u);
  EXPECT_EQ(b().field("system.memory.free")->kernel.runtime, "meminfo:MemFree");
  EXPECT_EQ(b().event("reclaim")->kernel.tpBtf.size(), 2u);
  EXPECT_EQ(b().event("oom")->kernel.tpBtf, std::vector<std::string>{"mark_victim"});
}

TEST_F(ShippedBindings, MemcgMaxIsAnUnlimitedBytesField) {
  const Binding* max = b().field("memcg.max");
  ASSERT_NE(max, nullptr);
  EXPECT_EQ(max->type, Type::Bytes);
  EXPECT_TRUE(max->unlimited);
  EXPECT_TRUE(max->whole.empty());
  EXPECT_EQ(max->wholeBinding, nullptr);
}

TEST_F(ShippedBindings, MemcgPressure) {
  const Binding* p = b().field("memcg.pressure");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->type, Type::Percent);
  EXPECT_EQ(p->context, FieldContext::Memcg);
}

TEST_F(ShippedBindings, OomVictimPid) {
  const Binding* pid = b().field("oom.victim.pid");
  ASSERT_NE(pid, nullptr);
  EXPECT_EQ(pid->type, Type::Count);
  EXPECT_EQ(pid->context, FieldContext::Event);
  EXPECT_EQ(pid->event, "oom");
}

TEST_F(ShippedBindings, EveryFieldOfTheSpec) {
  struct Spec {
    std::string name;
    Type type;
    FieldContext context;
  };
  std::vector<Spec> spec = {
      {"memcg.usage", Type::Bytes, FieldContext::Memcg},
      {"memcg.max", Type::Bytes, FieldContext::Memcg},
      {"memcg.high", Type::Bytes, FieldContext::Memcg},
      {"memcg.low", Type::Bytes, FieldContext::Memcg},
      {"memcg.min", Type::Bytes, FieldContext::Memcg},
      {"memcg.swap", Type::Bytes, FieldContext::Memcg},
      {"memcg.swap.max", Type::Bytes, FieldContext::Memcg},
      {"memcg.pressure", Type::Percent, FieldContext::Memcg},
      {"memcg.path", Type::String, FieldContext::Memcg},
      {"system.memory.total", Type::Bytes, FieldContext::System},
      {"system.memory.free", Type::Bytes, FieldContext::System},
      {"system.memory.available", Type::Bytes, FieldContext::System},
      {"system.swap.total", Type::Bytes, FieldContext::System},
      {"system.swap.free", Type::Bytes, FieldContext::System},
      {"system.pressure", Type::Percent, FieldContext::System},
      {"oom.victim.pid", Type::Count, FieldContext::Event},
      {"oom.victim.rss", Type::Bytes, FieldContext::Event},
      {"reclaim.order", Type::Count, FieldContext::Event},
  };
  for (const char* owner : {"memcg", "system"}) {
    FieldContext context = owner[0] == 'm' ? FieldContext::Memcg : FieldContext::System;
    for (const char* line : {"some", "full"}) {
      std::string base = std::string(owner) + ".pressure." + line;
      spec.push_back({base, Type::Percent, context});
      for (const char* avg : {".avg10", ".avg60", ".avg300"}) spec.push_back({base + avg, Type::Percent, context});
      spec.push_back({base + ".total", Type::Duration, context});  // the cumulative stall time
    }
  }
  for (const char* ev : {"low", "high", "max", "oom", "oom_kill"})
    spec.push_back({std::string("memcg.events.") + ev, Type::Count, FieldContext::Memcg});
  for (const auto& s : spec) {
    SCOPED_TRACE(s.name);
    const Binding* f = b().field(s.name);
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(f->type, s.type);
    EXPECT_EQ(f->context, s.context);
  }
  EXPECT_TRUE(b().field("memcg.path")->logOnly);
  EXPECT_EQ(b().field("oom.victim.rss")->event, "oom");
  EXPECT_EQ(b().field("reclaim.order")->event, "reclaim");
}

TEST_F(ShippedBindings, WholesOfTheSpec) {
  std::vector<std::pair<const char*, const char*>> wholes = {
      {"memcg.usage", "memcg.max"},
      {"memcg.swap", "memcg.swap.max"},
      {"system.memory.free", "system.memory.total"},
      {"system.memory.available", "system.memory.total"},
      {"system.swap.free", "system.swap.total"},
  };
  for (const auto& [field, whole] : wholes) {
    SCOPED_TRACE(field);
    const Binding* f = b().field(field);
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(f->whole, whole);
    EXPECT_EQ(f->wholeBinding, b().field(whole));
  }
  EXPECT_EQ(b().field("memcg.high")->wholeBinding, nullptr);
  EXPECT_EQ(b().field("system.memory.total")->wholeBinding, nullptr);
}

TEST_F(ShippedBindings, EveryEventOfTheSpec) {
  EXPECT_EQ(b().eventNames(), (std::vector<std::string>{"oom", "reclaim", "pressure", "cgroup_created"}));
  for (const auto& e : b().events) EXPECT_TRUE(e.memcg) << e.name;
  EXPECT_EQ(b().event("panic"), nullptr);
  EXPECT_EQ(b().field("memcg.nope"), nullptr);
  EXPECT_EQ(b().fieldNames().size(), b().fields.size());
}

TEST(Bindings, MovingKeepsWholePointers) {
  auto loaded = loadBindings(kKernelJson);
  ASSERT_TRUE(static_cast<bool>(loaded)) << llvm::toString(loaded.takeError());
  Bindings moved = std::move(*loaded);
  Bindings again;
  again = std::move(moved);
  const Binding* usage = again.field("memcg.usage");
  ASSERT_NE(usage, nullptr);
  EXPECT_EQ(usage->wholeBinding, again.field("memcg.max"));
}

// ---- small well-formed files ------------------------------------------------------

TEST(Bindings, MinimalFileParses) {
  auto b = parseBindings(file(kEvents, R"([
      {"name": "a.total", "type": "bytes", "context": "system", "unlimited": true},
      {"name": "a.used", "type": "bytes", "context": "system", "whole": "a.total", "doc": "d", "kernel": {"runtime": "meminfo:MemFree"}},
      {"name": "ev.n", "type": "count", "context": "event", "event": "oom"},
      {"name": "a.name", "type": "string", "context": "memcg"},
      {"name": "a.wait", "type": "duration", "context": "memcg"}])"),
                         "ok.json");
  ASSERT_TRUE(static_cast<bool>(b)) << llvm::toString(b.takeError());
  ASSERT_EQ(b->fields.size(), 5u);
  EXPECT_TRUE(b->field("a.total")->unlimited);
  EXPECT_EQ(b->field("a.used")->wholeBinding, b->field("a.total"));
  EXPECT_EQ(b->field("a.used")->doc, "d");
  EXPECT_EQ(b->field("a.used")->kernel.runtime, "meminfo:MemFree");
  EXPECT_EQ(b->field("ev.n")->event, "oom");
  EXPECT_TRUE(b->field("a.name")->logOnly);
  EXPECT_EQ(b->field("a.wait")->type, Type::Duration);
  EXPECT_TRUE(b->event("oom")->memcg);
}

TEST(Bindings, WholeMayBeDeclaredAfterItsPart) {
  auto b = parseBindings(file(kEvents, R"([
      {"name": "a.used", "type": "bytes", "context": "memcg", "whole": "a.total"},
      {"name": "a.total", "type": "bytes", "context": "memcg"}])"),
                         "ok.json");
  ASSERT_TRUE(static_cast<bool>(b)) << llvm::toString(b.takeError());
  EXPECT_EQ(b->field("a.used")->wholeBinding, b->field("a.total"));
}

// ---- malformed files -----------------------------------------------------------------

TEST(Bindings, MissingFileIsAnError) {
  auto b = loadBindings("/nonexistent/dir/kernel.json");
  ASSERT_FALSE(static_cast<bool>(b));
  std::string message = llvm::toString(b.takeError());
  EXPECT_NE(message.find("/nonexistent/dir/kernel.json"), std::string::npos) << message;
}

TEST(Bindings, NotJsonGivesLineAndColumn) {
  std::string message = errorOf("{\n  \"format\": 1,\n  oops\n}\n");
  ASSERT_FALSE(message.empty());
  EXPECT_EQ(message.rfind("bad.json:3:", 0), 0u) << message;
  EXPECT_NE(message.find("JSON"), std::string::npos) << message;
  std::string first = errorOf("not json at all");
  EXPECT_EQ(first.rfind("bad.json:1:", 0), 0u) << first;
  std::string empty = errorOf("");
  EXPECT_EQ(empty.rfind("bad.json:1:", 0), 0u) << empty;
}

TEST(Bindings, WrongFormatVersion) {
  expectError(R"({"format": 2, "events": [], "fields": []})", {"format"});
  expectError(R"({"events": [], "fields": []})", {"format"});
  expectError(R"({"format": "1", "events": [], "fields": []})", {"format"});
  expectError(R"([1, 2])", {"format"});
}

TEST(Bindings, MissingArrays) {
  expectError(R"({"format": 1, "fields": []})", {"events"});
  expectError(R"({"format": 1, "events": []})", {"fields"});
  expectError(R"({"format": 1, "events": {}, "fields": []})", {"events"});
}

TEST(Bindings, MissingNameTypeOrContext) {
  expectError(file(kEvents, R"([{"type": "bytes", "context": "memcg"}])"), {"field #1", "name"});
  expectError(file(kEvents, R"([{"name": "a.b", "type": "bytes", "context": "memcg"},
                                {"name": "a.c", "context": "memcg"}])"),
              {"field #2", "type"});
  expectError(file(kEvents, R"([{"name": "a.b", "type": "bytes"}])"), {"field #1", "context"});
  expectError(file(kEvents, R"([{"name": 7, "type": "bytes", "context": "memcg"}])"), {"field #1", "name"});
  expectError(file(R"([{"doc": "no name"}])", "[]"), {"event #1", "name"});
  expectError(file(kEvents, R"(["memcg.usage"])"), {"field #1", "object"});
}

TEST(Bindings, BadNames) {
  expectError(file(kEvents, R"([{"name": "a..b", "type": "bytes", "context": "memcg"}])"), {"field #1", "a..b"});
  expectError(file(kEvents, R"([{"name": "1a", "type": "bytes", "context": "memcg"}])"), {"field #1", "1a"});
}

TEST(Bindings, UnknownType) {
  expectError(file(kEvents, R"([{"name": "a.b", "type": "bits", "context": "memcg"}])"), {"field #1", "bits"});
}

TEST(Bindings, UnknownContext) {
  expectError(file(kEvents, R"([{"name": "a.b", "type": "bytes", "context": "cluster"}])"),
              {"field #1", "cluster"});
}

TEST(Bindings, EventFieldWithoutEvent) {
  expectError(file(kEvents, R"([{"name": "oom.x", "type": "count", "context": "event"}])"), {"field #1", "event"});
}

TEST(Bindings, UnknownEvent) {
  expectError(file(kEvents, R"([{"name": "panic.x", "type": "count", "context": "event", "event": "panic"}])"),
              {"panic.x", "panic"});
}

TEST(Bindings, UnknownWhole) {
  expectError(file(kEvents, R"([{"name": "a.used", "type": "bytes", "context": "memcg", "whole": "a.nope"}])"),
              {"a.used", "a.nope"});
}

TEST(Bindings, WholeThatIsNotBytes) {
  expectError(file(kEvents, R"([{"name": "a.total", "type": "percent", "context": "memcg"},
                                {"name": "a.used", "type": "bytes", "context": "memcg", "whole": "a.total"}])"),
              {"a.used", "bytes"});
  expectError(file(kEvents, R"([{"name": "a.total", "type": "bytes", "context": "memcg"},
                                {"name": "a.used", "type": "count", "context": "memcg", "whole": "a.total"}])"),
              {"a.used", "bytes"});
}

TEST(Bindings, WholeOfAnUnusableContext) {
  // A memcg field compared with a percent would read an event field outside its rule.
  expectError(file(kEvents, R"([{"name": "oom.total", "type": "bytes", "context": "event", "event": "oom"},
                                {"name": "a.used", "type": "bytes", "context": "memcg", "whole": "oom.total"}])"),
              {"a.used", "oom.total"});
}

TEST(Bindings, DuplicateField) {
  expectError(file(kEvents, R"([{"name": "a.b", "type": "bytes", "context": "memcg"},
                                {"name": "a.c", "type": "bytes", "context": "memcg"},
                                {"name": "a.b", "type": "count", "context": "system"}])"),
              {"field #3", "a.b", "twice"});
}

// The `kernel` member is parsed whole: what the back end or mmrun would
// read wrong, or not at all, is refused, naming the binding and the member.
std::string withKernel(const std::string& kernel) {
  return file(kEvents, R"([{"name": "a.b", "type": "bytes", "context": "memcg", "kernel": )" + kernel + "}]");
}

TEST(Bindings, KernelScaleMustBeKnown) {
  EXPECT_EQ(errorOf(withKernel(R"({"from": "mem_cgroup", "path": ["memory"], "scale": "page"})")),
            "bad.json: field #1: `a.b`: kernel.scale is `page`; the scales are pages and psi_fixed");
  EXPECT_EQ(errorOf(withKernel(R"({"from": "mem_cgroup", "path": ["memory"], "scale": 4096})")),
            "bad.json: field #1: `a.b`: kernel.scale is not a string");
  expectError(withKernel(R"({"runtime": "meminfo:MemFree", "scale": "pages"})"), {"`a.b`", "kernel.scale"});
}

TEST(Bindings, KernelUnknownMembersAreRefused) {
  EXPECT_EQ(errorOf(withKernel(R"({"from": "mem_cgroup", "path": ["memory"], "scales": "pages"})")),
            "bad.json: field #1: `a.b`: kernel has an unknown member `scales` (it has from, path, sum, or, scale, "
            "unlimited_at, runtime, observed, event_arg, doc)");
  expectError(file(R"([{"name": "oom", "kernel": {"tp": "mark_victim"}}])", "[]"), {"event #1", "`oom`", "`tp`"});
  expectError(withKernel(R"({"from": "cgroup", "path": [{"index": ["1", "2"], "rows": "3", "cols": "4"}]})"),
              {"`a.b`", "kernel.path", "`cols`"});
  expectError(withKernel("[1]"), {"`a.b`", "kernel", "not an object"});
}

TEST(Bindings, KernelValuesMustBeKnown) {
  expectError(withKernel(R"({"from": "mm_struct", "path": ["rss"]})"), {"`a.b`", "kernel.from", "mm_struct"});
  expectError(withKernel(R"({"from": "cgroup"})"), {"`a.b`", "`from`", "`path`"});
  expectError(withKernel(R"({"path": ["memory"]})"), {"`a.b`", "`from`", "`path`"});
  expectError(withKernel(R"({"from": "cgroup", "path": ["a"], "sum": [["b"]]})"), {"`a.b`", "both"});
  expectError(withKernel(R"({"from": "cgroup", "path": [true]})"), {"`a.b`", "kernel.path", "true"});
  expectError(withKernel(R"({"runtime": "meminfo"})"), {"`a.b`", "kernel.runtime", "meminfo"});
  expectError(withKernel(R"({"runtime": "pressure:some:avg5"})"), {"`a.b`", "kernel.runtime"});
  expectError(withKernel(R"({"observed": "oom"})"), {"`a.b`", "kernel.observed", "oom"});
  expectError(withKernel(R"({"event_arg": -1})"), {"`a.b`", "kernel.event_arg"});
  expectError(file(R"([{"name": "pressure", "kernel": {"runtime": "psi"}}])", "[]"), {"`pressure`", "kernel.runtime"});
}

TEST(Bindings, AlternativesCastsAndTypes) {
  std::string ok = withKernel(R"({"from": "task_struct", "path": ["mm", "a"],
                                  "or": [{"path": ["mm", {"as": "mm___old"}, "b"]}, {"sum": [["c"], ["d"]]}]})");
  ok.insert(ok.size() - 1, R"(, "types": {"mm___old": [["b", "long"]]})");
  auto parsed = parseBindings(ok, "ok.json");
  ASSERT_TRUE(static_cast<bool>(parsed)) << llvm::toString(parsed.takeError());
  const KernelSource& k = parsed->field("a.b")->kernel;
  ASSERT_EQ(k.otherwise.size(), 2u);
  EXPECT_EQ(k.otherwise[0][0][1].as, "mm___old");
  EXPECT_EQ(k.otherwise[1].size(), 2u);
  ASSERT_EQ(parsed->types.size(), 1u);
  EXPECT_EQ(parsed->types[0].members, (std::vector<std::pair<std::string, std::string>>{{"b", "long"}}));

  expectError(withKernel(R"({"from": "cgroup", "path": ["a"], "or": []})"), {"`a.b`", "kernel.or", "non-empty"});
  expectError(withKernel(R"({"runtime": "meminfo:MemFree", "or": [{"path": ["a"]}]})"), {"`a.b`", "kernel.or"});
  expectError(withKernel(R"({"from": "cgroup", "path": ["a"], "or": [{"path": ["b"], "sum": [["c"]]}]})"),
              {"`a.b`", "kernel.or", "one `path` or one `sum`"});
  expectError(withKernel(R"({"from": "cgroup", "path": ["a"], "or": [{"path": ["b"], "scale": "pages"}]})"),
              {"`a.b`", "`scale`"});
  expectError(withKernel(R"({"from": "cgroup", "path": [{"as": "x", "rows": "2"}]})"), {"`a.b`", "kernel.path", "as"});
  std::string types = file(kEvents, "[]");
  types.insert(types.size() - 1, R"(, "types": {"t": [["only a name"]]})");
  expectError(types, {"types", "`t`", "[\"name\", \"type\"]"});
}

TEST(Bindings, WrongKindsOfOptionalMembers) {
  expectError(file(kEvents, R"([{"name": "a.b", "type": "bytes", "context": "memcg", "unlimited": "yes"}])"),
              {"field #1", "unlimited"});
  expectError(file(kEvents, R"([{"name": "a.b", "type": "bytes", "context": "memcg", "whole": 3}])"),
              {"field #1", "whole"});
  expectError(file(R"([{"name": "oom", "memcg": "yes"}])", "[]"), {"event #1", "memcg"});
}

}  // namespace
}  // namespace mmp
