#include "logs/segment.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <boost/crc.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace berth::logs {

namespace {

template <typename T>
void Put(std::string& out, T v) {
  char buf[sizeof(T)];
  std::memcpy(buf, &v, sizeof(T));
  out.append(buf, sizeof(T));
}

template <typename T>
T Get(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

uint32_t Crc(std::string_view header36, std::string_view table, std::string_view frame) {
  boost::crc_32_type crc;
  crc.process_bytes(header36.data(), header36.size());
  crc.process_bytes(table.data(), table.size());
  crc.process_bytes(frame.data(), frame.size());
  return crc.checksum();
}

}  // namespace

std::string EncodeBlock(const std::vector<LogEvent>& events, int zstd_level) {
  std::string raw;
  size_t total = 0;
  for (const LogEvent& e : events) {
    total += 28 + e.message.size();
  }
  raw.reserve(total);
  int64_t min_ts = events.empty() ? 0 : events.front().timestamp_ms;
  int64_t max_ts = min_ts;
  for (const LogEvent& e : events) {
    Put<uint64_t>(raw, static_cast<uint64_t>(e.stream_id));
    Put<int64_t>(raw, e.timestamp_ms);
    Put<int64_t>(raw, e.ingestion_ms);
    Put<uint32_t>(raw, static_cast<uint32_t>(e.message.size()));
    raw.append(e.message);
    min_ts = std::min(min_ts, e.timestamp_ms);
    max_ts = std::max(max_ts, e.timestamp_ms);
  }
  std::string frame(ZSTD_compressBound(raw.size()), '\0');
  size_t n = ZSTD_compress(frame.data(), frame.size(), raw.data(), raw.size(), zstd_level);
  BERTH_ASSERT(!ZSTD_isError(n), "zstd compression of an in-memory buffer cannot fail");
  frame.resize(n);
  std::vector<int64_t> streams;
  for (const LogEvent& e : events) {
    streams.push_back(e.stream_id);
  }
  std::sort(streams.begin(), streams.end());
  streams.erase(std::unique(streams.begin(), streams.end()), streams.end());
  std::string table;
  for (int64_t id : streams) {
    Put<uint64_t>(table, static_cast<uint64_t>(id));
  }
  std::string block;
  block.reserve(kBlockHeaderSize + table.size() + frame.size());
  Put<uint32_t>(block, kBlockMagic);
  Put<uint32_t>(block, static_cast<uint32_t>(frame.size()));
  Put<uint32_t>(block, static_cast<uint32_t>(raw.size()));
  Put<uint32_t>(block, static_cast<uint32_t>(events.size()));
  Put<int64_t>(block, min_ts);
  Put<int64_t>(block, max_ts);
  Put<uint32_t>(block, static_cast<uint32_t>(streams.size()));
  Put<uint32_t>(block, Crc(block, table, frame));
  block.append(table);
  block.append(frame);
  return block;
}

bool BlockRef::HasAnyStream(const std::vector<int64_t>& ids) const {
  // Both sorted: a merge walk.
  size_t i = 0, j = 0;
  while (i < streams.size() && j < ids.size()) {
    if (streams[i] == ids[j]) {
      return true;
    }
    streams[i] < ids[j] ? ++i : ++j;
  }
  return false;
}

bool ParseBlockHeader(std::string_view bytes, BlockRef* ref) {
  if (bytes.size() < kBlockHeaderSize || Get<uint32_t>(bytes.data()) != kBlockMagic) {
    return false;
  }
  uint32_t frame_len = Get<uint32_t>(bytes.data() + 4);
  ref->count = Get<uint32_t>(bytes.data() + 12);
  ref->min_ts = Get<int64_t>(bytes.data() + 16);
  ref->max_ts = Get<int64_t>(bytes.data() + 24);
  ref->stream_count = Get<uint32_t>(bytes.data() + 32);
  if (frame_len >= (1u << 30) || ref->stream_count > ref->count || ref->stream_count > (1u << 20)) {
    return false;
  }
  ref->size = static_cast<uint32_t>(kBlockHeaderSize + StreamTableBytes(*ref)) + frame_len;
  ref->streams.clear();
  if (bytes.size() >= kBlockHeaderSize + StreamTableBytes(*ref)) {
    for (uint32_t i = 0; i < ref->stream_count; ++i) {
      ref->streams.push_back(static_cast<int64_t>(Get<uint64_t>(bytes.data() + kBlockHeaderSize + 8 * i)));
    }
  }
  return true;
}

Result<std::vector<LogEvent>> DecodeBlock(std::string_view block) {
  BlockRef ref;
  if (!ParseBlockHeader(block, &ref) || block.size() != ref.size) {
    return InternalError("log block: bad header");
  }
  std::string_view table = block.substr(kBlockHeaderSize, StreamTableBytes(ref));
  std::string_view frame = block.substr(kBlockHeaderSize + StreamTableBytes(ref));
  if (Crc(block.substr(0, 36), table, frame) != Get<uint32_t>(block.data() + 36)) {
    return InternalError("log block: checksum mismatch");
  }
  uint32_t raw_len = Get<uint32_t>(block.data() + 8);
  std::string raw(raw_len, '\0');
  size_t n = ZSTD_decompress(raw.data(), raw.size(), frame.data(), frame.size());
  if (ZSTD_isError(n) || n != raw_len) {
    return InternalError("log block: cannot decompress");
  }
  std::vector<LogEvent> events;
  events.reserve(ref.count);
  size_t pos = 0;
  while (pos < raw.size()) {
    if (raw.size() - pos < 28) {
      return InternalError("log block: truncated record");
    }
    LogEvent e;
    e.stream_id = static_cast<int64_t>(Get<uint64_t>(raw.data() + pos));
    e.timestamp_ms = Get<int64_t>(raw.data() + pos + 8);
    e.ingestion_ms = Get<int64_t>(raw.data() + pos + 16);
    uint32_t len = Get<uint32_t>(raw.data() + pos + 24);
    pos += 28;
    if (raw.size() - pos < len) {
      return InternalError("log block: truncated message");
    }
    e.message.assign(raw.data() + pos, len);
    pos += len;
    events.push_back(std::move(e));
  }
  if (events.size() != ref.count) {
    return InternalError("log block: event count mismatch");
  }
  return events;
}

std::string SegmentFileName(int64_t sequence) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%010lld.seg", static_cast<long long>(sequence));
  return buf;
}

Result<std::vector<BlockRef>> OpenSegments(const std::string& dir, std::string* repaired) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return InternalError("cannot create " + dir + ": " + ec.message());
  }
  std::vector<int64_t> sequences;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    std::string name = entry.path().filename().string();
    if (name.size() == 14 && name.substr(10) == ".seg") {
      sequences.push_back(std::stoll(name.substr(0, 10)));
    }
  }
  std::sort(sequences.begin(), sequences.end());
  std::vector<BlockRef> blocks;
  for (size_t i = 0; i < sequences.size(); ++i) {
    bool newest = i + 1 == sequences.size();
    std::string path = dir + "/" + SegmentFileName(sequences[i]);
    std::ifstream in(path, std::ios::binary);
    in.seekg(0, std::ios::end);
    const int64_t file_size = in.tellg();
    int64_t pos = 0;
    std::string head(kBlockHeaderSize, '\0');
    while (pos < file_size) {
      BlockRef ref;
      ref.segment = sequences[i];
      ref.offset = pos;
      in.seekg(pos);
      bool ok = file_size - pos >= static_cast<int64_t>(kBlockHeaderSize) &&
                in.read(head.data(), kBlockHeaderSize) && ParseBlockHeader(head, &ref) &&
                ref.size <= file_size - pos;
      if (ok && !newest) {
        std::string with_table(kBlockHeaderSize + StreamTableBytes(ref), '\0');
        in.seekg(pos);
        ok = in.read(with_table.data(), static_cast<std::streamsize>(with_table.size())) &&
             ParseBlockHeader(with_table, &ref);
      }
      // Only the newest segment can end in a torn write; its blocks are checked in full (older
      // segments were closed after an fsync, and are checked when read).
      if (ok && newest) {
        std::string block(ref.size, '\0');
        in.seekg(pos);
        ok = in.read(block.data(), ref.size) && DecodeBlock(block).ok() &&
             ParseBlockHeader(block, &ref);
      }
      if (!ok) {
        if (!newest) {
          return InternalError("corrupt log block in " + path + " at byte " + std::to_string(pos));
        }
        // A write cut short by a crash: drop it, it was never acknowledged.
        if (::truncate(path.c_str(), static_cast<off_t>(pos)) != 0) {
          return InternalError("cannot truncate torn tail of " + path);
        }
        if (repaired != nullptr) {
          *repaired = path + ": truncated a torn block of " + std::to_string(file_size - pos) +
                      " bytes at offset " + std::to_string(pos);
        }
        break;
      }
      blocks.push_back(ref);
      pos += ref.size;
    }
  }
  return blocks;
}

}  // namespace berth::logs
