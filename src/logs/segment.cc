#include "logs/segment.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <nmmintrin.h>
#define ZSTD_STATIC_LINKING_ONLY  // ZSTD_c_literalCompressionMode (stable since zstd 1.5.0)
#include <zstd.h>

#include <algorithm>
#include <boost/crc.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <numeric>

#include "core/shared_work.h"
#include "core/string_pool.h"
#include "core/worker_thread.h"
#include "logs/byte_io.h"

namespace berth::logs {

namespace {

// BLK2's checksum: CRC-32 (zlib's polynomial), computed a byte at a time.
uint32_t Crc(std::initializer_list<std::string_view> parts) {
  boost::crc_32_type crc;
  for (std::string_view p : parts) {
    crc.process_bytes(p.data(), p.size());
  }
  return crc.checksum();
}

// BLK3's checksum: CRC-32C (Castagnoli), which SSE 4.2 computes 8 bytes an instruction.
uint32_t Crc32c(std::initializer_list<std::string_view> parts) {
  uint64_t crc = 0xFFFFFFFFu;
  for (std::string_view part : parts) {
    const char* p = part.data();
    size_t n = part.size();
    for (; n >= 8; n -= 8, p += 8) {
      uint64_t v;
      std::memcpy(&v, p, 8);
      crc = _mm_crc32_u64(crc, v);
    }
    uint32_t c = static_cast<uint32_t>(crc);
    for (; n > 0; --n, ++p) {
      c = _mm_crc32_u8(c, static_cast<uint8_t>(*p));
    }
    crc = c;
  }
  return static_cast<uint32_t>(crc) ^ 0xFFFFFFFFu;
}

// One compression and one decompression context per thread: creating a context costs far more
// than compressing a small cluster.
ZSTD_CCtx* CompressContext(int level) {
  struct Owner {
    ZSTD_CCtx* ctx = ZSTD_createCCtx();
    ~Owner() { ZSTD_freeCCtx(ctx); }
  };
  thread_local Owner owner;
  ZSTD_CCtx_reset(owner.ctx, ZSTD_reset_session_and_parameters);
  ZSTD_CCtx_setParameter(owner.ctx, ZSTD_c_compressionLevel, level);
  return owner.ctx;
}

ZSTD_DCtx* DecompressContext() {
  struct Owner {
    ZSTD_DCtx* ctx = ZSTD_createDCtx();
    ~Owner() { ZSTD_freeDCtx(ctx); }
  };
  thread_local Owner owner;
  return owner.ctx;
}

// Appends the frame of `raw` to `out`. The frame is written to a per-thread buffer that keeps
// its largest size and then copied: growing `out` by the compression bound (about the raw
// size) for every frame zero-filled a megabyte per block, more than copying the frames costs.
void Compress(ZSTD_CCtx* ctx, std::string_view raw, std::string& out) {
  thread_local std::string frame;
  const size_t bound = ZSTD_compressBound(raw.size());
  if (frame.size() < bound) {
    frame.resize(bound);
  }
  const size_t n = ZSTD_compress2(ctx, frame.data(), frame.size(), raw.data(), raw.size());
  BERTH_ASSERT(!ZSTD_isError(n), "zstd compression of an in-memory buffer cannot fail");
  out.append(frame.data(), n);
}

// False for a frame that is not the zstd frame of `raw_size` bytes. The size comes from a block
// or cluster header read from disk: it is checked against the frame's own header, and against
// the most a frame of that length can hold, before anything that large is allocated (a
// corrupt header claimed 2 GiB; the fuzzer found it).
bool Decompress(std::string_view frame, size_t raw_size, std::string& out) {
  if (ZSTD_getFrameContentSize(frame.data(), frame.size()) != raw_size) {
    return false;  // includes unknown and error results: berth writes every frame's size
  }
  // Each zstd block of up to 128 KiB takes at least 3 bytes of the frame.
  if (raw_size / ZSTD_BLOCKSIZE_MAX > frame.size() / 3 + 1) {
    return false;
  }
  out.resize(raw_size);
  const size_t n =
      ZSTD_decompressDCtx(DecompressContext(), out.data(), raw_size, frame.data(), frame.size());
  return !ZSTD_isError(n) && n == raw_size;
}

// ---- BLK2 (read only) ------------------------------------------------------------------------

bool ParseHeaderV2(std::string_view bytes, BlockRef* ref) {
  if (bytes.size() < kBlockHeaderSizeV2) {
    return false;
  }
  const uint32_t frame_len = GetFixed<uint32_t>(bytes.data() + 4);
  ref->count = GetFixed<uint32_t>(bytes.data() + 12);
  ref->min_ts = GetFixed<int64_t>(bytes.data() + 16);
  ref->max_ts = GetFixed<int64_t>(bytes.data() + 24);
  ref->stream_count = GetFixed<uint32_t>(bytes.data() + 32);
  if (frame_len >= (1u << 30) || ref->stream_count > ref->count || ref->stream_count > (1u << 20)) {
    return false;
  }
  ref->head_size = static_cast<uint32_t>(kBlockHeaderSizeV2 + size_t{8} * ref->stream_count);
  ref->size = ref->head_size + frame_len;
  ref->streams.clear();
  ref->clusters.reset();
  if (bytes.size() >= ref->head_size) {
    for (uint32_t i = 0; i < ref->stream_count; ++i) {
      ref->streams.push_back(
          static_cast<int64_t>(GetFixed<uint64_t>(bytes.data() + kBlockHeaderSizeV2 + 8 * i)));
    }
  }
  return true;
}

Result<std::vector<LogEvent>> DecodeV2(std::string_view block) {
  BlockRef ref;
  if (!ParseHeaderV2(block, &ref) || block.size() != ref.size) {
    return InternalError("log block: bad header");
  }
  std::string_view table = block.substr(kBlockHeaderSizeV2, ref.head_size - kBlockHeaderSizeV2);
  std::string_view frame = block.substr(ref.head_size);
  if (Crc({block.substr(0, 36), table, frame}) != GetFixed<uint32_t>(block.data() + 36)) {
    return InternalError("log block: checksum mismatch");
  }
  std::string raw;
  if (!Decompress(frame, GetFixed<uint32_t>(block.data() + 8), raw)) {
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
    e.stream_id = static_cast<int64_t>(GetFixed<uint64_t>(raw.data() + pos));
    e.timestamp_ms = GetFixed<int64_t>(raw.data() + pos + 8);
    e.ingestion_ms = GetFixed<int64_t>(raw.data() + pos + 16);
    uint32_t len = GetFixed<uint32_t>(raw.data() + pos + 24);
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

// ---- BLK3 ------------------------------------------------------------------------------------

constexpr size_t kSmallFrameBytes = 16 << 10;
// Below this many events a block's frames are encoded on one thread: handing half to a helper
// costs more than it saves.
constexpr size_t kParallelEncodeEvents = 1024;

bool ParseHeaderV3(std::string_view bytes, BlockRef* ref) {
  if (bytes.size() < kBlockHeaderSize) {
    return false;
  }
  const char* h = bytes.data();
  ref->size = GetFixed<uint32_t>(h + 4);
  ref->count = GetFixed<uint32_t>(h + 8);
  ref->stream_count = GetFixed<uint32_t>(h + 12);
  const uint32_t cluster_count = GetFixed<uint32_t>(h + 16);
  const uint32_t table_size = GetFixed<uint32_t>(h + 20);
  const uint32_t table_raw = GetFixed<uint32_t>(h + 24);
  ref->min_ts = GetFixed<int64_t>(h + 32);
  ref->max_ts = GetFixed<int64_t>(h + 40);
  if (ref->size >= (1u << 30) || ref->stream_count > ref->count || ref->count > (1u << 16) ||
      cluster_count > ref->count || table_size >= (1u << 30) || table_raw >= (1u << 30)) {
    return false;
  }
  const uint64_t head = kBlockHeaderSize + uint64_t{8} * ref->stream_count + table_size;
  if (head > ref->size) {
    return false;
  }
  ref->head_size = static_cast<uint32_t>(head);
  ref->streams.clear();
  ref->clusters.reset();
  if (bytes.size() < ref->head_size) {
    return true;
  }
  const std::string_view streams = bytes.substr(kBlockHeaderSize, size_t{8} * ref->stream_count);
  const std::string_view table = bytes.substr(kBlockHeaderSize + streams.size(), table_size);
  if (Crc32c({bytes.substr(0, 48), streams, table}) != GetFixed<uint32_t>(h + 48)) {
    return false;
  }
  for (uint32_t i = 0; i < ref->stream_count; ++i) {
    ref->streams.push_back(static_cast<int64_t>(GetFixed<uint64_t>(streams.data() + 8 * i)));
  }
  std::string raw;
  if (!Decompress(table, table_raw, raw)) {
    return false;
  }
  ref->clusters = BlockClusters::Decode(raw, cluster_count);
  if (ref->clusters == nullptr) {
    return false;
  }
  // Every frame must lie inside the block.
  for (const ClusterInfo& c : ref->clusters->clusters) {
    if (uint64_t{c.frame_offset} + c.frame_size > ref->size - ref->head_size) {
      ref->clusters.reset();
      return false;
    }
  }
  return true;
}

}  // namespace

namespace {

// The frames of a block's clusters, built by one or two threads that each take the next
// cluster no one has taken, largest first (core::SharedWork): a thread the scheduler stalls
// (the VM has two cores, and at moments more threads with work) delays nothing.
struct FrameWork {
  FrameWork(const std::vector<LogEvent>& e, ClusterPlan& p, const std::vector<size_t>& o, int level)
      : events(e), plan(p), order(o), zstd_level(level), infos(o.size()), pieces(o.size()) {}
  const std::vector<LogEvent>& events;
  ClusterPlan& plan;
  const std::vector<size_t>& order;  // cluster indices in frame order
  int zstd_level;
  std::vector<ClusterInfo> infos;    // by position in `order`, each written by its taker
  struct Piece {
    int buffer = 0;                  // which thread's frame buffer holds it
    uint32_t offset = 0;
    uint32_t size = 0;
  };
  std::vector<Piece> pieces;         // by position in `order`
};

// Takes clusters of `work` (positions of its `order`) until none is left: builds, summarizes
// and compresses each one's frame into *frames (this thread's buffer, number `buffer_id`). Uses
// the calling thread's scratch buffers and compression context, so two threads may run it at
// once. `work_at` and `frames` are only used for a cluster taken: a helper job that starts
// after the block is done touches neither.
void EncodeClusterFrames(core::SharedWork& shared, FrameWork* work_at, int buffer_id,
                         std::string* frames_at) {
  ZSTD_CCtx* cctx = nullptr;
  // Reused across blocks: fresh megabyte buffers would cost a page fault every 4 KiB. `buffer`
  // keeps its largest size (growing a string zero-fills the new bytes; clusters come largest
  // first, so each block would refill most of it).
  thread_local std::string buffer;
  thread_local TrigramCollector trigrams;
  shared.Run([&](size_t k) {
    FrameWork& work = *work_at;
    std::string& frames = *frames_at;
    const std::vector<LogEvent>& events = work.events;
    BlockClusters& table = *work.plan.table;
    if (cctx == nullptr) {
      cctx = CompressContext(work.zstd_level);
      ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
    }
    const size_t c = work.order[k];
    ClusterInfo info = std::move(table.clusters[c]);
    const std::vector<uint32_t>& members = work.plan.members[c];
    const size_t m = members.size();
    if (buffer.size() < info.raw_size) {
      buffer.resize(info.raw_size);
    }
    const std::string_view raw(buffer.data(), info.raw_size);  // counted by PlanClusters
    char* idx = buffer.data();
    char* ts = idx + 2 * m;
    char* ingest = ts + 8 * m;
    char* len = ingest + 8 * m;
    char* text = len + 4 * m;
    for (size_t j = 0; j < m; ++j) {
      const LogEvent& e = events[members[j]];
      const auto index = static_cast<uint16_t>(members[j]);
      const auto size = static_cast<uint32_t>(e.message.size());
      std::memcpy(idx + 2 * j, &index, 2);
      std::memcpy(ts + 8 * j, &e.timestamp_ms, 8);
      std::memcpy(ingest + 8 * j, &e.ingestion_ms, 8);
      std::memcpy(len + 4 * j, &size, 4);
      std::memcpy(text, e.message.data(), size);
      text += size;
    }
    // The messages lie back to back: one pass over them records their trigrams (plus a few
    // spanning two messages, which only makes the summary more permissive).
    trigrams.Clear();
    trigrams.Add(raw.substr(m * kEventColumnsBytes));
    info.trigrams = trigrams.Bitmap();
    info.trigrams.Fold();
    const auto offset = static_cast<uint32_t>(frames.size());
    // Small frames (the rare clusters a selective query reads) skip Huffman-coding their
    // literals: decoding a frame's Huffman table costs more than the frame's bytes, and these
    // frames are a few percent of the block.
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_literalCompressionMode,
                           raw.size() < kSmallFrameBytes ? ZSTD_ps_disable : ZSTD_ps_auto);
    Compress(cctx, raw, frames);
    info.frame_size = static_cast<uint32_t>(frames.size()) - offset;
    work.pieces[k] = FrameWork::Piece{buffer_id, offset, info.frame_size};
    work.infos[k] = std::move(info);
  });
}

}  // namespace

namespace {
// Frame buffers of blocks being encoded (three each), kept between blocks: see
// core/string_pool.h.
core::StringPool& FrameBuffers() {
  static core::StringPool pool(4);
  return pool;
}
}  // namespace

std::string EncodeBlock(const std::vector<LogEvent>& events, int zstd_level,
                        core::WorkerThread* helper, std::shared_ptr<const BlockClusters>* table_out) {
  ClusterPlan plan = PlanClusters(events, helper);
  BlockClusters& table = *plan.table;
  // Frames in descending size: the rare clusters (errors, 5xx) that queries look for end up
  // next to each other at the end of the block, so reading them takes few, short reads.
  std::vector<size_t> order(table.clusters.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return table.clusters[a].count > table.clusters[b].count;
  });
  uint64_t total = 0;
  for (const ClusterInfo& c : table.clusters) {
    total += c.raw_size;
  }
  FrameWork work(events, plan, order, zstd_level);
  // Each thread's frames go to a buffer of this call, not of the thread: a thread-owned buffer
  // handed back would be cleared by the helper's next job for another caller.
  std::string frames_a = FrameBuffers().Take();
  std::string frames_b = FrameBuffers().Take();
  frames_a.reserve(total / 6);  // clustered lograge compresses ~8x: room for most blocks
  auto shared = std::make_shared<core::SharedWork>(order.size());
  core::SharedWork::WaitOnExit stop_on_exit(*shared);  // the helper writes `work`, `frames_b`
  if (helper != nullptr && events.size() >= kParallelEncodeEvents && order.size() > 1) {
    frames_b.reserve(total / 6);
    (void)helper->Submit([shared, work_at = &work, frames_at = &frames_b] {
      EncodeClusterFrames(*shared, work_at, 1, frames_at);
    });
  }
  EncodeClusterFrames(*shared, &work, 0, &frames_a);
  shared->Wait();  // for a cluster the helper is still compressing; not for the helper to start
  // The frames in `order`, each cluster's offset set to where its frame lands.
  bool in_order = true;
  for (size_t k = 0; k < order.size() && in_order; ++k) {
    in_order = work.pieces[k].buffer == 0 &&
               (k == 0 || work.pieces[k].offset == work.pieces[k - 1].offset + work.pieces[k - 1].size);
  }
  std::string frames;
  if (in_order) {
    frames = std::move(frames_a);  // one thread did all of it
  } else {
    frames = FrameBuffers().Take();
    frames.reserve(frames_a.size() + frames_b.size());
  }
  for (size_t k = 0; k < order.size(); ++k) {
    const FrameWork::Piece& piece = work.pieces[k];
    if (in_order) {
      work.infos[k].frame_offset = piece.offset;
      continue;
    }
    work.infos[k].frame_offset = static_cast<uint32_t>(frames.size());
    frames.append((piece.buffer == 0 ? frames_a : frames_b).data() + piece.offset, piece.size);
  }
  if (!in_order) {
    FrameBuffers().Give(std::move(frames_a));
  }
  FrameBuffers().Give(std::move(frames_b));
  table.clusters = std::move(work.infos);
  const std::string table_raw = table.Encode();
  std::string table_zst;
  Compress(CompressContext(zstd_level), table_raw, table_zst);

  // Every stream has at least one cluster, every event is in one.
  std::vector<int64_t> streams;
  int64_t min_ts = table.clusters.empty() ? 0 : table.clusters.front().min_ts;
  int64_t max_ts = min_ts;
  for (const ClusterInfo& c : table.clusters) {
    streams.push_back(c.stream_id);
    min_ts = std::min(min_ts, c.min_ts);
    max_ts = std::max(max_ts, c.max_ts);
  }
  std::sort(streams.begin(), streams.end());
  streams.erase(std::unique(streams.begin(), streams.end()), streams.end());
  std::string stream_table;
  for (int64_t id : streams) {
    PutFixed<uint64_t>(stream_table, static_cast<uint64_t>(id));
  }
  const size_t size = kBlockHeaderSize + stream_table.size() + table_zst.size() + frames.size();
  std::string block;
  block.reserve(size);
  PutFixed<uint32_t>(block, kBlockMagic);
  PutFixed<uint32_t>(block, static_cast<uint32_t>(size));
  PutFixed<uint32_t>(block, static_cast<uint32_t>(events.size()));
  PutFixed<uint32_t>(block, static_cast<uint32_t>(streams.size()));
  PutFixed<uint32_t>(block, static_cast<uint32_t>(table.clusters.size()));
  PutFixed<uint32_t>(block, static_cast<uint32_t>(table_zst.size()));
  PutFixed<uint32_t>(block, static_cast<uint32_t>(table_raw.size()));
  PutFixed<uint32_t>(block, 0);
  PutFixed<int64_t>(block, min_ts);
  PutFixed<int64_t>(block, max_ts);
  PutFixed<uint32_t>(block, Crc32c({block, stream_table, table_zst}));
  PutFixed<uint32_t>(block, Crc32c({block, stream_table, table_zst, frames}));
  block.append(stream_table);
  block.append(table_zst);
  block.append(frames);
  if (table_out != nullptr) {
    *table_out = std::move(plan.table);  // ClusterDim views stay valid: the strings do not move
  }
  FrameBuffers().Give(std::move(frames));
  return block;
}

Status DecodeClusterFrameInto(std::string_view frame, const ClusterInfo& cluster,
                              uint32_t block_count, std::vector<IndexedEvent>* out,
                              size_t* used) {
  thread_local std::string raw;
  if (!Decompress(frame, cluster.raw_size, raw)) {
    return InternalError("log block: cannot decompress a cluster");
  }
  const size_t n = cluster.count;
  if (raw.size() < n * kEventColumnsBytes) {
    return InternalError("log block: truncated cluster");
  }
  const char* idx = raw.data();
  const char* ts = idx + 2 * n;
  const char* ingest = ts + 8 * n;
  const char* len = ingest + 8 * n;
  size_t pos = n * kEventColumnsBytes;
  if (out->size() < *used + n) {
    out->resize(*used + n);
  }
  for (size_t k = 0; k < n; ++k) {
    IndexedEvent& e = (*out)[*used + k];
    e.index = GetFixed<uint16_t>(idx + 2 * k);
    const uint32_t size = GetFixed<uint32_t>(len + 4 * k);
    if (e.index >= block_count || raw.size() - pos < size) {
      return InternalError("log block: bad cluster record");
    }
    e.event.stream_id = cluster.stream_id;
    e.event.timestamp_ms = GetFixed<int64_t>(ts + 8 * k);
    e.event.ingestion_ms = GetFixed<int64_t>(ingest + 8 * k);
    e.event.message.assign(raw.data() + pos, size);
    pos += size;
  }
  if (pos != raw.size()) {
    return InternalError("log block: cluster size mismatch");
  }
  *used += n;
  return OkStatus();
}

Status DecodeClusterFrame(std::string_view frame, const ClusterInfo& cluster,
                          uint32_t block_count, std::vector<IndexedEvent>* out) {
  size_t used = out->size();
  return DecodeClusterFrameInto(frame, cluster, block_count, out, &used);
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
  if (bytes.size() < 4) {
    return false;
  }
  switch (GetFixed<uint32_t>(bytes.data())) {
    case kBlockMagic:
      return ParseHeaderV3(bytes, ref);
    case kBlockMagicV2:
      return ParseHeaderV2(bytes, ref);
    default:
      return false;
  }
}

Result<std::vector<LogEvent>> DecodeBlock(std::string_view block) {
  if (block.size() >= 4 && GetFixed<uint32_t>(block.data()) == kBlockMagicV2) {
    return DecodeV2(block);
  }
  BlockRef ref;
  if (!ParseBlockHeader(block, &ref) || block.size() != ref.size || ref.clusters == nullptr) {
    return InternalError("log block: bad header");
  }
  if (Crc32c({block.substr(0, 52), block.substr(kBlockHeaderSize)}) !=
      GetFixed<uint32_t>(block.data() + 52)) {
    return InternalError("log block: checksum mismatch");
  }
  std::vector<LogEvent> events(ref.count);
  std::vector<bool> filled(ref.count, false);
  std::vector<IndexedEvent> part;
  const std::string_view frames = block.substr(ref.head_size);
  for (const ClusterInfo& c : ref.clusters->clusters) {
    part.clear();
    BERTH_RETURN_IF_ERROR(
        DecodeClusterFrame(frames.substr(c.frame_offset, c.frame_size), c, ref.count, &part));
    for (IndexedEvent& e : part) {
      if (filled[e.index]) {
        return InternalError("log block: an event index occurs twice");
      }
      filled[e.index] = true;
      events[e.index] = std::move(e.event);
    }
  }
  if (std::find(filled.begin(), filled.end(), false) != filled.end()) {
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
    std::string head;
    while (pos < file_size) {
      BlockRef ref;
      ref.segment = sequences[i];
      ref.offset = pos;
      // The fixed header: BLK2's is shorter than BLK3's, and a BLK2 block can be too.
      head.resize(static_cast<size_t>(std::min<int64_t>(kBlockHeaderSize, file_size - pos)));
      in.seekg(pos);
      bool ok = in.read(head.data(), static_cast<std::streamsize>(head.size())) &&
                ParseBlockHeader(head, &ref) && ref.size <= file_size - pos;
      if (ok && !newest) {
        // The head (stream and cluster tables) has its own crc in BLK3.
        head.resize(ref.head_size);
        in.seekg(pos);
        ok = in.read(head.data(), static_cast<std::streamsize>(head.size())) &&
             ParseBlockHeader(head, &ref);
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
      blocks.push_back(std::move(ref));
      pos += blocks.back().size;
    }
  }
  return blocks;
}

}  // namespace berth::logs
