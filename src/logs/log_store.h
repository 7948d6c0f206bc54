#pragma once
// LogStore: every log group's events in its own directory of segment files (see segment.h).
//
// Durability: Append writes the block with one write() before returning, so an acknowledged
// batch survives a crash of berth; Sync() (called every second by the server) has the groups
// written since fdatasync'd on a thread of its own, bounding what an OS crash can take to about
// the last second without stalling the control loop for the 5-15 ms a sync takes here. A full
// segment is fdatasync'd before the next one starts, on the caller's thread (recovery assumes
// only the newest segment can have a torn tail). Retention deletes whole segments.
// Threading: one thread (the control loop), plus the helper threads described below.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "core/result.h"
#include "core/worker_thread.h"
#include "logs/filter_pattern.h"
#include "logs/log_types.h"
#include "logs/segment.h"

namespace berth::logs {

// What a scan may leave unread: blocks and (BLK3) clusters that cannot hold a wanted event.
// Only an optimization: the visitor still sees events of other streams or that do not match
// the pattern when they share a cluster with ones that might, so it must apply its own tests.
struct ScanFilter {
  const std::vector<int64_t>* only_streams = nullptr;  // sorted stream ids; null: every stream
  const FilterPattern* pattern = nullptr;              // skip clusters it cannot match
};

class LogStore {
 public:
  static constexpr size_t kMaxBlockEvents = 16384;
  // `root` holds one directory per group id. `segment_bytes` is where a segment is closed.
  explicit LogStore(std::string root, int64_t segment_bytes = 64 << 20);
  ~LogStore();

  // Indexes a group's segments (repairing a torn tail; `repaired` says what was done).
  Status OpenGroup(int64_t group_id, std::string* repaired = nullptr);
  // Appends the events as one block. REQUIRES: the group is open; 1..kMaxBlockEvents events.
  Status Append(int64_t group_id, const std::vector<LogEvent>& events);
  // Destroys `events` on the store's helper thread, after the blocks it is encoding: freeing a
  // batch's thousands of messages then costs the caller (a PutLogEvents reply) nothing. Their
  // message buffers are kept for TakeMessageBuffers (one batch's worth at most).
  void DisposeLater(std::vector<LogEvent> events);
  // The message buffers of a disposed batch (empty strings with their capacity), or none.
  // A decoder that assigns the next batch's messages into them allocates nothing per event.
  // Thread-safe.
  std::vector<std::string> TakeMessageBuffers();
  // Visits the events with a timestamp in [start_ms, end_ms], block by block in write order
  // (within a block in the order they were appended), with each event's id (unique and stable
  // within the group: its block's position and its index in the block); `visit` returns false
  // to stop early. With a `filter`, blocks and clusters that cannot hold a wanted event are
  // skipped unread (see ScanFilter): only BLK3 blocks have clusters. Cluster tables are kept in
  // memory, so a selective query preads only the frames it needs. REQUIRES: `visit` does not
  // scan a store itself (decoding buffers are per thread).
  using Visitor = std::function<bool(const LogEvent&, uint64_t event_id)>;
  Status Scan(int64_t group_id, int64_t start_ms, int64_t end_ms, const Visitor& visit,
              const ScanFilter& filter = {});

  // A place in a group's write order, for resuming a scan (FilterLogEvents' paging).
  struct Position {
    size_t block = 0;     // index into the group's blocks
    uint32_t event = 0;   // index of the next event inside that block
  };
  // Like Scan, from `from`; when `visit` returns false the scan stops and `*next` is the
  // position just after that event; when the scan completes, `*next` is left unchanged and
  // `*complete` is true.
  Status ScanFrom(int64_t group_id, int64_t start_ms, int64_t end_ms, Position from,
                  const Visitor& visit, Position* next, bool* complete,
                  const ScanFilter& filter = {});
  // A copy of a group's block list, for reading on another thread with ScanBlocks: blocks are
  // immutable once written and segments are append-only, so the copy stays valid (retention may
  // delete a segment meanwhile; reading it then fails cleanly).
  std::vector<BlockRef> Blocks(int64_t group_id) const;
  // Scans the given blocks of a group. Thread-safe: touches no state but the files.
  Status ScanBlocks(int64_t group_id, const std::vector<BlockRef>& blocks, int64_t start_ms,
                    int64_t end_ms, const Visitor& visit, const ScanFilter& filter = {}) const;

  // Reads and decodes one block of a group. Thread-safe (files only).
  Result<std::vector<LogEvent>> ReadBlock(int64_t group_id, const BlockRef& ref) const;

  // Deletes the group's files.
  Status DropGroup(int64_t group_id);
  // Deletes closed segments whose newest event is older than `cutoff_ms`.
  Status DropOlderThan(int64_t group_id, int64_t cutoff_ms);
  // Starts fdatasync of every group written since the last Sync, on the syncer thread; while
  // the previous round runs, the groups stay dirty for the next call. The destructor syncs
  // everything before it returns.
  Status Sync();
  // fdatasyncs that Sync rounds have done so far (for tests).
  uint64_t SyncsDone() const { return syncs_done_.load(); }
  // Waits for the jobs queued on the store's helper thread so far, such as DisposeLater's (for
  // tests: an Append does not wait for them).
  void WaitForHelper() { encoder_.Drain(); }
  int64_t StoredBytes(int64_t group_id) const;
  // Blocks read (in full or in part) by Scan/ScanFrom/ScanBlocks since the store was opened,
  // and clusters decompressed by them (for tests and statistics).
  uint64_t BlocksRead() const;
  uint64_t ClustersRead() const;

 private:
  struct Group {
    std::vector<BlockRef> blocks;
    int64_t active_segment = 0;
    int64_t active_size = 0;
    int fd = -1;  // the active segment, opened for append
    bool dirty = false;
    int64_t bytes = 0;
  };
  std::string DirOf(int64_t group_id) const;
  Status ScanImpl(int64_t group_id, const std::vector<BlockRef>& blocks, int64_t start_ms,
                  int64_t end_ms, Position from, const Visitor& visit, Position* next,
                  bool* complete, const ScanFilter& filter) const;
  Status OpenActive(int64_t group_id, Group& g);

  // Declared before encoder_, which is destroyed first (running its queued DisposeLater jobs).
  std::mutex spare_mu_;
  std::vector<std::string> spare_buffers_;  // guarded by spare_mu_
  // Takes chunks of a large block's events to read and clusters to compress together with
  // Append's thread (one PutLogEvents client waits for each batch: its encoding is on the
  // critical path); frees stored batches (DisposeLater).
  core::WorkerThread encoder_;
  // fdatasyncs for Sync, each on a dup of the group's descriptor (so closing or dropping the
  // group meanwhile is harmless); the flag is set while a job is queued or running.
  std::atomic<bool> sync_in_flight_{false};
  std::atomic<uint64_t> syncs_done_{0};
  core::WorkerThread syncer_;
  std::string root_;
  int64_t segment_bytes_;
  std::map<int64_t, Group> groups_;
  mutable std::atomic<uint64_t> blocks_read_{0};  // query threads count too
  mutable std::atomic<uint64_t> clusters_read_{0};
};

}  // namespace berth::logs
