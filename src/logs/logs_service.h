#pragma once
// LogsService: the CloudWatch Logs control and data plane. Groups and streams are rows in
// SQLite (cached in memory); events live in the LogStore's segment files.

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "logs/log_store.h"
#include "logs/log_types.h"
#include "store/db.h"

namespace berth::logs {

struct InputEvent {
  int64_t timestamp_ms = 0;
  std::string message;
};

struct PutResult {
  // Indexes into the request's events, as CloudWatch's rejectedLogEventsInfo reports them.
  std::optional<int> too_new_start;
  std::optional<int> too_old_end;
  std::optional<int> expired_end;
};

struct OutputEvent {
  int64_t timestamp_ms = 0;
  int64_t ingestion_ms = 0;
  std::string message;
  std::string stream;    // FilterLogEvents only
  std::string event_id;  // FilterLogEvents only
};

struct GetEventsRequest {
  std::string group;
  std::string stream;
  std::optional<int64_t> start_ms;
  std::optional<int64_t> end_ms;
  std::string next_token;
  int limit = 10000;
  bool start_from_head = false;
};

struct GetEventsResult {
  std::vector<OutputEvent> events;
  std::string next_forward_token;
  std::string next_backward_token;
};

struct FilterEventsRequest {
  std::string group;
  std::vector<std::string> stream_names;
  std::string stream_name_prefix;
  std::optional<int64_t> start_ms;
  std::optional<int64_t> end_ms;
  std::string filter_pattern;
  std::string next_token;
  int limit = 10000;
};

struct FilterEventsResult {
  std::vector<OutputEvent> events;
  std::vector<std::string> searched_streams;
  std::string next_token;
};

// A Logs Insights query (StartQuery ... GetQueryResults). Runs on its own thread over a
// snapshot of the groups' blocks.
struct QueryInfo {
  std::string id;
  std::string query_string;
  std::vector<std::string> groups;
  std::string status;  // Scheduled | Running | Complete | Failed | Cancelled
  int64_t created_ms = 0;
  std::vector<std::vector<std::pair<std::string, std::string>>> results;
  double records_matched = 0, records_scanned = 0, bytes_scanned = 0;
};

// "arn:aws:logs:REGION:ACCOUNT:log-group:NAME" (optionally ending in ":*") -> NAME.
std::optional<std::string> GroupNameFromArn(const std::string& arn);

template <typename T>
struct LogsPage {
  std::vector<T> items;
  std::string next_token;
};

class LogsService {
 public:
  LogsService(store::Db& db, core::Clock& clock, std::string logs_dir, std::string region,
              std::string account_id);
  ~LogsService();

  // Creates the tables and indexes every group's segments (repairing torn tails).
  Status Open();

  Status CreateLogGroup(const std::string& name, const std::string& kms_key_id,
                        const std::map<std::string, std::string>& tags);
  Status DeleteLogGroup(const std::string& name);
  Result<LogsPage<LogGroup>> DescribeLogGroups(const std::string& prefix,
                                               const std::string& pattern,
                                               const std::string& next_token, int limit);
  Status PutRetentionPolicy(const std::string& name, int days);
  Status DeleteRetentionPolicy(const std::string& name);

  Status CreateLogStream(const std::string& group, const std::string& stream);
  Status DeleteLogStream(const std::string& group, const std::string& stream);
  Result<LogsPage<LogStream>> DescribeLogStreams(const std::string& group,
                                                 const std::string& prefix,
                                                 const std::string& order_by, bool descending,
                                                 const std::string& next_token, int limit);

  // CloudWatch's batch rules: 1..10,000 events, ≤ 1,048,576 bytes (message bytes + 26 each),
  // chronological, spanning ≤ 24 h; events > 2 h in the future, > 14 days old or past the
  // group's retention are skipped and reported in the result.
  Result<PutResult> PutLogEvents(const std::string& group, const std::string& stream,
                                 std::vector<InputEvent> events);
  // Empty strings with capacity, from batches already stored, for decoding the next batch's
  // messages into (LogStore::TakeMessageBuffers). Unlike the rest, callable from any thread.
  std::vector<std::string> TakeMessageBuffers() { return store_.TakeMessageBuffers(); }
  Result<GetEventsResult> GetLogEvents(const GetEventsRequest& request);
  // With a `sink`, the page's events go to it in order, a batch at a time as the scan finds
  // them (the result's `events` stays empty): a caller can render them while the scan goes on.
  using EventBatchSink = std::function<void(std::vector<OutputEvent>&&)>;
  Result<FilterEventsResult> FilterLogEvents(const FilterEventsRequest& request,
                                             const EventBatchSink& sink = {});

  // Logs Insights. `start_s`/`end_s` are epoch seconds, as in the API.
  Result<std::string> StartQuery(const std::vector<std::string>& groups, int64_t start_s,
                                 int64_t end_s, const std::string& query_string, int limit);
  // A copy of the query's state (results only once Complete).
  Result<QueryInfo> GetQueryResults(const std::string& id);
  // Cancels a running query; InvalidParameterException when it has already ended.
  Status StopQuery(const std::string& id);
  std::vector<QueryInfo> DescribeQueries(const std::string& group, const std::string& status);

  // Tags by ARN (log groups only).
  Status TagResource(const std::string& arn, const std::map<std::string, std::string>& tags);
  Status UntagResource(const std::string& arn, const std::vector<std::string>& keys);
  Result<std::map<std::string, std::string>> ListTagsForResource(const std::string& arn);

  // The awslogs driver's way in: appends container output, creating the stream (and, with
  // `create_group`, the group) as needed. Events are chunked into blocks as needed.
  Status AppendContainerOutput(const std::string& group, const std::string& stream,
                               bool create_group, std::vector<InputEvent> events);
  // True when the group exists (the driver checks before starting a container).
  bool GroupExists(const std::string& group) const { return groups_.count(group) > 0; }

  // Fsyncs recent appends and applies retention; the server calls it every second.
  void Maintain();

  std::string GroupArn(const std::string& name) const;
  // Blocks decoded by GetLogEvents/FilterLogEvents so far (for tests of block skipping).
  uint64_t BlocksRead() const { return store_.BlocksRead(); }

 private:
  Result<LogGroup*> FindGroup(const std::string& name);
  Result<LogStream*> FindStream(LogGroup& group, const std::string& name);
  Status SaveGroup(const LogGroup& g);
  // Applies `edit` to a copy of the group, stores it, then makes it the group; an error from
  // `edit` or the store changes nothing.
  Status UpdateGroup(const std::string& name, const std::function<Status(LogGroup&)>& edit);
  Status SaveStream(const LogStream& s);
  Status Ingest(LogGroup& group, LogStream& stream, std::vector<LogEvent> events);

  store::Db& db_;
  core::Clock& clock_;
  LogStore store_;
  std::string region_;
  std::string account_id_;
  std::map<std::string, LogGroup> groups_;  // by name (ordered: DescribeLogGroups pages by name)
  // group id -> stream name -> stream (ordered by name for DescribeLogStreams)
  std::unordered_map<int64_t, std::map<std::string, LogStream>> streams_;
  std::unordered_map<int64_t, std::string> stream_names_;  // stream id -> name
  int64_t next_group_id_ = 1;
  int64_t next_stream_id_ = 1;
  int64_t last_retention_ms_ = 0;

  struct RunningQuery;
  // Guards queries_' entries' status/results, which query threads write.
  std::mutex queries_mu_;
  std::map<std::string, std::shared_ptr<RunningQuery>> queries_;
  // Query threads, with the query each runs (finished ones are joined at the next StartQuery).
  std::vector<std::pair<std::thread, std::shared_ptr<RunningQuery>>> query_threads_;
  int64_t query_counter_ = 0;
};

}  // namespace berth::logs
