#include "log.h"

#include <fmt/format.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "abi/mmp_abi.h"
#include "text_escape.h"
#include "threads.h"

namespace mmp::runtime {

namespace {

// A record as it leaves: its line (with its newline) and, for journald,
// its fields ("KEY=value").
struct Entry {
  std::string line;
  std::vector<std::string> fields;
};

// LogWriter's queue; none: records are written where they are made.
struct Queue {
  explicit Queue(LogFormat f) : format(f) {}
  LogFormat format;
  std::mutex m;
  std::condition_variable ready;
  std::deque<Entry> lines;
  bool stop = false;
  bool finished = false;  // the writer wrote everything and returned
  std::condition_variable done;
  uint64_t unsaid = 0;  // dropped since the last record saying so
  std::thread writer;
};
Queue* queue = nullptr;
uint64_t dropped = 0;  // guarded by queue->m while a queue lives

// Straight to fd 1, not through stdio: a writer blocked on a stdout that
// never drains must not hold stdio's lock, which exit() takes to flush.
void put(const std::string& line) {
  for (size_t at = 0; at < line.size();) {
    ssize_t n = ::write(STDOUT_FILENO, line.data() + at, line.size() - at);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // no reader any more (SIGPIPE is ignored): the record is lost
    at += static_cast<size_t>(n);
  }
}

// To journald when the record has fields and journald takes it; else its
// line to stdout (under systemd, stdout is the journal too, as text).
void put(const Entry& e) {
  if (!e.fields.empty()) {
    std::vector<struct iovec> iov;
    iov.reserve(e.fields.size());
    for (const auto& f : e.fields) iov.push_back({const_cast<char*>(f.data()), f.size()});
    if (sd_journal_sendv(iov.data(), static_cast<int>(iov.size())) >= 0) return;
  }
  put(e.line);
}

std::string now() {
  struct timeval tv;
  gettimeofday(&tv, nullptr);
  struct tm tm;
  gmtime_r(&tv.tv_sec, &tm);
  char buf[64];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:03d}Z", buf, static_cast<int>(tv.tv_usec / 1000));
}

std::string decimal(uint64_t raw, uint64_t scale, int digits) {
  std::string s = fmt::format("{}.{:0{}}", raw / scale, raw % scale, digits);
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}

}  // namespace

std::string formatValue(const std::string& type, uint64_t raw) {
  if (type == "bytes") {
    if (raw == MMP_UNLIMITED) return "max";
    static const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    uint64_t scale = 1;
    while (u < 4 && raw >= scale * 1024) {
      scale *= 1024;
      ++u;
    }
    return decimal(raw * 1000 / scale, 1000, 3) + units[u];
  }
  if (type == "percent") return raw == MMP_UNLIMITED ? "unlimited" : decimal(raw, 1000, 3) + "%";
  if (type == "duration") return raw == MMP_UNLIMITED ? "never" : decimal(raw / 1'000'000, 1000, 3) + "s";
  if (type == "rate") return fmt::format("{}B/s", static_cast<int64_t>(raw));
  if (type == "count rate") {
    auto v = static_cast<int64_t>(raw);
    uint64_t magnitude = v < 0 ? 0 - raw : raw;
    return (v < 0 ? "-" : "") + decimal(magnitude, 1000, 3) + "/s";
  }
  if (type == "bool") return raw ? "true" : "false";
  return fmt::format("{}", raw);
}

// A record's optional text fields, by their JSON names (journald's are
// these in capitals, MMP_RULE, ...).
constexpr std::pair<const char*, std::string LogRecord::*> kTextFields[] = {
    {"rule", &LogRecord::rule},         {"cgroup", &LogRecord::cgroup}, {"action", &LogRecord::action},
    {"argument", &LogRecord::argument}, {"outcome", &LogRecord::outcome}, {"detail", &LogRecord::detail},
    {"message", &LogRecord::message}, {"by", &LogRecord::by}};

std::string formatMonotonic(uint64_t ns) { return fmt::format("{}.{:09d}", ns / 1'000'000'000, ns % 1'000'000'000); }

nlohmann::json logJson(const LogRecord& r, const std::string& time) {
  nlohmann::json j{{"time", time.empty() ? now() : time}, {"kind", r.kind}, {"policy", r.policy}};
  // A string that is not UTF-8 (a cgroup name is any bytes) goes in with
  // U+FFFD for the bad bytes, and its exact bytes as KEY_hex beside it.
  auto put = [&](const char* k, const std::string& v) {
    if (v.empty()) return;
    if (isUtf8(v)) {
      j[k] = v;
      return;
    }
    j[k] = replaceInvalidUtf8(v);
    j[std::string(k) + "_hex"] = hexBytes(v);
  };
  for (const auto& [name, member] : kTextFields) put(name, r.*member);
  if (r.latencyMs) j["latency_ms"] = std::round(*r.latencyMs * 1000) / 1000;
  if (r.queuedMs) j["queued_ms"] = std::round(*r.queuedMs * 1000) / 1000;
  if (r.decidedNs) j["decided_ns"] = *r.decidedNs;
  if (!r.values.empty()) {
    nlohmann::json v = nlohmann::json::object();
    for (const auto& [k, val] : r.values) v[k] = val;
    j["values"] = v;
  }
  if (!r.candidates.empty()) {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& c : r.candidates) {
      nlohmann::json row{{"candidate", replaceInvalidUtf8(c.who)}, {"verdict", c.verdict}};
      if (!c.key.empty()) row["key"] = c.key;
      if (!c.value.empty()) row["value"] = c.value;
      if (!isUtf8(c.who)) row["candidate_hex"] = hexBytes(c.who);
      rows.push_back(std::move(row));
    }
    j["candidates"] = rows;
    if (r.candidatesOmitted) j["candidates_omitted"] = r.candidatesOmitted;
  }
  return j;
}

namespace {

// syslog(3)'s levels: an error, a kill enacted, another decision, the rest.
int priority(const LogRecord& r) {
  if (r.kind == "error") return 3;
  if (r.kind == "decision") return r.action == "kill" && r.outcome == "enacted" ? 4 : 5;
  return 6;
}

// MESSAGE is the text line but its time (journald stamps its own).
std::vector<std::string> journalFields(const LogRecord& r, const std::string& line, const std::string& time) {
  std::string message = line.substr(line.find(' ') + 1);
  while (!message.empty() && message.back() == '\n') message.pop_back();
  std::vector<std::string> f{"MESSAGE=" + message, fmt::format("PRIORITY={}", priority(r)), "SYSLOG_IDENTIFIER=mmrun"};
  if (r.kind == "decision" && r.action == "kill") f.push_back(std::string("MESSAGE_ID=") + kKillMessageId);
  // Values are bytes to journald (a cgroup named with a newline goes in
  // its binary form): no escaping.
  auto add = [&](std::string key, const std::string& v) {
    if (v.empty()) return;
    for (char& c : key) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    f.push_back(fmt::format("MMP_{}={}", key, v));
  };
  add("kind", r.kind);
  add("policy", r.policy);
  for (const auto& [name, member] : kTextFields) add(name, r.*member);
  if (r.latencyMs) add("latency_ms", fmt::format("{:.3f}", *r.latencyMs));
  if (r.queuedMs) add("queued_ms", fmt::format("{:.3f}", *r.queuedMs));
  add("record", logJson(r, time).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  return f;
}

std::string formatLog(const LogRecord& r, LogFormat format, const std::string& time) {
  if (format == LogFormat::Json)
    return logJson(r, time).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  // Every field escaped (control bytes, invalid UTF-8, quotes): a cgroup
  // named with a CR or an escape sequence cannot forge a record on a
  // terminal; a value with a space or `=` is quoted.
  auto value = [](const std::string& v) {
    std::string e = escapeText(v);
    return e.find_first_of(" =") == std::string::npos ? e : "\"" + e + "\"";
  };
  std::string line = fmt::format("{} {} {}", time.empty() ? now() : time, escapeText(r.kind), escapeText(r.policy));
  if (!r.rule.empty()) line += " " + escapeText(r.rule);
  if (!r.cgroup.empty()) line += " cgroup=" + value(r.cgroup);
  if (!r.action.empty()) line += " action=" + value(r.action);
  if (!r.argument.empty()) line += " arg=" + value(r.argument);
  if (!r.outcome.empty()) line += " " + escapeText(r.outcome);
  if (!r.by.empty()) line += " by=" + value(r.by);
  for (const auto& [k, v] : r.values) line += fmt::format(" {}={}", escapeText(k), value(v));
  if (!r.message.empty()) line += fmt::format(" message=\"{}\"", escapeText(r.message));
  if (!r.detail.empty()) line += fmt::format(" ({})", escapeText(r.detail));
  if (r.latencyMs) line += fmt::format(" latency={:.3f}ms", *r.latencyMs);
  // The candidate table: `candidates: pid 1 rss=200MiB victim; /a rss=... ranked lower`.
  for (size_t i = 0; i < r.candidates.size(); ++i) {
    const auto& c = r.candidates[i];
    line += fmt::format("{}{}", i ? "; " : " candidates: ", escapeText(c.who));
    if (!c.key.empty()) line += fmt::format(" {}={}", escapeText(c.key), value(c.value));
    line += " " + escapeText(c.verdict);
  }
  if (r.candidatesOmitted) line += fmt::format("; and {} more", r.candidatesOmitted);
  return line + "\n";
}

// One time for the line and the fields, so that they agree.
Entry entry(const LogRecord& r, LogFormat format, const std::string& time) {
  std::string t = time.empty() ? now() : time;
  Entry e{formatLog(r, format, t), {}};
  if (format == LogFormat::Journal) e.fields = journalFields(r, e.line, t);
  return e;
}

void writeQueued() {
  std::unique_lock lock(queue->m);
  for (;;) {
    queue->ready.wait(lock, [] { return queue->stop || !queue->lines.empty() || queue->unsaid; });
    if (queue->stop && queue->lines.empty() && !queue->unsaid) {
      queue->finished = true;
      queue->done.notify_one();
      return;
    }
    std::deque<Entry> batch;
    batch.swap(queue->lines);
    uint64_t unsaid = std::exchange(queue->unsaid, 0);
    lock.unlock();
    if (unsaid)
      put(entry({.kind = "error", .outcome = "failed",
                 .detail = fmt::format("{} log records dropped: {} did not keep up (over {} waiting)", unsaid,
                                       queue->format == LogFormat::Journal ? "journald" : "stdout",
                                       LogWriter::kQueuedRecords)},
                queue->format, ""));
    for (const auto& e : batch) put(e);  // may block: only this thread waits
    lock.lock();
  }
}

}  // namespace

void writeLog(const LogRecord& r, LogFormat format, const std::string& time) {
  Entry e = entry(r, format, time);
  if (!queue) {
    std::fflush(stdout);  // what the command printed before, first
    put(e);
    return;
  }
  std::lock_guard lock(queue->m);
  if (queue->lines.size() >= LogWriter::kQueuedRecords) {
    ++dropped;
    ++queue->unsaid;
    return;
  }
  queue->lines.push_back(std::move(e));
  queue->ready.notify_one();
}

LogWriter::LogWriter(LogFormat format) {
  queue = new Queue(format);
  queue->writer = signalFreeThread(writeQueued);
}

LogWriter::~LogWriter() {
  std::unique_lock lock(queue->m);
  queue->stop = true;
  queue->ready.notify_one();
  // What is queued goes out; a stdout that never drains must not keep
  // mmrun from exiting: after 5 s the writer is left to the exit (and its
  // queue with it).
  if (!queue->done.wait_for(lock, std::chrono::seconds(5), [] { return queue->finished; })) {
    queue->writer.detach();
    return;
  }
  lock.unlock();
  queue->writer.join();
  delete queue;
  queue = nullptr;
}

uint64_t logRecordsDropped() {
  if (!queue) return dropped;
  std::lock_guard lock(queue->m);
  return dropped;
}

}  // namespace mmp::runtime
