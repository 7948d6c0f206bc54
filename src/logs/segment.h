#pragma once
// The on-disk format of a log group's events: append-only segment files of blocks.
//
//   segment file  DIR/<sequence, 10 digits>.seg = block*
//
// A block is one Append (one PutLogEvents batch). Blocks are written as BLK3; BLK2 blocks
// written by older versions stay readable. All integers little-endian.
//
//   BLK3 (clustered: a query decompresses only the clusters that can match, see
//   block_clusters.h)
//     header (56 bytes)
//       u32 magic 'BLK3'  u32 block size (all of it)  u32 event count  u32 stream count
//       u32 cluster count  u32 cluster table size (zstd)  u32 cluster table size (raw)  u32 0
//       i64 min timestamp  i64 max timestamp
//       u32 head crc32c: header bytes 0..47, stream table, cluster table
//       u32 block crc32c: header bytes 0..51 and everything after the header
//     stream table   u64 id of each stream with events in the block (sorted)
//     cluster table  one zstd frame (BlockClusters::Encode): per cluster its stream, event
//                    count, min/max timestamp, frame offset and sizes, dimension values and
//                    trigram bitmap
//     cluster frames one zstd frame per cluster (with zstd's content checksum; under 16 KiB
//                    raw without Huffman-coded literals), the largest clusters first;
//                    raw: per event u16 index in the block, then per event
//                    i64 timestamp, then i64 ingestion time, then u32 length, then the
//                    messages back to back
//
//   BLK2 (one frame)
//     header (40 bytes): u32 magic 'BLK2', u32 compressed length, u32 raw length, u32 event
//       count, i64 min timestamp, i64 max timestamp, u32 stream count, u32 crc32 of the first
//       36 header bytes, the stream table and the frame
//     stream table, then one zstd frame; raw per event: u64 stream id, i64 timestamp,
//       i64 ingestion time, u32 length, bytes
//
// A block is written with one write() before the batch is acknowledged; a crash can leave a
// torn block at the end of the newest segment, which OpenSegments detects (length beyond the
// file, bad magic or CRC) and truncates away before anything is served.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "logs/block_clusters.h"
#include "logs/log_types.h"

namespace berth::core {
class WorkerThread;
}

namespace berth::logs {

inline constexpr uint32_t kBlockMagic = 0x334B4C42;    // "BLK3", written
inline constexpr uint32_t kBlockMagicV2 = 0x324B4C42;  // "BLK2", read only
inline constexpr size_t kBlockHeaderSize = 56;
inline constexpr size_t kBlockHeaderSizeV2 = 40;

struct BlockRef {
  int64_t segment = 0;  // sequence number of the segment file
  int64_t offset = 0;   // byte offset of the block header
  uint32_t size = 0;    // all of the block
  uint32_t count = 0;
  int64_t min_ts = 0;
  int64_t max_ts = 0;
  uint32_t stream_count = 0;
  // Bytes from the block's start to its first frame: the header, the stream table and (BLK3)
  // the cluster table. Reading them gives `streams` and `clusters`.
  uint32_t head_size = 0;
  std::vector<int64_t> streams;  // sorted; filled when the stream table was read
  // BLK3: the cluster table, filled when the head was read (shared by copies of the ref);
  // null for BLK2 blocks.
  std::shared_ptr<const BlockClusters> clusters;

  // Whether the block holds events of any of `ids` (sorted). REQUIRES: streams were read.
  bool HasAnyStream(const std::vector<int64_t>& ids) const;
};

// Groups events into clusters (PlanClusters) and encodes them as one BLK3 block. Level 1: on
// clustered lograge data it compresses as well as level 3 did on whole blocks (0.121x), faster.
// With `helper`, that thread reads a large block's events (PlanClusters) and builds and
// compresses its cluster frames together with the calling thread, each taking the next chunk
// or cluster no one has taken (the output is the same). With `table`, it is set to the block's
// cluster table, as ParseBlockHeader would read it back.
std::string EncodeBlock(const std::vector<LogEvent>& events, int zstd_level = 1,
                        core::WorkerThread* helper = nullptr,
                        std::shared_ptr<const BlockClusters>* table = nullptr);

// Decodes a whole block of either version, in write order; Internal error when it is corrupt.
Result<std::vector<LogEvent>> DecodeBlock(std::string_view block);

// The bytes of the messages of a cluster's events, from its table entry alone.
inline uint64_t ClusterMessageBytes(const ClusterInfo& cluster) {
  return cluster.raw_size - uint64_t{cluster.count} * kEventColumnsBytes;
}

// An event decoded from one cluster frame, with its index in the block.
struct IndexedEvent {
  uint32_t index = 0;
  LogEvent event;
};
// Decodes the frame of `cluster` (its compressed bytes), appending its events; Internal error
// when the frame is corrupt or does not fit the cluster table.
Status DecodeClusterFrame(std::string_view frame, const ClusterInfo& cluster,
                          uint32_t block_count, std::vector<IndexedEvent>* out);
// Like DecodeClusterFrame, but writes the events over out[*used...] (growing `out` when needed)
// and advances *used, so that a caller reusing `out` reuses its strings' buffers too.
Status DecodeClusterFrameInto(std::string_view frame, const ClusterInfo& cluster,
                              uint32_t block_count, std::vector<IndexedEvent>* out, size_t* used);

// Reads the fixed header at the start of `bytes` into `ref` (size, count, times, head_size);
// when `bytes` also holds the rest of the head, fills `streams` and `clusters` too (checking
// BLK3's head crc). False when it is not a plausible header.
bool ParseBlockHeader(std::string_view bytes, BlockRef* ref);

std::string SegmentFileName(int64_t sequence);

// Scans every segment file in `dir` (creating it if needed) and returns its blocks in order,
// with their heads read (streams and cluster tables).
// A torn or corrupt tail of the newest segment is truncated away (reported in `repaired`); a
// corrupt block elsewhere is an error, since it cannot come from a crash.
Result<std::vector<BlockRef>> OpenSegments(const std::string& dir, std::string* repaired);

}  // namespace berth::logs
