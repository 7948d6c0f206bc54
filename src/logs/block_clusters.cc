#include "logs/block_clusters.h"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

#include "core/assert.h"
#include "core/shared_work.h"
#include "core/worker_thread.h"
#include "logs/byte_io.h"
#include "logs/flat_object.h"

namespace berth::logs {

namespace {

bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsBlank(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && IsBlank(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

// Per event and key: the index of the key's value in KeyStats::values, or one of these.
constexpr uint8_t kAbsent = 0xFF;   // a JSON object without the key
constexpr uint8_t kUnknown = 0xFE;  // not a JSON object, or an object/array value
static_assert(kMaxDimValues < kUnknown);

struct KeyStats {
  std::string_view key;                 // raw bytes, into the event it was first seen in
  uint64_t key_print = 0;               // Fingerprint(key)
  std::vector<std::string_view> values; // raw JSON text of each distinct scalar value
  bool too_many = false;                // over kMaxDimValues values, or one too long
  std::array<uint64_t, kMaxDimValues> prints{};  // Fingerprint of each value
};

// A digest of a string that is exact (given the length) up to 8 bytes and a hash beyond, so
// that most comparisons need no memcmp. Fixed-size loads only.
inline uint64_t Fingerprint(std::string_view s) {
  const char* p = s.data();
  const size_t n = s.size();
  if (n >= 8) {
    uint64_t a, b;
    std::memcpy(&a, p, 8);
    std::memcpy(&b, p + n - 8, 8);
    return n == 8 ? a : a ^ (b * 0x9E3779B97F4A7C15ull) ^ n;
  }
  if (n >= 4) {
    uint32_t a, b;
    std::memcpy(&a, p, 4);
    std::memcpy(&b, p + n - 4, 4);
    return uint64_t{a} | (uint64_t{b} << 32);
  }
  if (n > 0) {
    return uint64_t{static_cast<unsigned char>(p[0])} |
           (uint64_t{static_cast<unsigned char>(p[n / 2])} << 8) |
           (uint64_t{static_cast<unsigned char>(p[n - 1])} << 16);
  }
  return 0;
}

// Equal strings, given that their Fingerprints are equal.
inline bool SameGivenPrints(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         (a.size() <= 8 || std::memcmp(a.data(), b.data(), a.size()) == 0);
}

// The raw bytes of a key: simdjson's raw_json_string points just past the opening quote; the
// key ends at the first quote not escaped by a backslash.
std::string_view RawKey(const char* p, const char* end) {
  const char* q = p;
  while (q < end && *q != '"') {
    q += *q == '\\' ? 2 : 1;
  }
  return {p, static_cast<size_t>(std::min(q, end) - p)};
}

struct Scratch {
  simdjson::ondemand::parser parser;
  std::string buf;
  std::array<FlatField, kMaxFlatFields> fields;  // ScanFlatObject's output, reused
};

// A key or value FieldRecorder added to the KeyStats: value index `value` of key `key`, or the
// key itself when `value` is kNewKey. Its text points into the event being read.
struct NewText {
  uint8_t key = 0;
  uint8_t value = 0;
};
constexpr uint8_t kNewKey = 0xFF;

// What one pass of ReadFields over a run of events found: the keys (in first-seen order) and
// their values, and stable copies of the texts that pointed into a reused parse buffer.
struct FieldPass {
  std::vector<KeyStats> keys;
  std::vector<std::unique_ptr<std::string>> texts;
  // A key was met while `keys` was full (kMaxDimKeys): that key was not recorded. Harmless for
  // the first pass of a block, but a later pass's table may then lack a key an earlier pass has.
  bool dropped_key = false;
  std::vector<NewText> added;  // per event, reused
};

// Records the fields of one event into `codes` (one per key of `keys`, which grows up to
// kMaxDimKeys); only a key's first occurrence in the event counts, as for Matches.
class FieldRecorder {
 public:
  FieldRecorder(FieldPass& pass, uint8_t* codes) : pass_(pass), keys_(pass.keys), codes_(codes) {}

  // `raw` is the value's JSON text; `scalar` false for an object or array.
  void Field(std::string_view raw_key, std::string_view raw, bool scalar) {
    // Fields usually come in the same order in every event: try the key at this position first.
    const uint64_t key_print = Fingerprint(raw_key);
    auto is = [&](size_t k) {
      return keys_[k].key_print == key_print && SameGivenPrints(keys_[k].key, raw_key);
    };
    size_t k = position_ < keys_.size() && is(position_) ? position_ : keys_.size();
    if (k == keys_.size()) {
      k = 0;
      while (k < keys_.size() && !is(k)) {
        ++k;
      }
    }
    ++position_;
    if (k == keys_.size()) {
      if (keys_.size() == kMaxDimKeys) {
        pass_.dropped_key = true;
        return;  // not a candidate; nothing to record
      }
      keys_.push_back({raw_key, key_print, {}, false, {}});
      pass_.added.push_back({static_cast<uint8_t>(k), kNewKey});
    }
    if ((seen_ >> k) & 1) {
      return;
    }
    seen_ |= uint32_t{1} << k;
    KeyStats& ks = keys_[k];
    if (ks.too_many || !scalar) {
      codes_[k] = kUnknown;
      return;
    }
    const uint64_t print = Fingerprint(raw);
    size_t v = 0;
    while (v < ks.values.size() && (ks.prints[v] != print || !SameGivenPrints(ks.values[v], raw))) {
      ++v;
    }
    if (v == ks.values.size()) {
      if (ks.values.size() == kMaxDimValues || raw.size() > kMaxDimValueBytes) {
        ks.too_many = true;
        codes_[k] = kUnknown;
        return;
      }
      ks.prints[v] = print;
      ks.values.push_back(raw);
      pass_.added.push_back({static_cast<uint8_t>(k), static_cast<uint8_t>(v)});
    }
    codes_[k] = static_cast<uint8_t>(v);
  }

 private:
  FieldPass& pass_;
  std::vector<KeyStats>& keys_;
  uint8_t* codes_;
  uint32_t seen_ = 0;  // keys already met in this event
  size_t position_ = 0;
};

enum class Read : uint8_t {
  NotJson,  // not a JSON object simdjson can walk
  InPlace,  // new keys and values point into the message itself
  Parsed,   // new keys and values point into the parse buffer (Scratch::buf)
};

// Reads the top-level fields of `message` into `pass` and `codes`.
Read ReadFields(std::string_view message, Scratch& s, FieldPass& pass, uint8_t* codes) {
  const std::string_view m = Trim(message);
  // The same shape test as FilterPattern's JSON matching.
  if (m.size() < 2 || m.front() != '{' || m.back() != '}') {
    return Read::NotJson;
  }
  FieldRecorder rec(pass, codes);
  size_t count = 0;
  if (ScanFlatObject(m, s.fields, &count)) {
    for (size_t f = 0; f < count; ++f) {
      rec.Field(s.fields[f].key, s.fields[f].value, true);
    }
    return Read::InPlace;
  }
  s.buf.assign(m);
  s.buf.resize(m.size() + simdjson::SIMDJSON_PADDING, '\0');
  simdjson::ondemand::document doc;
  if (s.parser.iterate(s.buf.data(), m.size(), s.buf.size()).get(doc) != simdjson::SUCCESS) {
    return Read::NotJson;
  }
  simdjson::ondemand::object obj;
  if (doc.get_object().get(obj) != simdjson::SUCCESS) {
    return Read::NotJson;
  }
  const char* end = s.buf.data() + m.size();
  for (auto field_result : obj) {
    simdjson::ondemand::field field;
    if (std::move(field_result).get(field) != simdjson::SUCCESS) {
      return Read::NotJson;
    }
    const std::string_view raw_key = RawKey(field.key().raw(), end);
    simdjson::ondemand::value value = field.value();
    simdjson::ondemand::json_type type;
    if (value.type().get(type) != simdjson::SUCCESS) {
      return Read::NotJson;
    }
    const bool scalar = type != simdjson::ondemand::json_type::object &&
                        type != simdjson::ondemand::json_type::array;
    rec.Field(raw_key, scalar ? Trim(value.raw_json_token()) : std::string_view(), scalar);
  }
  return Read::Parsed;
}

// Reads the fields of events[begin, end) into `pass`, writing their rows of `codes`
// (kMaxDimKeys a row, indexed by `pass`'s keys) and their `json` flags. Texts that point into
// the parse buffer are copied into pass.texts; the others point into the events.
void ReadRange(const std::vector<LogEvent>& events, size_t begin, size_t end, uint8_t* codes,
               uint8_t* json, FieldPass& pass) {
  thread_local Scratch scratch;
  for (size_t i = begin; i < end; ++i) {
    uint8_t* c = &codes[i * kMaxDimKeys];
    std::fill(c, c + kMaxDimKeys, kAbsent);
    pass.added.clear();
    const Read read = ReadFields(events[i].message, scratch, pass, c);
    json[i] = read != Read::NotJson ? 1 : 0;
    if (read == Read::NotJson) {
      std::fill(c, c + kMaxDimKeys, kUnknown);
    }
    if (read == Read::InPlace) {
      continue;
    }
    // Keys and values first seen in this event point into the parse buffer (reused for the next
    // event) when it was parsed, or into a half-read event that proved not to be JSON: copy them.
    for (const NewText& a : pass.added) {
      KeyStats& ks = pass.keys[a.key];
      std::string_view& text = a.value == kNewKey ? ks.key : ks.values[a.value];
      pass.texts.push_back(std::make_unique<std::string>(text));
      text = *pass.texts.back();
    }
  }
}

// Adds what `later` found (ReadRange over events[begin, end), after `earlier`'s events) to
// `earlier`, and rewrites the rows of those events in `codes` from `later`'s key and value
// numbers to `earlier`'s, so that the result is what one ReadRange over both runs gives: keys
// and values in first-seen order, the same too_many flags, the same codes for every key that
// can be a dimension. REQUIRES: !later.dropped_key (else `later` may lack a key `earlier` has).
void MergeInto(FieldPass& earlier, FieldPass& later, uint8_t* codes, const uint8_t* json,
               size_t begin, size_t end) {
  BERTH_ASSERT(!later.dropped_key, "a later pass with a full key table cannot be merged");
  std::vector<KeyStats>& keys = earlier.keys;
  constexpr uint8_t kDropped = 0xFF;  // a later key beyond kMaxDimKeys: never recorded
  std::array<uint8_t, kMaxDimKeys> key_to{};
  std::array<std::array<uint8_t, kMaxDimValues>, kMaxDimKeys> value_to{};
  bool identity = true;
  for (size_t lk = 0; lk < later.keys.size(); ++lk) {
    const KeyStats& from = later.keys[lk];
    size_t k = 0;
    while (k < keys.size() &&
           (keys[k].key_print != from.key_print || !SameGivenPrints(keys[k].key, from.key))) {
      ++k;
    }
    if (k == keys.size()) {
      if (keys.size() == kMaxDimKeys) {
        earlier.dropped_key = true;
        key_to[lk] = kDropped;
        identity = false;
        continue;
      }
      keys.push_back({from.key, from.key_print, {}, false, {}});
    }
    key_to[lk] = static_cast<uint8_t>(k);
    identity = identity && k == lk;
    KeyStats& to = keys[k];
    to.too_many = to.too_many || from.too_many;
    for (size_t v = 0; v < from.values.size() && !to.too_many; ++v) {
      size_t w = 0;
      while (w < to.values.size() &&
             (to.prints[w] != from.prints[v] || !SameGivenPrints(to.values[w], from.values[v]))) {
        ++w;
      }
      if (w == to.values.size()) {
        if (w == kMaxDimValues) {
          to.too_many = true;  // more distinct values in both runs than a dimension may have
          break;
        }
        to.prints[w] = from.prints[v];
        to.values.push_back(from.values[v]);
      }
      value_to[lk][v] = static_cast<uint8_t>(w);
      identity = identity && w == v;
    }
  }
  for (auto& text : later.texts) {
    earlier.texts.push_back(std::move(text));
  }
  later.texts.clear();
  if (identity) {
    return;  // the same keys and values in the same order: the rows are already right
  }
  // A key that is too_many is never a dimension, so its codes are never read again.
  for (size_t i = begin; i < end; ++i) {
    if (!json[i]) {
      continue;  // all kUnknown, whatever the numbering
    }
    uint8_t* row = &codes[i * kMaxDimKeys];
    std::array<uint8_t, kMaxDimKeys> out;
    out.fill(kAbsent);
    for (size_t lk = 0; lk < later.keys.size(); ++lk) {
      const uint8_t k = key_to[lk];
      if (k == kDropped) {
        continue;
      }
      const uint8_t code = row[lk];
      out[k] = code == kAbsent || code == kUnknown || keys[k].too_many ? code : value_to[lk][code];
    }
    std::memcpy(row, out.data(), kMaxDimKeys);
  }
}

}  // namespace

ClusterPlan PlanClusters(const std::vector<LogEvent>& events, core::WorkerThread* helper) {
  const size_t n = events.size();
  // Per-thread buffers, reused across blocks: this VM takes ~12 us to fault in a fresh page,
  // and `codes` alone is 512 KiB for a full block.
  thread_local std::vector<uint8_t> codes;
  thread_local std::vector<uint8_t> json;
  thread_local std::vector<uint32_t> cluster_of;
  thread_local std::vector<uint32_t> slots;  // cluster index + 1, or 0
  codes.resize(n * kMaxDimKeys);
  json.resize(n);
  cluster_of.resize(n);
  // Read in chunks that the calling thread and `helper` take in turn, each into a pass of its
  // own, merged in order afterwards (MergeInto): the same keys, values and codes as one pass
  // over all events. Taking chunks rather than halves means a thread the scheduler stalls (two
  // cores; PutLogEvents plans while another thread hashes the request) delays nothing.
  const bool two_threads = helper != nullptr && n >= kParallelPlanEvents;
  const size_t chunk = two_threads ? kPlanChunkEvents : std::max<size_t>(n, 1);
  const size_t chunks = (n + chunk - 1) / chunk;
  std::vector<FieldPass> passes(chunks);
  // Pointers, not the names: in the helper's job, `codes` and `json` would be the helper's own
  // thread_local vectors. The job uses them only for a chunk it takes (core::SharedWork).
  uint8_t* const codes_at = codes.data();
  uint8_t* const json_at = json.data();
  auto read_chunk = [events_at = &events, n, chunk, codes_at, json_at,
                     passes_at = &passes](size_t c) {
    FieldPass& pass = (*passes_at)[c];
    pass.keys.reserve(kMaxDimKeys);
    ReadRange(*events_at, c * chunk, std::min(n, (c + 1) * chunk), codes_at, json_at, pass);
  };
  auto shared = std::make_shared<core::SharedWork>(chunks);
  core::SharedWork::WaitOnExit stop_on_exit(*shared);  // the helper reads `events`, writes `passes`
  if (two_threads) {
    (void)helper->Submit([shared, read_chunk] { shared->Run(read_chunk); });
  }
  shared->Run(read_chunk);
  shared->Wait();  // for a chunk the helper is still reading; not for the helper to start
  FieldPass pass = chunks > 0 ? std::move(passes[0]) : FieldPass{};
  for (size_t c = 1; c < chunks; ++c) {
    const size_t begin = c * chunk;
    const size_t end = std::min(n, begin + chunk);
    if (!passes[c].dropped_key) {
      MergeInto(pass, passes[c], codes.data(), json.data(), begin, end);
    } else {
      // Over kMaxDimKeys keys in this chunk alone: read it again after the ones before it.
      ReadRange(events, begin, end, codes.data(), json.data(), pass);
    }
  }
  std::vector<KeyStats>& keys = pass.keys;
  // Dimensions: the keys with few values, fewest first; dropped from the back while the block
  // would have too many clusters.
  std::vector<size_t> dims;
  for (size_t k = 0; k < keys.size(); ++k) {
    if (!keys[k].too_many) {
      dims.push_back(k);
    }
  }
  std::stable_sort(dims.begin(), dims.end(), [&](size_t a, size_t b) {
    return keys[a].values.size() < keys[b].values.size();
  });
  std::vector<uint32_t> first_event;  // of each cluster
  // Events with the same stream, JSON-ness and dimension codes share a cluster: an open-
  // addressing table of clusters keyed by a hash of those, checked against each cluster's
  // first event.
  auto same_key = [&](size_t a, size_t b) {
    if (events[a].stream_id != events[b].stream_id || json[a] != json[b]) {
      return false;
    }
    if (json[a]) {
      for (size_t k : dims) {
        if (codes[a * kMaxDimKeys + k] != codes[b * kMaxDimKeys + k]) {
          return false;
        }
      }
    }
    return true;
  };
  auto hash_of = [&](size_t i) {
    uint64_t h = (static_cast<uint64_t>(events[i].stream_id) + (json[i] ? 1 : 2)) *
                 0x9E3779B97F4A7C15ull;
    if (json[i]) {
      for (size_t k : dims) {
        h = (h ^ codes[i * kMaxDimKeys + k]) * 0x100000001B3ull;
      }
    }
    return h ^ (h >> 29);
  };
  size_t capacity = 64;
  while (capacity < 2 * n) {
    capacity *= 2;
  }
  while (true) {
    slots.assign(capacity, 0);
    first_event.clear();
    bool too_many = false;
    for (size_t i = 0; i < n && !too_many; ++i) {
      size_t pos = hash_of(i) & (capacity - 1);
      while (slots[pos] != 0 && !same_key(first_event[slots[pos] - 1], i)) {
        pos = (pos + 1) & (capacity - 1);
      }
      if (slots[pos] == 0) {
        first_event.push_back(static_cast<uint32_t>(i));
        slots[pos] = static_cast<uint32_t>(first_event.size());
        too_many = first_event.size() > kMaxClusters && !dims.empty();
      }
      cluster_of[i] = slots[pos] - 1;
    }
    if (!too_many) {
      break;
    }
    dims.pop_back();
  }
  ClusterPlan plan;
  plan.table = std::make_unique<BlockClusters>();
  BlockClusters& t = *plan.table;
  // The dictionary holds the dimension keys and values; dims below point into it.
  std::vector<size_t> key_slot(keys.size());
  std::vector<std::vector<size_t>> value_slot(keys.size());
  for (size_t k : dims) {
    key_slot[k] = t.dictionary.size();
    t.dictionary.push_back(std::make_unique<std::string>(keys[k].key));
    for (std::string_view v : keys[k].values) {
      value_slot[k].push_back(t.dictionary.size());
      t.dictionary.push_back(std::make_unique<std::string>(v));
    }
  }
  std::vector<size_t> sorted_dims = dims;
  std::sort(sorted_dims.begin(), sorted_dims.end(),
            [&](size_t a, size_t b) { return keys[a].key < keys[b].key; });
  t.clusters.resize(first_event.size());
  plan.members.resize(first_event.size());
  for (size_t c = 0; c < first_event.size(); ++c) {
    const size_t i = first_event[c];
    ClusterInfo& info = t.clusters[c];
    info.stream_id = events[i].stream_id;
    info.min_ts = info.max_ts = events[i].timestamp_ms;
    if (json[i]) {
      for (size_t k : sorted_dims) {
        const uint8_t code = codes[i * kMaxDimKeys + k];
        if (code == kUnknown) {
          continue;
        }
        ClusterDim d;
        d.key = *t.dictionary[key_slot[k]];
        if (code != kAbsent) {
          d.value = std::string_view(*t.dictionary[value_slot[k][code]]);
        }
        info.dims.push_back(d);
      }
    }
  }
  for (size_t i = 0; i < n; ++i) {
    const uint32_t c = cluster_of[i];
    ClusterInfo& info = t.clusters[c];
    ++info.count;
    info.min_ts = std::min(info.min_ts, events[i].timestamp_ms);
    info.max_ts = std::max(info.max_ts, events[i].timestamp_ms);
    info.raw_size += static_cast<uint32_t>(kEventColumnsBytes + events[i].message.size());
    plan.members[c].push_back(static_cast<uint32_t>(i));
  }
  return plan;
}

// ---- table codec -----------------------------------------------------------------------------

namespace {

// A bounds-checked reader over the table bytes.
class Reader {
 public:
  explicit Reader(std::string_view s) : s_(s) {}
  template <typename T>
  bool Get(T* v) {
    if (s_.size() - pos_ < sizeof(T)) {
      return false;
    }
    std::memcpy(v, s_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return true;
  }
  bool Bytes(size_t n, std::string_view* out) {
    if (s_.size() - pos_ < n) {
      return false;
    }
    *out = s_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  bool done() const { return pos_ == s_.size(); }

 private:
  std::string_view s_;
  size_t pos_ = 0;
};

constexpr uint16_t kAbsentValue = 0xFFFF;

}  // namespace

// Layout: u32 dictionary size, then each entry (u16 length, bytes); then per cluster: u64
// stream, u32 count, i64 min ts, i64 max ts, u32 frame offset, u32 frame size, u32 raw size,
// u8 dimension count and per dimension u16 key entry + u16 value entry (0xFFFF: absent), u8
// log2 of the trigram bitmap's bits and its words.
std::string BlockClusters::Encode() const {
  std::string out;
  PutFixed<uint32_t>(out, static_cast<uint32_t>(dictionary.size()));
  for (const auto& d : dictionary) {
    PutFixed<uint16_t>(out, static_cast<uint16_t>(d->size()));
    out.append(*d);
  }
  auto slot_of = [this](std::string_view v) {
    for (size_t j = 0; j < dictionary.size(); ++j) {
      if (dictionary[j]->data() == v.data()) {
        return static_cast<uint16_t>(j);
      }
    }
    BERTH_ASSERT(false, "a dimension points into its table's dictionary");
    return uint16_t{0};
  };
  for (const ClusterInfo& c : clusters) {
    PutFixed<uint64_t>(out, static_cast<uint64_t>(c.stream_id));
    PutFixed<uint32_t>(out, c.count);
    PutFixed<int64_t>(out, c.min_ts);
    PutFixed<int64_t>(out, c.max_ts);
    PutFixed<uint32_t>(out, c.frame_offset);
    PutFixed<uint32_t>(out, c.frame_size);
    PutFixed<uint32_t>(out, c.raw_size);
    PutFixed<uint8_t>(out, static_cast<uint8_t>(c.dims.size()));
    for (const ClusterDim& d : c.dims) {
      PutFixed<uint16_t>(out, slot_of(d.key));
      PutFixed<uint16_t>(out, d.value ? slot_of(*d.value) : kAbsentValue);
    }
    PutFixed<uint8_t>(out, static_cast<uint8_t>(c.trigrams.log2_bits()));
    const auto words = c.trigrams.words();
    out.append(reinterpret_cast<const char*>(words.data()), words.size() * 8);
  }
  return out;
}

std::shared_ptr<const BlockClusters> BlockClusters::Decode(std::string_view raw, uint32_t count) {
  auto t = std::make_shared<BlockClusters>();
  Reader r(raw);
  uint32_t entries = 0;
  if (!r.Get(&entries) || entries > raw.size() / 2) {
    return nullptr;
  }
  for (uint32_t j = 0; j < entries; ++j) {
    uint16_t len = 0;
    std::string_view bytes;
    if (!r.Get(&len) || !r.Bytes(len, &bytes)) {
      return nullptr;
    }
    t->dictionary.push_back(std::make_unique<std::string>(bytes));
  }
  if (count > raw.size() / 40) {
    return nullptr;  // each cluster takes more than 40 bytes
  }
  t->clusters.resize(count);
  std::vector<uint64_t> words;
  for (ClusterInfo& c : t->clusters) {
    uint64_t stream = 0;
    uint8_t dims = 0;
    if (!r.Get(&stream) || !r.Get(&c.count) || !r.Get(&c.min_ts) || !r.Get(&c.max_ts) ||
        !r.Get(&c.frame_offset) || !r.Get(&c.frame_size) || !r.Get(&c.raw_size) ||
        !r.Get(&dims)) {
      return nullptr;
    }
    c.stream_id = static_cast<int64_t>(stream);
    for (uint8_t k = 0; k < dims; ++k) {
      uint16_t key = 0, value = 0;
      if (!r.Get(&key) || !r.Get(&value) || key >= entries ||
          (value != kAbsentValue && value >= entries)) {
        return nullptr;
      }
      ClusterDim d;
      d.key = *t->dictionary[key];
      if (value != kAbsentValue) {
        d.value = std::string_view(*t->dictionary[value]);
      }
      c.dims.push_back(d);
    }
    uint8_t log2_bits = 0;
    std::string_view bytes;
    if (!r.Get(&log2_bits) || log2_bits < TrigramBitmap::kMinLog2Bits ||
        log2_bits > TrigramBitmap::kMaxLog2Bits ||
        !r.Bytes(TrigramBitmap::WordCount(log2_bits) * 8, &bytes)) {
      return nullptr;
    }
    words.resize(TrigramBitmap::WordCount(log2_bits));
    std::memcpy(words.data(), bytes.data(), bytes.size());
    if (!TrigramBitmap::FromWords(log2_bits, words, &c.trigrams)) {
      return nullptr;
    }
  }
  if (!r.done()) {
    return nullptr;
  }
  return t;
}

}  // namespace berth::logs
