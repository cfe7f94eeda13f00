#include "snapshot_channel.h"

#include <bpf/bpf.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cstring>
#include <iostream>

#include "abi/mmp_abi.h"

namespace mmp::runtime {

SnapshotChannel::SnapshotChannel(Policy& p, const Hierarchy& h, std::ostream& out, TraceHeader header)
    : policy_(p), h_(h), out_(out), writer_(out, p.manifest().snapshot, std::move(header)) {}

llvm::Expected<std::unique_ptr<SnapshotChannel>> SnapshotChannel::start(Policy& p, const Hierarchy& h,
                                                                         struct ring_buffer* rb, std::ostream& out,
                                                                         const std::string& source) {
  struct bpf_map* snapshots = p.map(MMP_MAP_SNAPSHOTS);
  if (!snapshots || !p.map(MMP_MAP_SNAPSHOTS_LOST))
    return llvm::createStringError(std::errc::invalid_argument, "'%s' has no snapshot channel", p.path().c_str());
  TraceHeader header{source, p.manifest().policy, h.root, h.version == CgroupVersion::V2 ? "v2" : "v1",
                     ownCgroup(h), {}};
  auto c = std::unique_ptr<SnapshotChannel>(new SnapshotChannel(p, h, out, std::move(header)));
  if (ring_buffer__add(rb, bpf_map__fd(snapshots), onRecord, c.get()) != 0)
    return llvm::createStringError(std::errc::io_error, "cannot open the snapshot channel of '%s': %s",
                                   p.path().c_str(), std::strerror(errno));
  return c;
}

SnapshotChannel::~SnapshotChannel() { out_.flush(); }

uint64_t SnapshotChannel::lost() const {
  uint32_t key = 0;
  uint64_t lost = 0;
  bpf_map_lookup_elem(bpf_map__fd(policy_.map(MMP_MAP_SNAPSHOTS_LOST)), &key, &lost);
  return lost;
}

// The path of a cgroup the programs named by id; listed again when new.
const std::string* SnapshotChannel::pathOf(uint64_t id) {
  auto it = paths_.find(id);
  if (it == paths_.end()) {
    for (auto& c : listCgroups(h_)) paths_[c.id] = c.path;
    it = paths_.try_emplace(id).first;  // still unknown: do not list again for it
  }
  return it->second ? &*it->second : nullptr;
}

int SnapshotChannel::onRecord(void* self, void* data, size_t size) {
  auto* c = static_cast<SnapshotChannel*>(self);
  std::vector<uint64_t> words(size / sizeof(uint64_t));
  std::memcpy(words.data(), data, words.size() * sizeof(uint64_t));
  if (words.size() < 3) return 0;
  c->writer_.write(words.data(), words.size(), words[1] ? c->pathOf(words[1]) : nullptr);
  return 0;
}

TraceFile::~TraceFile() {
  if (uint64_t lost = channel ? channel->lost() : 0)
    std::cerr << fmt::format("mmrun: warning: {} snapshots were lost (the ring buffer was full): the trace misses "
                             "them, and its replay may differ\n",
                             lost);
}

llvm::Expected<std::unique_ptr<TraceFile>> recordToFile(const std::string& path, Policy& p, const Hierarchy& h,
                                                        struct ring_buffer* rb) {
  if (path.empty()) return nullptr;
  auto t = std::make_unique<TraceFile>();
  int fd = -1;
  if (t->file.open(path) && t->file.commit()) fd = dup(t->file.fd());
  if (fd < 0)
    return llvm::createStringError(std::errc::io_error, "cannot write the trace '%s': %s", path.c_str(),
                                   t->file.error().empty() ? std::strerror(errno) : t->file.error().c_str());
  t->buf = std::make_unique<__gnu_cxx::stdio_filebuf<char>>(fd, std::ios::out);
  t->out.rdbuf(t->buf.get());
  auto channel = SnapshotChannel::start(p, h, rb, t->out, "mmrun load --record");
  if (!channel) return channel.takeError();
  t->channel = std::move(*channel);
  return t;
}

}  // namespace mmp::runtime
