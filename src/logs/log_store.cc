#include "logs/log_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <numeric>
#include <unordered_map>
#include <utility>

#include "logs/byte_io.h"

namespace berth::logs {

namespace {
// Reads the block at `ref` from an open segment into `buffer` (reused across calls) and decodes it.
Result<std::vector<LogEvent>> ReadBlockAt(int fd, const BlockRef& ref, std::string& buffer) {
  buffer.resize(ref.size);
  if (::pread(fd, buffer.data(), ref.size, ref.offset) != static_cast<ssize_t>(ref.size)) {
    return InternalError("short read of a log block");
  }
  return DecodeBlock(buffer);
}

// Frames closer than this are read with one pread (the bytes between are read and dropped):
// a syscall costs about as much as copying this much from the page cache.
constexpr uint64_t kReadGapBytes = 16 << 10;

// Reads and decodes the frames of `selected` (clusters of `ref`, in frame order) into
// events[0..*used), and sets `order` to their positions sorted by index in the block. `buffer`,
// `events` and `order` are reused across calls (and so are the events' string buffers).
Status ReadClustersAt(int fd, const BlockRef& ref, const std::vector<const ClusterInfo*>& selected,
                      std::string& buffer, std::vector<IndexedEvent>& events, size_t* used,
                      std::vector<uint32_t>& order) {
  *used = 0;
  const int64_t frames_at = ref.offset + ref.head_size;
  size_t i = 0;
  while (i < selected.size()) {
    // One read for a run of frames with small gaps.
    size_t j = i + 1;
    uint64_t end = uint64_t{selected[i]->frame_offset} + selected[i]->frame_size;
    while (j < selected.size() && selected[j]->frame_offset <= end + kReadGapBytes) {
      end = std::max<uint64_t>(end, uint64_t{selected[j]->frame_offset} + selected[j]->frame_size);
      ++j;
    }
    const uint64_t begin = selected[i]->frame_offset;
    buffer.resize(end - begin);
    if (::pread(fd, buffer.data(), buffer.size(), frames_at + static_cast<int64_t>(begin)) !=
        static_cast<ssize_t>(buffer.size())) {
      return InternalError("short read of a log block");
    }
    for (size_t k = i; k < j; ++k) {
      const ClusterInfo& c = *selected[k];
      BERTH_RETURN_IF_ERROR(DecodeClusterFrameInto(
          std::string_view(buffer).substr(c.frame_offset - begin, c.frame_size), c, ref.count,
          &events, used));
    }
    i = j;
  }
  order.resize(*used);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&events](uint32_t a, uint32_t b) { return events[a].index < events[b].index; });
  return OkStatus();
}
// MayMatch, with the dimension half looked up in `memo` by the cluster's dimension values:
// clusters of different blocks mostly repeat the same few combinations, and deciding JSON
// comparisons on them parses a small document per comparison.
bool MayMatchCached(const FilterPattern& pattern, const ClusterInfo& c,
                    std::unordered_map<std::string, bool>& memo) {
  const ClusterFacts facts = c.Facts();
  if (!pattern.MayMatchTrigrams(facts)) {
    return false;
  }
  if (!pattern.UsesDims() || c.dims.empty()) {
    return pattern.MayMatchDims(facts);
  }
  // Key: each dimension as <key length><key><0 absent | 1 + value length><value>.
  thread_local std::string key;
  key.clear();
  for (const ClusterDim& d : c.dims) {
    const auto klen = static_cast<uint32_t>(d.key.size());
    key.append(reinterpret_cast<const char*>(&klen), 4);
    key.append(d.key);
    const uint32_t vlen = d.value ? static_cast<uint32_t>(d.value->size()) + 1 : 0;
    key.append(reinterpret_cast<const char*>(&vlen), 4);
    if (d.value) {
      key.append(*d.value);
    }
  }
  auto it = memo.find(key);
  if (it == memo.end()) {
    it = memo.emplace(key, pattern.MayMatchDims(facts)).first;
  }
  return it->second;
}
}  // namespace

LogStore::LogStore(std::string root, int64_t segment_bytes)
    : root_(std::move(root)), segment_bytes_(segment_bytes) {
  BERTH_ASSERT(segment_bytes_ <= (int64_t{1} << 26), "event ids hold 26 bits of offset");
}

LogStore::~LogStore() {
  syncer_.Drain();  // a round in flight has ended
  for (auto& [id, g] : groups_) {
    if (g.fd >= 0) {
      if (g.dirty) {
        ::fdatasync(g.fd);
      }
      ::close(g.fd);
    }
  }
}

std::string LogStore::DirOf(int64_t group_id) const {
  return root_ + "/" + std::to_string(group_id);
}

Status LogStore::OpenGroup(int64_t group_id, std::string* repaired) {
  if (groups_.count(group_id)) {
    return OkStatus();
  }
  BERTH_TRY(std::vector<BlockRef> blocks, OpenSegments(DirOf(group_id), repaired));
  Group g;
  g.blocks = std::move(blocks);
  for (const BlockRef& b : g.blocks) {
    g.bytes += b.size;
  }
  if (!g.blocks.empty()) {
    g.active_segment = g.blocks.back().segment;
    g.active_size = g.blocks.back().offset + g.blocks.back().size;
  }
  groups_[group_id] = std::move(g);
  return OkStatus();
}

Status LogStore::OpenActive(int64_t group_id, Group& g) {
  std::string path = DirOf(group_id) + "/" + SegmentFileName(g.active_segment);
  g.fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (g.fd < 0) {
    return InternalError("cannot open " + path + ": " + std::strerror(errno));
  }
  return OkStatus();
}

Status LogStore::Append(int64_t group_id, const std::vector<LogEvent>& events) {
  auto it = groups_.find(group_id);
  BERTH_ASSERT(it != groups_.end(), "Append to a group that is not open");
  BERTH_ASSERT(!events.empty() && events.size() <= kMaxBlockEvents, "block size out of range");
  Group& g = it->second;
  std::shared_ptr<const BlockClusters> table;
  std::string block = EncodeBlock(events, 1, &encoder_, &table);
  if (g.active_size > 0 && g.active_size + static_cast<int64_t>(block.size()) > segment_bytes_) {
    // Close the full segment durably, then start the next one.
    if (g.fd >= 0) {
      ::fdatasync(g.fd);
      ::close(g.fd);
      g.fd = -1;
    }
    ++g.active_segment;
    g.active_size = 0;
  }
  if (g.fd < 0) {
    BERTH_RETURN_IF_ERROR(OpenActive(group_id, g));
  }
  size_t off = 0;
  while (off < block.size()) {
    ssize_t n = ::write(g.fd, block.data() + off, block.size() - off);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      // Cut the partial block off again so the file stays a sequence of whole blocks.
      int saved = errno;
      (void)::ftruncate(g.fd, g.active_size);
      return MakeError(ErrorKind::Unavailable, "ServiceUnavailableException",
                       std::string("cannot write log events: ") + std::strerror(saved));
    }
    off += static_cast<size_t>(n);
  }
  // The fixed header only: the cluster table is the one just encoded, not read back.
  BlockRef ref;
  const bool parsed = ParseBlockHeader(std::string_view(block).substr(0, kBlockHeaderSize), &ref);
  BERTH_ASSERT(parsed && block.size() >= ref.head_size, "EncodeBlock writes a valid head");
  for (uint32_t i = 0; i < ref.stream_count; ++i) {
    ref.streams.push_back(
        static_cast<int64_t>(GetFixed<uint64_t>(block.data() + kBlockHeaderSize + 8 * i)));
  }
  ref.clusters = std::move(table);
  ref.segment = g.active_segment;
  ref.offset = g.active_size;
  g.blocks.push_back(ref);
  g.active_size += static_cast<int64_t>(block.size());
  g.bytes += static_cast<int64_t>(block.size());
  g.dirty = true;
  return OkStatus();
}

void LogStore::DisposeLater(std::vector<LogEvent> events) {
  // The future is dropped: nothing waits for the job.
  (void)encoder_.Submit([this, dead = std::move(events)]() mutable {
    std::vector<std::string> buffers;
    buffers.reserve(dead.size());
    for (LogEvent& e : dead) {
      buffers.push_back(std::move(e.message));
      buffers.back().clear();
    }
    dead = {};
    std::lock_guard lock(spare_mu_);
    if (spare_buffers_.empty()) {
      spare_buffers_ = std::move(buffers);
    }
  });
}

std::vector<std::string> LogStore::TakeMessageBuffers() {
  std::lock_guard lock(spare_mu_);
  return std::exchange(spare_buffers_, {});
}

Status LogStore::Scan(int64_t group_id, int64_t start_ms, int64_t end_ms, const Visitor& visit,
                      const ScanFilter& filter) {
  Position next;
  bool complete = false;
  return ScanFrom(group_id, start_ms, end_ms, Position{}, visit, &next, &complete, filter);
}

Status LogStore::ScanFrom(int64_t group_id, int64_t start_ms, int64_t end_ms, Position from,
                          const Visitor& visit, Position* next, bool* complete,
                          const ScanFilter& filter) {
  *complete = true;
  auto it = groups_.find(group_id);
  if (it == groups_.end()) {
    return OkStatus();
  }
  return ScanImpl(group_id, it->second.blocks, start_ms, end_ms, from, visit, next, complete,
                  filter);
}

uint64_t LogStore::BlocksRead() const { return blocks_read_.load(std::memory_order_relaxed); }
uint64_t LogStore::ClustersRead() const { return clusters_read_.load(std::memory_order_relaxed); }

std::vector<BlockRef> LogStore::Blocks(int64_t group_id) const {
  auto it = groups_.find(group_id);
  return it == groups_.end() ? std::vector<BlockRef>{} : it->second.blocks;
}

Status LogStore::ScanBlocks(int64_t group_id, const std::vector<BlockRef>& blocks,
                            int64_t start_ms, int64_t end_ms, const Visitor& visit,
                            const ScanFilter& filter) const {
  Position next;
  bool complete = true;
  return ScanImpl(group_id, blocks, start_ms, end_ms, Position{}, visit, &next, &complete,
                  filter);
}

Status LogStore::ScanImpl(int64_t group_id, const std::vector<BlockRef>& blocks,
                          int64_t start_ms, int64_t end_ms, Position from, const Visitor& visit,
                          Position* next, bool* complete, const ScanFilter& filter) const {
  *complete = true;
  int64_t open_segment = -1;
  int fd = -1;
  auto close_fd = [&fd] {
    if (fd >= 0) {
      ::close(fd);
      fd = -1;
    }
  };
  const std::vector<int64_t>* only_streams = filter.only_streams;
  std::string buffer;
  std::unordered_map<std::string, bool> dims_memo;  // MayMatchDims by dimension values
  std::vector<const ClusterInfo*> selected;
  // Per thread and reused across scans: decoded events keep their string buffers.
  thread_local std::vector<IndexedEvent> part;
  thread_local std::vector<uint32_t> order;
  size_t used = 0;
  std::vector<LogEvent> whole;
  for (size_t b = from.block; b < blocks.size(); ++b) {
    const BlockRef& ref = blocks[b];
    if (ref.max_ts < start_ms || ref.min_ts > end_ms) {
      continue;  // the block's time bounds rule it out without reading it
    }
    if (only_streams != nullptr && !ref.HasAnyStream(*only_streams)) {
      continue;  // and its stream table rules it out for other streams' reads
    }
    // BLK3: the clusters that may hold wanted events; all of them means reading it whole.
    selected.clear();
    if (ref.clusters != nullptr) {
      for (const ClusterInfo& c : ref.clusters->clusters) {
        if (c.max_ts < start_ms || c.min_ts > end_ms ||
            (only_streams != nullptr &&
             !std::binary_search(only_streams->begin(), only_streams->end(), c.stream_id)) ||
            (filter.pattern != nullptr && !MayMatchCached(*filter.pattern, c, dims_memo))) {
          continue;
        }
        selected.push_back(&c);
      }
      if (selected.empty()) {
        continue;
      }
    }
    const bool partial = ref.clusters != nullptr && selected.size() < ref.clusters->clusters.size();
    blocks_read_.fetch_add(1, std::memory_order_relaxed);
    clusters_read_.fetch_add(ref.clusters != nullptr ? selected.size() : 0,
                             std::memory_order_relaxed);
    if (ref.segment != open_segment) {
      close_fd();
      std::string path = DirOf(group_id) + "/" + SegmentFileName(ref.segment);
      fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) {
        return InternalError("cannot open " + path);
      }
      open_segment = ref.segment;
    }
    // Event id: segment (24 bits) | byte offset of the block (26 bits: segments are at most
    // 64 MiB) | index in the block (14 bits: Append takes at most kMaxBlockEvents).
    const uint64_t block_id = (static_cast<uint64_t>(ref.segment) << 40) |
                              (static_cast<uint64_t>(ref.offset) << 14);
    const uint32_t first = b == from.block ? from.event : 0;
    // Visits event `i` of the block; false when the scan stops there.
    auto offer = [&](const LogEvent& e, uint32_t i) {
      if (e.timestamp_ms >= start_ms && e.timestamp_ms <= end_ms && !visit(e, block_id | i)) {
        *next = i + 1 < ref.count ? Position{b, i + 1} : Position{b + 1, 0};
        *complete = false;
        return false;
      }
      return true;
    };
    if (partial) {
      Status st = ReadClustersAt(fd, ref, selected, buffer, part, &used, order);
      if (!st.ok()) {
        close_fd();
        return st;
      }
      for (uint32_t k : order) {
        const IndexedEvent& e = part[k];
        if (e.index >= first && !offer(e.event, e.index)) {
          close_fd();
          return OkStatus();
        }
      }
      continue;
    }
    auto events = ReadBlockAt(fd, ref, buffer);
    if (!events.ok()) {
      close_fd();
      return events.error();
    }
    whole = std::move(events).value();
    for (uint32_t i = first; i < whole.size(); ++i) {
      if (!offer(whole[i], i)) {
        close_fd();
        return OkStatus();
      }
    }
  }
  close_fd();
  return OkStatus();
}

Result<std::vector<LogEvent>> LogStore::ReadBlock(int64_t group_id, const BlockRef& ref) const {
  std::string path = DirOf(group_id) + "/" + SegmentFileName(ref.segment);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return InternalError("cannot open " + path);
  }
  std::string block;
  auto events = ReadBlockAt(fd, ref, block);
  ::close(fd);
  return events;
}

Status LogStore::DropGroup(int64_t group_id) {
  auto it = groups_.find(group_id);
  if (it != groups_.end()) {
    if (it->second.fd >= 0) {
      ::close(it->second.fd);
    }
    groups_.erase(it);
  }
  std::error_code ec;
  std::filesystem::remove_all(DirOf(group_id), ec);
  if (ec) {
    return InternalError("cannot delete " + DirOf(group_id) + ": " + ec.message());
  }
  return OkStatus();
}

Status LogStore::DropOlderThan(int64_t group_id, int64_t cutoff_ms) {
  auto it = groups_.find(group_id);
  if (it == groups_.end()) {
    return OkStatus();
  }
  Group& g = it->second;
  std::map<int64_t, int64_t> newest_in_segment;
  for (const BlockRef& b : g.blocks) {
    auto [pos, inserted] = newest_in_segment.emplace(b.segment, b.max_ts);
    if (!inserted) {
      pos->second = std::max(pos->second, b.max_ts);
    }
  }
  for (const auto& [segment, newest] : newest_in_segment) {
    if (segment == g.active_segment || newest >= cutoff_ms) {
      continue;
    }
    std::error_code ec;
    std::filesystem::remove(DirOf(group_id) + "/" + SegmentFileName(segment), ec);
    std::erase_if(g.blocks, [&](const BlockRef& b) {
      if (b.segment == segment) {
        g.bytes -= b.size;
        return true;
      }
      return false;
    });
  }
  return OkStatus();
}

Status LogStore::Sync() {
  if (sync_in_flight_.load()) {
    return OkStatus();  // the disk is slower than a second: the groups stay dirty until next time
  }
  // At most this many descriptors duplicated at once (the rest stay dirty for the next round),
  // so that many groups written in one second cannot run the process out of descriptors.
  constexpr size_t kMaxSyncsPerRound = 64;
  std::vector<int> fds;
  for (auto& [id, g] : groups_) {
    if (fds.size() == kMaxSyncsPerRound) {
      break;
    }
    if (g.dirty && g.fd >= 0) {
      const int fd = ::fcntl(g.fd, F_DUPFD_CLOEXEC, 0);
      if (fd < 0) {
        ::fdatasync(g.fd);  // out of descriptors: sync here rather than not at all
      } else {
        fds.push_back(fd);
      }
      g.dirty = false;
    }
  }
  if (fds.empty()) {
    return OkStatus();
  }
  sync_in_flight_.store(true);
  (void)syncer_.Submit([this, fds = std::move(fds)] {
    for (int fd : fds) {
      ::fdatasync(fd);
      ::close(fd);
    }
    sync_in_flight_.store(false);
    syncs_done_.fetch_add(fds.size());  // after the flag: a caller that sees it may Sync again
  });
  return OkStatus();
}

int64_t LogStore::StoredBytes(int64_t group_id) const {
  auto it = groups_.find(group_id);
  return it == groups_.end() ? 0 : it->second.bytes;
}

}  // namespace berth::logs
