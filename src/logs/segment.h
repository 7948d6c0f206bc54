#pragma once
// The on-disk format of a log group's events: append-only segment files of blocks.
//
//   segment file  DIR/<sequence, 10 digits>.seg = block*
//   block         header (40 bytes, little-endian) + stream table + zstd frame
//     u32 magic 'BLK2'   u32 compressed length   u32 raw length   u32 event count
//     i64 min timestamp  i64 max timestamp       u32 stream count
//     u32 crc32 of the first 36 header bytes, the stream table and the frame
//   stream table  u64 id of each stream with events in the block (sorted): lets a read of one
//                 stream skip the blocks of others without decompressing them
//   raw payload   per event: u64 stream id, i64 timestamp, i64 ingestion time, u32 length, bytes
//
// A block is written with one write() after the events are acknowledged to nobody yet; a crash
// can leave a torn block at the end of the newest segment, which OpenSegments detects (length
// beyond the file, bad magic or CRC) and truncates away before anything is served.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "logs/log_types.h"

namespace berth::logs {

inline constexpr uint32_t kBlockMagic = 0x324B4C42;  // "BLK2"
inline constexpr size_t kBlockHeaderSize = 40;

struct BlockRef {
  int64_t segment = 0;  // sequence number of the segment file
  int64_t offset = 0;   // byte offset of the block header
  uint32_t size = 0;    // header + frame
  uint32_t count = 0;
  int64_t min_ts = 0;
  int64_t max_ts = 0;
  uint32_t stream_count = 0;
  std::vector<int64_t> streams;  // sorted; filled when the stream table was read

  // Whether the block holds events of any of `ids` (sorted). REQUIRES: streams were read.
  bool HasAnyStream(const std::vector<int64_t>& ids) const;
};

// Serializes and compresses events into one block (header + frame).
std::string EncodeBlock(const std::vector<LogEvent>& events, int zstd_level = 3);

// Decodes a whole block (header + frame); Internal error when it is corrupt.
Result<std::vector<LogEvent>> DecodeBlock(std::string_view block);

// Reads the fixed header at the start of `bytes` (and the stream table, when `bytes` holds it);
// false when it is not a plausible header.
bool ParseBlockHeader(std::string_view bytes, BlockRef* ref);
// Bytes of the stream table that follows the fixed header.
inline size_t StreamTableBytes(const BlockRef& ref) { return size_t{8} * ref.stream_count; }

std::string SegmentFileName(int64_t sequence);

// Scans every segment file in `dir` (creating it if needed) and returns its blocks in order.
// A torn or corrupt tail of the newest segment is truncated away (reported in `repaired`); a
// corrupt block elsewhere is an error, since it cannot come from a crash.
Result<std::vector<BlockRef>> OpenSegments(const std::string& dir, std::string* repaired);

}  // namespace berth::logs
