#pragma once
// Clusters of a block: the events of one block (one PutLogEvents batch) grouped by what they
// have in common, so that a query decompresses only the groups that can match (see segment.h
// for where they sit in a BLK3 block, FilterPattern::MayMatch for how they are skipped).
//
// The cluster key of an event is its stream id plus the values of the block's dimensions:
// top-level JSON fields with a scalar value whose distinct values in the block are few
// (≤ kMaxDimValues, each ≤ kMaxDimValueBytes of raw JSON), "absent" counting as a value. For
// lograge lines that gives clusters such as (GET, UsersController, show, status 503, no error),
// and the rare 5xx and error events end up in a few small clusters. A block keeps at most
// kMaxClusters clusters: while over, the dimension with the most values is dropped. Events
// that are not JSON objects are clustered by stream only, and their clusters list no
// dimensions (nothing is known about them).

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "logs/cluster_facts.h"
#include "logs/log_types.h"
#include "logs/trigram_bitmap.h"

namespace berth::core {
class WorkerThread;
}

namespace berth::logs {

inline constexpr size_t kMaxDimValues = 16;
inline constexpr size_t kMaxDimValueBytes = 64;
inline constexpr size_t kMaxClusters = 256;
inline constexpr size_t kMaxDimKeys = 32;  // top-level keys considered per block

struct ClusterInfo {
  int64_t stream_id = 0;
  uint32_t count = 0;
  int64_t min_ts = 0;
  int64_t max_ts = 0;
  uint32_t frame_offset = 0;  // from the first frame of the block
  uint32_t frame_size = 0;    // compressed
  uint32_t raw_size = 0;      // decompressed
  std::vector<ClusterDim> dims;  // sorted by key; views into BlockClusters' dictionary
  TrigramBitmap trigrams;

  ClusterFacts Facts() const { return {dims, &trigrams}; }
};

// The cluster table of a block. Immutable once built, shared by the block's BlockRef copies.
struct BlockClusters {
  std::vector<std::unique_ptr<std::string>> dictionary;  // keys and values the dims point into
  std::vector<ClusterInfo> clusters;                        // in frame order

  // Serializes the table (uncompressed); ClusterDim views are written as dictionary indices.
  std::string Encode() const;
  // Parses Encode()'s output; nullptr when it is malformed (bounds-checked throughout).
  static std::shared_ptr<const BlockClusters> Decode(std::string_view raw, uint32_t count);
};

// Bytes of a cluster frame's raw content per event besides its message (index, timestamp,
// ingestion time, length; see segment.h).
inline constexpr size_t kEventColumnsBytes = 2 + 8 + 8 + 4;

// How the events of a block are grouped: `clusters[c]` describes cluster c (its raw_size
// already, the frame's position and trigrams not yet), `members[c]` its events' indices,
// ascending.
struct ClusterPlan {
  std::unique_ptr<BlockClusters> table;
  std::vector<std::vector<uint32_t>> members;
};

// Below this many events PlanClusters reads a block on one thread even with a helper; above,
// the calling thread and the helper take chunks of this many events in turn.
inline constexpr size_t kParallelPlanEvents = 1024;
inline constexpr size_t kPlanChunkEvents = 512;

// Groups `events` into clusters as described at the top of this file. Parses each JSON event
// once with simdjson On-Demand; thread-safe (per-thread parser). With `helper`, a large block's
// events are read in chunks by the calling thread and the helper, and the chunks' key and value
// tables merged: the plan is the same either way.
ClusterPlan PlanClusters(const std::vector<LogEvent>& events,
                         core::WorkerThread* helper = nullptr);

}  // namespace berth::logs
