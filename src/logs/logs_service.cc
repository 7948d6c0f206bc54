#include "logs/logs_service.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <set>

#include <nlohmann/json.hpp>

#include "core/arn.h"
#include "core/log.h"
#include "logs/filter_pattern.h"
#include "logs/insights.h"
#include "logs/logs_errors.h"

namespace berth::logs {

using nlohmann::json;

namespace {

constexpr int64_t kHourMs = 3600 * 1000;
constexpr int64_t kDayMs = 24 * kHourMs;
constexpr size_t kMaxBatchBytes = 1048576;
constexpr size_t kEventOverhead = 26;
constexpr size_t kMaxEventBytes = 256 * 1024;
constexpr int kMaxBatchEvents = 10000;

// What a counting Insights query (Query::CountsByTimeBin) needs of a group of events.
struct TimeBinCount {
  int64_t timestamp_ms;
  uint64_t count;
  uint64_t message_bytes;
};

// The bin index of a timestamp (floor division, as bin() rounds down).
int64_t BinOf(int64_t ms, int64_t bin_ms) {
  if (bin_ms == 0) {
    return 0;
  }
  int64_t q = ms / bin_ms;
  return ms % bin_ms < 0 ? q - 1 : q;
}

// For a counting query over [from_ms, to_ms] with bins of `bin_ms` (0: one bin): the counts of
// a BLK3 block read off its cluster table, when every cluster lies inside the range and inside
// one bin — then nothing needs decompressing. False otherwise (BLK2, or a cluster straddles a
// bin or the range's edge): the caller decodes the block.
bool CountsFromClusters(const BlockRef& ref, int64_t from_ms, int64_t to_ms, int64_t bin_ms,
                        std::vector<TimeBinCount>* out) {
  if (ref.clusters == nullptr || ref.min_ts < from_ms || ref.max_ts > to_ms) {
    return false;
  }
  for (const ClusterInfo& c : ref.clusters->clusters) {
    if (BinOf(c.min_ts, bin_ms) != BinOf(c.max_ts, bin_ms)) {
      out->clear();
      return false;
    }
    out->push_back({c.min_ts, c.count, ClusterMessageBytes(c)});
  }
  return true;
}

const std::vector<store::Migration>& Migrations() {
  static const std::vector<store::Migration> kMigrations = {
      {1, "logs: groups and streams", R"sql(
CREATE TABLE IF NOT EXISTS logs_groups (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  created_ms INTEGER NOT NULL,
  retention_days INTEGER,
  kms_key_id TEXT NOT NULL,
  tags TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS logs_streams (
  id INTEGER PRIMARY KEY,
  group_id INTEGER NOT NULL,
  name TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  first_event_ms INTEGER,
  last_event_ms INTEGER,
  last_ingestion_ms INTEGER,
  stored_bytes INTEGER NOT NULL,
  UNIQUE (group_id, name)
);
)sql"},
  };
  return kMigrations;
}

bool ValidGroupName(const std::string& n) {
  if (n.empty() || n.size() > 512) {
    return false;
  }
  return std::all_of(n.begin(), n.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' ||
           c == '/' || c == '#';
  });
}

bool ValidStreamName(const std::string& n) {
  return !n.empty() && n.size() <= 512 && n.find(':') == std::string::npos &&
         n.find('*') == std::string::npos;
}

// "<number>" paging tokens over an ordered listing; berth's own, opaque to clients.
Result<size_t> ParseOffsetToken(const std::string& token) {
  if (token.empty()) {
    return size_t{0};
  }
  if (token.size() > 20 || token.find_first_not_of("0123456789") != std::string::npos) {
    return errors::InvalidParameter("The specified nextToken is invalid.");
  }
  return static_cast<size_t>(std::stoull(token));
}

// Shell-style wildcard match used by logGroupNamePattern (a substring match, case-insensitive).
bool ContainsCaseless(const std::string& haystack, const std::string& needle) {
  auto it = std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end(),
                        [](char a, char b) { return std::tolower(a) == std::tolower(b); });
  return it != haystack.end();
}

}  // namespace

LogsService::LogsService(store::Db& db, core::Clock& clock, std::string logs_dir,
                         std::string region, std::string account_id)
    : db_(db),
      clock_(clock),
      store_(std::move(logs_dir)),
      region_(std::move(region)),
      account_id_(std::move(account_id)) {}

struct LogsService::RunningQuery {
  QueryInfo info;  // guarded by LogsService::queries_mu_
  std::atomic<bool> cancel{false};
};

LogsService::~LogsService() {
  {
    std::lock_guard<std::mutex> lock(queries_mu_);
    for (auto& [id, q] : queries_) {
      q->cancel = true;
    }
  }
  for (auto& [thread, query] : query_threads_) {
    thread.join();
  }
}

std::string LogsService::GroupArn(const std::string& name) const {
  return "arn:aws:logs:" + region_ + ":" + account_id_ + ":log-group:" + name;
}

Status LogsService::Open() {
  BERTH_RETURN_IF_ERROR(store::ApplyMigrations(db_, "logs", Migrations()));
  {
    BERTH_TRY(store::Stmt s, db_.Prepare("SELECT id, name, created_ms, retention_days, "
                                         "kms_key_id, tags FROM logs_groups"));
    for (;;) {
      BERTH_TRY(bool row, s.Step());
      if (!row) {
        break;
      }
      LogGroup g;
      g.id = s.ColumnInt(0);
      g.name = s.ColumnText(1);
      g.arn = GroupArn(g.name);
      g.created_ms = s.ColumnInt(2);
      if (!s.ColumnIsNull(3)) {
        g.retention_days = static_cast<int>(s.ColumnInt(3));
      }
      g.kms_key_id = s.ColumnText(4);
      json tags = json::parse(s.ColumnText(5), nullptr, false);
      if (tags.is_object()) {
        g.tags = tags.get<std::map<std::string, std::string>>();
      }
      next_group_id_ = std::max(next_group_id_, g.id + 1);
      std::string repaired;
      BERTH_RETURN_IF_ERROR(store_.OpenGroup(g.id, &repaired));
      if (!repaired.empty()) {
        spdlog::warn("log group {}: {}", g.name, repaired);
      }
      groups_[g.name] = std::move(g);
    }
  }
  BERTH_TRY(store::Stmt s, db_.Prepare("SELECT id, group_id, name, created_ms, first_event_ms, "
                                       "last_event_ms, last_ingestion_ms, stored_bytes "
                                       "FROM logs_streams"));
  for (;;) {
    BERTH_TRY(bool row, s.Step());
    if (!row) {
      break;
    }
    LogStream st;
    st.id = s.ColumnInt(0);
    st.group_id = s.ColumnInt(1);
    st.name = s.ColumnText(2);
    st.created_ms = s.ColumnInt(3);
    if (!s.ColumnIsNull(4)) st.first_event_ms = s.ColumnInt(4);
    if (!s.ColumnIsNull(5)) st.last_event_ms = s.ColumnInt(5);
    if (!s.ColumnIsNull(6)) st.last_ingestion_ms = s.ColumnInt(6);
    st.stored_bytes = s.ColumnInt(7);
    next_stream_id_ = std::max(next_stream_id_, st.id + 1);
    stream_names_[st.id] = st.name;
    streams_[st.group_id][st.name] = std::move(st);
  }
  return OkStatus();
}

Status LogsService::SaveGroup(const LogGroup& g) {
  BERTH_TRY(store::Stmt s,
            db_.Prepare("INSERT INTO logs_groups(id, name, created_ms, retention_days, "
                        "kms_key_id, tags) VALUES(?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(id) DO "
                        "UPDATE SET retention_days = excluded.retention_days, tags = excluded.tags"));
  s.Bind(1, g.id).Bind(2, g.name).Bind(3, g.created_ms);
  if (g.retention_days) {
    s.Bind(4, static_cast<int64_t>(*g.retention_days));
  }
  s.Bind(5, g.kms_key_id).Bind(6, json(g.tags).dump());
  return s.Run();
}

Status LogsService::SaveStream(const LogStream& st) {
  BERTH_TRY(store::Stmt s,
            db_.Prepare("INSERT INTO logs_streams(id, group_id, name, created_ms, first_event_ms, "
                        "last_event_ms, last_ingestion_ms, stored_bytes) VALUES(?1, ?2, ?3, ?4, "
                        "?5, ?6, ?7, ?8) ON CONFLICT(id) DO UPDATE SET first_event_ms = "
                        "excluded.first_event_ms, last_event_ms = excluded.last_event_ms, "
                        "last_ingestion_ms = excluded.last_ingestion_ms, stored_bytes = "
                        "excluded.stored_bytes"));
  s.Bind(1, st.id).Bind(2, st.group_id).Bind(3, st.name).Bind(4, st.created_ms);
  if (st.first_event_ms) s.Bind(5, *st.first_event_ms);
  if (st.last_event_ms) s.Bind(6, *st.last_event_ms);
  if (st.last_ingestion_ms) s.Bind(7, *st.last_ingestion_ms);
  s.Bind(8, st.stored_bytes);
  return s.Run();
}

Result<LogGroup*> LogsService::FindGroup(const std::string& name) {
  auto it = groups_.find(name);
  if (it == groups_.end()) {
    return errors::GroupNotFound();
  }
  return &it->second;
}

Status LogsService::UpdateGroup(const std::string& name,
                                const std::function<Status(LogGroup&)>& edit) {
  BERTH_TRY(LogGroup * g, FindGroup(name));
  LogGroup updated = *g;
  BERTH_RETURN_IF_ERROR(edit(updated));
  BERTH_RETURN_IF_ERROR(SaveGroup(updated));
  *g = std::move(updated);  // memory changes only once the store has the change
  return OkStatus();
}

Result<LogStream*> LogsService::FindStream(LogGroup& group, const std::string& name) {
  auto& streams = streams_[group.id];
  auto it = streams.find(name);
  if (it == streams.end()) {
    return errors::StreamNotFound();
  }
  return &it->second;
}

// ---- groups ------------------------------------------------------------------------------

Status LogsService::CreateLogGroup(const std::string& name, const std::string& kms_key_id,
                                   const std::map<std::string, std::string>& tags) {
  if (!ValidGroupName(name)) {
    return errors::InvalidParameter(
        "1 validation error detected: Value '" + name +
        "' at 'logGroupName' failed to satisfy constraint: Member must satisfy regular "
        "expression pattern: [\\.\\-_/#A-Za-z0-9]+");
  }
  if (groups_.count(name)) {
    return errors::GroupExists();
  }
  LogGroup g;
  g.id = next_group_id_;
  g.name = name;
  g.arn = GroupArn(name);
  g.created_ms = clock_.NowMillis();
  g.kms_key_id = kms_key_id;
  g.tags = tags;
  BERTH_RETURN_IF_ERROR(SaveGroup(g));
  BERTH_RETURN_IF_ERROR(store_.OpenGroup(g.id));
  ++next_group_id_;
  groups_[name] = std::move(g);
  return OkStatus();
}

Status LogsService::DeleteLogGroup(const std::string& name) {
  BERTH_TRY(LogGroup * g, FindGroup(name));
  int64_t id = g->id;
  {
    store::Transaction txn(db_);
    BERTH_TRY(store::Stmt del_streams, db_.Prepare("DELETE FROM logs_streams WHERE group_id = ?1"));
    BERTH_RETURN_IF_ERROR(del_streams.Bind(1, id).Run());
    BERTH_TRY(store::Stmt del_group, db_.Prepare("DELETE FROM logs_groups WHERE id = ?1"));
    BERTH_RETURN_IF_ERROR(del_group.Bind(1, id).Run());
    BERTH_RETURN_IF_ERROR(txn.Commit());
  }
  for (const auto& [sname, st] : streams_[id]) {
    stream_names_.erase(st.id);
  }
  streams_.erase(id);
  groups_.erase(name);
  return store_.DropGroup(id);
}

Result<LogsPage<LogGroup>> LogsService::DescribeLogGroups(const std::string& prefix,
                                                          const std::string& pattern,
                                                          const std::string& next_token,
                                                          int limit) {
  if (!prefix.empty() && !pattern.empty()) {
    return errors::InvalidParameter(
        "LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.");
  }
  if (limit < 1 || limit > 50) {
    return errors::InvalidParameter("limit must be between 1 and 50.");
  }
  BERTH_TRY(size_t offset, ParseOffsetToken(next_token));
  LogsPage<LogGroup> page;
  size_t index = 0;
  for (auto it = groups_.lower_bound(prefix); it != groups_.end(); ++it) {
    const LogGroup& g = it->second;
    if (g.name.compare(0, prefix.size(), prefix) != 0) {
      break;
    }
    if (!pattern.empty() && !ContainsCaseless(g.name, pattern)) {
      continue;
    }
    if (index++ < offset) {
      continue;
    }
    if (static_cast<int>(page.items.size()) == limit) {
      page.next_token = std::to_string(offset + limit);
      break;
    }
    LogGroup copy = g;
    copy.stored_bytes = store_.StoredBytes(g.id);
    page.items.push_back(std::move(copy));
  }
  return page;
}

Status LogsService::PutRetentionPolicy(const std::string& name, int days) {
  static const std::set<int> kAllowed = {1,   3,   5,   7,    14,   30,   60,   90,
                                         120, 150, 180, 365,  400,  545,  731,  1096,
                                         1827, 2192, 2557, 2922, 3288, 3653};
  if (!kAllowed.count(days)) {
    return errors::InvalidParameter(
        "1 validation error detected: Value '" + std::to_string(days) +
        "' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value "
        "set: [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, "
        "2192, 2557, 2922, 3288, 3653]");
  }
  BERTH_RETURN_IF_ERROR(UpdateGroup(name, [days](LogGroup& g) {
    g.retention_days = days;
    return OkStatus();
  }));
  last_retention_ms_ = 0;  // apply at the next Maintain()
  return OkStatus();
}

Status LogsService::DeleteRetentionPolicy(const std::string& name) {
  return UpdateGroup(name, [](LogGroup& g) {
    g.retention_days.reset();
    return OkStatus();
  });
}

// ---- streams -----------------------------------------------------------------------------

Status LogsService::CreateLogStream(const std::string& group, const std::string& stream) {
  if (!ValidStreamName(stream)) {
    return errors::InvalidParameter(
        "1 validation error detected: Value '" + stream +
        "' at 'logStreamName' failed to satisfy constraint: Member must satisfy regular "
        "expression pattern: [^:*]*");
  }
  BERTH_TRY(LogGroup * g, FindGroup(group));
  auto& streams = streams_[g->id];
  if (streams.count(stream)) {
    return errors::StreamExists();
  }
  LogStream st;
  st.id = next_stream_id_;
  st.group_id = g->id;
  st.name = stream;
  st.created_ms = clock_.NowMillis();
  BERTH_RETURN_IF_ERROR(SaveStream(st));
  ++next_stream_id_;
  stream_names_[st.id] = stream;
  streams[stream] = std::move(st);
  return OkStatus();
}

Status LogsService::DeleteLogStream(const std::string& group, const std::string& stream) {
  BERTH_TRY(LogGroup * g, FindGroup(group));
  BERTH_TRY(LogStream * st, FindStream(*g, stream));
  BERTH_TRY(store::Stmt s, db_.Prepare("DELETE FROM logs_streams WHERE id = ?1"));
  BERTH_RETURN_IF_ERROR(s.Bind(1, st->id).Run());
  // Its events stay in the group's segments until retention drops them, but nothing reaches
  // them any more: reads resolve stream ids through stream_names_.
  stream_names_.erase(st->id);
  streams_[g->id].erase(stream);
  return OkStatus();
}

Result<LogsPage<LogStream>> LogsService::DescribeLogStreams(const std::string& group,
                                                            const std::string& prefix,
                                                            const std::string& order_by,
                                                            bool descending,
                                                            const std::string& next_token,
                                                            int limit) {
  if (order_by != "LogStreamName" && order_by != "LastEventTime") {
    return errors::InvalidParameter("orderBy must be LogStreamName or LastEventTime.");
  }
  if (order_by == "LastEventTime" && !prefix.empty()) {
    return errors::InvalidParameter(
        "Cannot order by LastEventTime with a logStreamNamePrefix.");
  }
  if (limit < 1 || limit > 50) {
    return errors::InvalidParameter("limit must be between 1 and 50.");
  }
  BERTH_TRY(size_t offset, ParseOffsetToken(next_token));
  BERTH_TRY(LogGroup * g, FindGroup(group));
  std::vector<const LogStream*> matching;
  for (const auto& [name, st] : streams_[g->id]) {
    if (name.compare(0, prefix.size(), prefix) == 0) {
      matching.push_back(&st);
    }
  }
  if (order_by == "LastEventTime") {
    std::stable_sort(matching.begin(), matching.end(), [](const LogStream* a, const LogStream* b) {
      return a->last_event_ms.value_or(0) < b->last_event_ms.value_or(0);
    });
  }
  if (descending) {
    std::reverse(matching.begin(), matching.end());
  }
  LogsPage<LogStream> page;
  for (size_t i = offset; i < matching.size(); ++i) {
    if (static_cast<int>(page.items.size()) == limit) {
      page.next_token = std::to_string(i);
      break;
    }
    page.items.push_back(*matching[i]);
  }
  return page;
}

// ---- events ------------------------------------------------------------------------------

Status LogsService::Ingest(LogGroup& group, LogStream& stream, std::vector<LogEvent> events) {
  if (events.empty()) {
    return OkStatus();
  }
  int64_t bytes = 0;
  if (events.size() <= LogStore::kMaxBlockEvents) {
    BERTH_RETURN_IF_ERROR(store_.Append(group.id, events));  // every PutLogEvents batch: no copy
  } else {
    for (size_t i = 0; i < events.size(); i += LogStore::kMaxBlockEvents) {
      std::vector<LogEvent> chunk(
          events.begin() + static_cast<std::ptrdiff_t>(i),
          events.begin() +
              static_cast<std::ptrdiff_t>(std::min(events.size(), i + LogStore::kMaxBlockEvents)));
      BERTH_RETURN_IF_ERROR(store_.Append(group.id, chunk));
    }
  }
  LogStream updated = stream;
  for (const LogEvent& e : events) {
    bytes += static_cast<int64_t>(e.message.size());
    updated.first_event_ms = std::min(updated.first_event_ms.value_or(e.timestamp_ms), e.timestamp_ms);
    updated.last_event_ms = std::max(updated.last_event_ms.value_or(e.timestamp_ms), e.timestamp_ms);
  }
  updated.last_ingestion_ms = events.back().ingestion_ms;
  updated.stored_bytes += bytes;
  // Off the reply's path; the message buffers come back for the next batch's decoding.
  store_.DisposeLater(std::move(events));
  BERTH_RETURN_IF_ERROR(SaveStream(updated));
  stream = std::move(updated);
  return OkStatus();
}

Result<PutResult> LogsService::PutLogEvents(const std::string& group, const std::string& stream,
                                            std::vector<InputEvent> events) {
  if (events.empty() || static_cast<int>(events.size()) > kMaxBatchEvents) {
    return errors::InvalidParameter(
        "The number of log events in a batch must be between 1 and 10000.");
  }
  size_t total = 0;
  for (size_t i = 0; i < events.size(); ++i) {
    const InputEvent& e = events[i];
    if (e.message.empty()) {
      return errors::InvalidParameter("Log event message cannot be empty.");
    }
    if (e.message.size() + kEventOverhead > kMaxEventBytes) {
      return errors::InvalidParameter("Log event too large: an event must be at most 262144 "
                                      "bytes including 26 bytes of overhead.");
    }
    total += e.message.size() + kEventOverhead;
    if (i > 0 && e.timestamp_ms < events[i - 1].timestamp_ms) {
      return errors::InvalidParameter(
          "Log events in a single PutLogEvents request must be in chronological order.");
    }
  }
  if (total > kMaxBatchBytes) {
    return errors::InvalidParameter("Upload too large: the batch is " + std::to_string(total) +
                                    " bytes; at most 1048576 bytes are allowed.");
  }
  if (events.back().timestamp_ms - events.front().timestamp_ms > kDayMs) {
    return errors::InvalidParameter(
        "The batch of log events in a single PutLogEvents request cannot span more than 24 "
        "hours.");
  }
  BERTH_TRY(LogGroup * g, FindGroup(group));
  BERTH_TRY(LogStream * st, FindStream(*g, stream));
  const int64_t now = clock_.NowMillis();
  PutResult result;
  std::vector<LogEvent> accepted;
  accepted.reserve(events.size());
  for (size_t i = 0; i < events.size(); ++i) {
    InputEvent& e = events[i];
    int idx = static_cast<int>(i);
    if (e.timestamp_ms > now + 2 * kHourMs) {
      if (!result.too_new_start) {
        result.too_new_start = idx;
      }
      continue;
    }
    if (g->retention_days && e.timestamp_ms < now - *g->retention_days * kDayMs) {
      result.expired_end = idx;
      continue;
    }
    if (e.timestamp_ms < now - 14 * kDayMs) {
      result.too_old_end = idx;
      continue;
    }
    accepted.push_back({st->id, e.timestamp_ms, now, std::move(e.message)});
  }
  BERTH_RETURN_IF_ERROR(Ingest(*g, *st, std::move(accepted)));
  return result;
}

Status LogsService::AppendContainerOutput(const std::string& group, const std::string& stream,
                                          bool create_group, std::vector<InputEvent> events) {
  if (!groups_.count(group)) {
    if (!create_group) {
      return errors::GroupNotFound();
    }
    BERTH_RETURN_IF_ERROR(CreateLogGroup(group, "", {}));
  }
  BERTH_TRY(LogGroup * g, FindGroup(group));
  if (!streams_[g->id].count(stream)) {
    BERTH_RETURN_IF_ERROR(CreateLogStream(group, stream));
  }
  BERTH_TRY(LogStream * st, FindStream(*g, stream));
  const int64_t now = clock_.NowMillis();
  std::vector<LogEvent> out;
  out.reserve(events.size());
  for (InputEvent& e : events) {
    out.push_back({st->id, e.timestamp_ms, now, std::move(e.message)});
  }
  return Ingest(*g, *st, std::move(out));
}

Result<GetEventsResult> LogsService::GetLogEvents(const GetEventsRequest& req) {
  if (req.limit < 1 || req.limit > 10000) {
    return errors::InvalidParameter("limit must be between 1 and 10000.");
  }
  BERTH_TRY(LogGroup * g, FindGroup(req.group));
  BERTH_TRY(LogStream * st, FindStream(*g, req.stream));
  const int64_t stream_id = st->id;
  const std::vector<int64_t> only = {stream_id};
  std::vector<OutputEvent> all;
  BERTH_RETURN_IF_ERROR(store_.Scan(
      g->id, req.start_ms.value_or(INT64_MIN), req.end_ms ? *req.end_ms - 1 : INT64_MAX,
      [&](const LogEvent& e, uint64_t) {
        if (e.stream_id == stream_id) {
          all.push_back({e.timestamp_ms, e.ingestion_ms, e.message, "", ""});
        }
        return true;
      },
      ScanFilter{&only, nullptr}));
  std::stable_sort(all.begin(), all.end(), [](const OutputEvent& a, const OutputEvent& b) {
    return a.timestamp_ms < b.timestamp_ms;
  });
  // Tokens: "f/<index>" reads forward from index, "b/<index>" backward up to index.
  const size_t n = all.size();
  size_t begin, end;
  if (req.next_token.empty()) {
    if (req.start_from_head) {
      begin = 0;
      end = std::min(n, static_cast<size_t>(req.limit));
    } else {
      end = n;
      begin = n > static_cast<size_t>(req.limit) ? n - req.limit : 0;
    }
  } else {
    const std::string& t = req.next_token;
    if (t.size() < 3 || (t[0] != 'f' && t[0] != 'b') || t[1] != '/' ||
        t.find_first_not_of("0123456789", 2) != std::string::npos || t.size() > 22) {
      return errors::InvalidParameter("The specified nextToken is invalid.");
    }
    size_t pos = std::min(n, static_cast<size_t>(std::stoull(t.substr(2))));
    if (t[0] == 'f') {
      begin = pos;
      end = std::min(n, pos + req.limit);
    } else {
      end = pos;
      begin = pos > static_cast<size_t>(req.limit) ? pos - req.limit : 0;
    }
  }
  GetEventsResult out;
  out.events.assign(std::make_move_iterator(all.begin() + static_cast<std::ptrdiff_t>(begin)),
                    std::make_move_iterator(all.begin() + static_cast<std::ptrdiff_t>(end)));
  // At the end of the stream the forward token repeats, which is how clients know to stop.
  out.next_forward_token = "f/" + std::to_string(end);
  out.next_backward_token = "b/" + std::to_string(begin);
  return out;
}

Result<FilterEventsResult> LogsService::FilterLogEvents(const FilterEventsRequest& req,
                                                       const EventBatchSink& sink) {
  if (req.limit < 1 || req.limit > 10000) {
    return errors::InvalidParameter("limit must be between 1 and 10000.");
  }
  if (!req.stream_names.empty() && !req.stream_name_prefix.empty()) {
    return errors::InvalidParameter(
        "logStreamNames and logStreamNamePrefix are mutually exclusive parameters.");
  }
  BERTH_TRY(FilterPattern pattern, FilterPattern::Parse(req.filter_pattern));
  BERTH_TRY(LogGroup * g, FindGroup(req.group));
  LogStore::Position from;
  if (!req.next_token.empty()) {
    // "<block>_<event>": where the previous page's scan stopped.
    size_t sep = req.next_token.find('_');
    const std::string& t = req.next_token;
    if (sep == std::string::npos || sep == 0 || sep + 1 >= t.size() || t.size() > 40 ||
        t.find_first_not_of("0123456789_") != std::string::npos ||
        t.find('_', sep + 1) != std::string::npos) {
      return errors::InvalidParameter("The specified nextToken is invalid.");
    }
    from.block = std::stoull(t.substr(0, sep));
    from.event = static_cast<uint32_t>(std::stoul(t.substr(sep + 1)));
  }
  // The streams asked for; an unknown name in logStreamNames is an error, as in CloudWatch.
  std::set<int64_t> stream_ids;
  FilterEventsResult out;
  auto& streams = streams_[g->id];
  if (!req.stream_names.empty()) {
    for (const std::string& name : req.stream_names) {
      auto it = streams.find(name);
      if (it == streams.end()) {
        return errors::StreamNotFound();
      }
      stream_ids.insert(it->second.id);
      out.searched_streams.push_back(name);
    }
  } else {
    for (const auto& [name, st] : streams) {
      if (name.compare(0, req.stream_name_prefix.size(), req.stream_name_prefix) == 0) {
        stream_ids.insert(st.id);
        out.searched_streams.push_back(name);
      }
    }
  }
  // A page ends at `limit` events or about 1 MB of them, as in CloudWatch; events come in the
  // group's write order (interleaved across streams), each page resuming where the last stopped.
  constexpr size_t kMaxPageBytes = 1 << 20;
  size_t page_bytes = 0;
  int page_events = 0;
  constexpr size_t kSinkBatch = 512;  // events handed to `sink` at a time
  LogStore::Position next;
  bool complete = true;
  // Reads restricted to some streams skip the blocks of the others by their stream tables.
  const bool restricted = !req.stream_names.empty() || !req.stream_name_prefix.empty();
  const std::vector<int64_t> only(stream_ids.begin(), stream_ids.end());  // std::set: sorted
  BERTH_RETURN_IF_ERROR(store_.ScanFrom(
      g->id, req.start_ms.value_or(INT64_MIN), req.end_ms.value_or(INT64_MAX), from,
      [&](const LogEvent& e, uint64_t id) {
        if (!stream_ids.count(e.stream_id) || !pattern.Matches(e.message)) {
          return true;
        }
        // The id as 20 zero-padded digits (snprintf was a tenth of a page's time).
        char id_text[20];
        for (uint64_t v = id, k = sizeof id_text; k-- > 0; v /= 10) {
          id_text[k] = static_cast<char>('0' + v % 10);
        }
        auto name = stream_names_.find(e.stream_id);
        page_bytes += e.message.size() + 64;
        ++page_events;
        out.events.push_back({e.timestamp_ms, e.ingestion_ms, e.message,
                              name == stream_names_.end() ? "" : name->second,
                              std::string(id_text, sizeof id_text)});
        if (sink && out.events.size() >= kSinkBatch) {
          sink(std::move(out.events));
          out.events.clear();
          out.events.reserve(kSinkBatch);
        }
        return page_events < req.limit && page_bytes < kMaxPageBytes;
      },
      // Clusters the pattern cannot match, or of other streams, are not even decompressed.
      &next, &complete, ScanFilter{restricted ? &only : nullptr, &pattern}));
  if (sink && !out.events.empty()) {
    sink(std::move(out.events));
    out.events.clear();
  }
  if (!complete) {
    out.next_token = std::to_string(next.block) + "_" + std::to_string(next.event);
  }
  return out;
}

// ---- tags and maintenance ------------------------------------------------------------------

std::optional<std::string> GroupNameFromArn(const std::string& arn_text) {
  auto arn = core::ParseArn(arn_text);
  if (!arn || arn->service != "logs" || arn->resource.rfind("log-group:", 0) != 0) {
    return std::nullopt;
  }
  std::string name = arn->resource.substr(10);
  if (name.size() >= 2 && name.compare(name.size() - 2, 2, ":*") == 0) {
    name.resize(name.size() - 2);
  }
  return name;
}

Status LogsService::TagResource(const std::string& arn,
                                const std::map<std::string, std::string>& tags) {
  auto name = GroupNameFromArn(arn);
  if (!name) {
    return errors::InvalidParameter("Invalid resource arn: " + arn);
  }
  return UpdateGroup(*name, [&tags](LogGroup& g) -> Status {
    for (const auto& [k, v] : tags) {
      g.tags[k] = v;
    }
    if (g.tags.size() > 50) {
      return errors::InvalidParameter("A resource can have at most 50 tags.");
    }
    return OkStatus();
  });
}

Status LogsService::UntagResource(const std::string& arn, const std::vector<std::string>& keys) {
  auto name = GroupNameFromArn(arn);
  if (!name) {
    return errors::InvalidParameter("Invalid resource arn: " + arn);
  }
  return UpdateGroup(*name, [&keys](LogGroup& g) {
    for (const std::string& k : keys) {
      g.tags.erase(k);
    }
    return OkStatus();
  });
}

Result<std::map<std::string, std::string>> LogsService::ListTagsForResource(
    const std::string& arn) {
  auto name = GroupNameFromArn(arn);
  if (!name) {
    return errors::InvalidParameter("Invalid resource arn: " + arn);
  }
  BERTH_TRY(LogGroup * g, FindGroup(*name));
  return g->tags;
}

// ---- Logs Insights ---------------------------------------------------------------------------

Result<std::string> LogsService::StartQuery(const std::vector<std::string>& group_names,
                                            int64_t start_s, int64_t end_s,
                                            const std::string& query_string, int limit) {
  if (group_names.empty()) {
    return errors::InvalidParameter("Specify at least one log group.");
  }
  if (group_names.size() > 50) {
    return errors::InvalidParameter("You can specify at most 50 log groups.");
  }
  if (end_s < start_s) {
    return errors::InvalidParameter("endTime must be greater than or equal to startTime.");
  }
  std::string text = query_string;
  if (limit > 0) {
    text += "\n| limit " + std::to_string(limit);
  }
  BERTH_TRY(insights::Query query, insights::Query::Parse(text));
  struct Source {
    int64_t group_id;
    std::string log_value;  // @log: "ACCOUNT:NAME"
    std::vector<BlockRef> blocks;
    std::unordered_map<int64_t, std::string> streams;
  };
  std::vector<Source> sources;
  for (const std::string& name : group_names) {
    BERTH_TRY(LogGroup * g, FindGroup(name));
    Source src{g->id, account_id_ + ":" + name, store_.Blocks(g->id), {}};
    for (const auto& [sname, st] : streams_[g->id]) {
      src.streams[st.id] = sname;
    }
    sources.push_back(std::move(src));
  }
  // Join the threads of finished queries, and forget the oldest finished queries beyond 1,000
  // (CloudWatch keeps results for 7 days; berth keeps the most recent ones).
  {
    std::vector<std::thread> done;
    {
      std::lock_guard<std::mutex> lock(queries_mu_);
      for (auto it = query_threads_.begin(); it != query_threads_.end();) {
        if (it->second->info.status != "Running") {
          done.push_back(std::move(it->first));
          it = query_threads_.erase(it);
        } else {
          ++it;
        }
      }
      while (queries_.size() >= 1000) {
        auto oldest = std::min_element(queries_.begin(), queries_.end(), [](auto& a, auto& b) {
          return a.second->info.created_ms < b.second->info.created_ms;
        });
        if (oldest->second->info.status == "Running") {
          break;
        }
        queries_.erase(oldest);
      }
    }
    for (std::thread& t : done) {
      t.join();
    }
  }
  auto running = std::make_shared<RunningQuery>();
  char id[40];
  std::snprintf(id, sizeof id, "%08llx-%04llx-4000-8000-%012llx",
                static_cast<unsigned long long>(clock_.NowMillis() & 0xffffffff),
                static_cast<unsigned long long>(++query_counter_ & 0xffff),
                static_cast<unsigned long long>(clock_.NowMillis()));
  running->info.id = id;
  running->info.query_string = query_string;
  running->info.groups = group_names;
  running->info.status = "Running";
  running->info.created_ms = clock_.NowMillis();
  {
    std::lock_guard<std::mutex> lock(queries_mu_);
    queries_[running->info.id] = running;
  }
  // Only the files and this snapshot are read off the loop thread (see LogStore::ScanBlocks).
  std::thread worker([this, running, query = std::move(query),
                               sources = std::move(sources), start_s, end_s]() mutable {
    // Decompressing blocks is most of the work: reader threads (one per core) decode blocks,
    // each taking every kReaders-th block, while this thread runs the query over the blocks
    // already decoded. An Execution takes events in any order.
    constexpr size_t kReaders = 2;
    struct Decoded {
      const Source* src;
      std::vector<LogEvent> events;
      std::vector<TimeBinCount> counts;  // instead of events, for counting queries
    };
    int64_t bin_ms = 0;
    const bool counts_only = query.CountsByTimeBin(&bin_ms);
    std::mutex mu;
    std::condition_variable cv;
    std::deque<Decoded> ready;   // guarded by mu
    size_t readers_done = 0;     // guarded by mu
    Status status = OkStatus();  // guarded by mu: the first reader error
    const int64_t from_ms = start_s * 1000, to_ms = end_s * 1000 + 999;
    std::vector<std::thread> readers;
    for (size_t k = 0; k < kReaders; ++k) {
      readers.emplace_back([&, k] {
        Status st = OkStatus();
        size_t index = 0;
        for (const Source& src : sources) {
          for (const BlockRef& ref : src.blocks) {
            if (index++ % kReaders != k) {
              continue;
            }
            if (running->cancel || !st.ok()) {
              break;
            }
            if (ref.max_ts < from_ms || ref.min_ts > to_ms) {
              continue;
            }
            Decoded d{&src, {}, {}};
            if (!(counts_only && CountsFromClusters(ref, from_ms, to_ms, bin_ms, &d.counts))) {
              auto events = store_.ReadBlock(src.group_id, ref);
              if (!events.ok()) {
                st = events.error();
                break;
              }
              d.events = std::move(events).value();
            }
            std::unique_lock<std::mutex> lock(mu);
            cv.wait(lock, [&] { return ready.size() < 8 || running->cancel; });
            ready.push_back(std::move(d));
            cv.notify_all();
          }
        }
        std::lock_guard<std::mutex> lock(mu);
        if (!st.ok() && status.ok()) {
          status = st;
        }
        ++readers_done;
        cv.notify_all();
      });
    }
    insights::Execution exec(query);
    for (;;) {
      Decoded d;
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] { return !ready.empty() || readers_done == kReaders; });
        if (ready.empty()) {
          break;
        }
        d = std::move(ready.front());
        ready.pop_front();
        cv.notify_all();
      }
      for (const TimeBinCount& c : d.counts) {
        exec.AddCount(c.timestamp_ms, c.count, c.message_bytes);
      }
      for (const LogEvent& e : d.events) {
        if (e.timestamp_ms < from_ms || e.timestamp_ms > to_ms) {
          continue;
        }
        auto stream = d.src->streams.find(e.stream_id);
        exec.Add({e.timestamp_ms, e.ingestion_ms, e.message,
                  stream == d.src->streams.end() ? std::string_view() : stream->second,
                  d.src->log_value});
      }
    }
    for (std::thread& r : readers) {
      r.join();
    }
    auto rows = exec.Results();
    std::lock_guard<std::mutex> lock(queries_mu_);
    QueryInfo& info = running->info;
    info.status = running->cancel ? "Cancelled" : status.ok() ? "Complete" : "Failed";
    if (status.ok() && !running->cancel) {
      info.results = std::move(rows);
    }
    info.records_matched = exec.statistics().records_matched;
    info.records_scanned = exec.statistics().records_scanned;
    info.bytes_scanned = exec.statistics().bytes_scanned;
  });
  query_threads_.emplace_back(std::move(worker), running);
  return running->info.id;
}

Result<QueryInfo> LogsService::GetQueryResults(const std::string& id) {
  std::lock_guard<std::mutex> lock(queries_mu_);
  auto it = queries_.find(id);
  if (it == queries_.end()) {
    return MakeError(ErrorKind::NotFound, "ResourceNotFoundException",
                     "The specified query does not exist.");
  }
  return it->second->info;
}

Status LogsService::StopQuery(const std::string& id) {
  std::lock_guard<std::mutex> lock(queries_mu_);
  auto it = queries_.find(id);
  if (it == queries_.end()) {
    return MakeError(ErrorKind::NotFound, "ResourceNotFoundException",
                     "The specified query does not exist.");
  }
  if (it->second->info.status != "Running") {
    // As CloudWatch documents it: "If the query has already ended, the operation returns an
    // error indicating that the specified query is not running."
    return errors::InvalidParameter("The query " + id + " is not running.");
  }
  it->second->cancel = true;
  return OkStatus();
}

std::vector<QueryInfo> LogsService::DescribeQueries(const std::string& group,
                                                    const std::string& status) {
  std::lock_guard<std::mutex> lock(queries_mu_);
  std::vector<QueryInfo> out;
  for (const auto& [id, q] : queries_) {
    const QueryInfo& info = q->info;
    if (!status.empty() && info.status != status) {
      continue;
    }
    if (!group.empty() &&
        std::find(info.groups.begin(), info.groups.end(), group) == info.groups.end()) {
      continue;
    }
    QueryInfo brief = info;
    brief.results.clear();
    out.push_back(std::move(brief));
  }
  return out;
}

void LogsService::Maintain() {
  (void)store_.Sync();
  const int64_t now = clock_.NowMillis();
  if (now - last_retention_ms_ < 60 * 1000) {
    return;
  }
  last_retention_ms_ = now;
  for (const auto& [name, g] : groups_) {
    if (g.retention_days) {
      Status s = store_.DropOlderThan(g.id, now - *g.retention_days * kDayMs);
      if (!s.ok()) {
        spdlog::warn("log group {}: retention: {}", name, s.error().message);
      }
    }
  }
}

}  // namespace berth::logs
