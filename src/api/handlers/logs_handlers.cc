// CloudWatch Logs wire mapping (awsJson1.1, target prefix Logs_20140328).

#include "api/handlers/handlers.h"
#include "api/handlers/logs_put_events.h"
#include "core/handoff_queue.h"
#include "core/json_writer.h"
#include "core/worker_thread.h"
#include "logs/logs_errors.h"
#include "logs/logs_service.h"

namespace berth::api {

using core::JsonWriter;
using nlohmann::json;

namespace {

std::string Str(const json& in, const char* key) { return in.value(key, std::string()); }

// logGroupName, or logGroupIdentifier (a name or an ARN), whichever the caller sent.
Result<std::string> GroupOf(const json& in) {
  std::string name = Str(in, "logGroupName");
  std::string identifier = Str(in, "logGroupIdentifier");
  if (!name.empty() && !identifier.empty()) {
    return logs::errors::InvalidParameter(
        "LogGroup name and LogGroup ARN are mutually exclusive parameters.");
  }
  if (name.empty() && !identifier.empty()) {
    name = logs::GroupNameFromArn(identifier).value_or(identifier);
  }
  if (name.empty()) {
    return logs::errors::InvalidParameter("Either logGroupName or logGroupIdentifier must be set.");
  }
  return name;
}

Result<std::string> Required(const json& in, const char* key) {
  std::string v = Str(in, key);
  if (v.empty()) {
    return logs::errors::InvalidParameter(std::string("1 validation error detected: Value null "
                                                      "at '") + key +
                                          "' failed to satisfy constraint: Member must not be null");
  }
  return v;
}

std::optional<int64_t> OptTime(const json& in, const char* key) {
  if (!in.contains(key)) {
    return std::nullopt;
  }
  return in.at(key).get<int64_t>();
}

json StreamJson(const logs::LogStream& s, const std::string& group_arn) {
  json j = {{"logStreamName", s.name},
            {"creationTime", s.created_ms},
            {"arn", group_arn + ":log-stream:" + s.name},
            {"storedBytes", s.stored_bytes}};
  if (s.first_event_ms) j["firstEventTimestamp"] = *s.first_event_ms;
  if (s.last_event_ms) j["lastEventTimestamp"] = *s.last_event_ms;
  if (s.last_ingestion_ms) j["lastIngestionTime"] = *s.last_ingestion_ms;
  return j;
}

}  // namespace

JsonService MakeLogsHandlers(logs::LogsService& logs) {
  JsonService s;
  s.signing_name = "logs";
  s.target_prefixes = {"Logs_20140328"};
  auto& ops = s.operations;

  ops["CreateLogGroup"] = [&logs](const ApiContext&, const json& in) -> Result<JsonReply> {
    BERTH_TRY(std::string name, Required(in, "logGroupName"));
    auto tags = in.value("tags", std::map<std::string, std::string>{});
    BERTH_RETURN_IF_ERROR(logs.CreateLogGroup(name, Str(in, "kmsKeyId"), tags));
    return json::object();
  };
  ops["DeleteLogGroup"] = [&logs](const ApiContext&, const json& in) -> Result<JsonReply> {
    BERTH_TRY(std::string name, Required(in, "logGroupName"));
    BERTH_RETURN_IF_ERROR(logs.DeleteLogGroup(name));
    return json::object();
  };
  ops["DescribeLogGroups"] = [&logs](const ApiContext&, const json& in) -> Result<JsonReply> {
    BERTH_TRY(auto page, logs.DescribeLogGroups(Str(in, "logGroupNamePrefix"),
                                                Str(in, "logGroupNamePattern"),
                                                Str(in, "nextToken"), in.value("limit", 50)));
    json groups = json::array();
    for (const logs::LogGroup& g : page.items) {
      json j = {{"logGroupName", g.name},
                {"creationTime", g.created_ms},
                {"metricFilterCount", 0},
                {"arn", g.arn + ":*"},
                {"logGroupArn", g.arn},
                {"storedBytes", g.stored_bytes},
                {"logGroupClass", "STANDARD"}};
      if (g.retention_days) j["retentionInDays"] = *g.retention_days;
      if (!g.kms_key_id.empty()) j["kmsKeyId"] = g.kms_key_id;
      groups.push_back(std::move(j));
    }
    json out = {{"logGroups", groups}};
    if (!page.next_token.empty()) out["nextToken"] = page.next_token;
    return out;
  };
  ops["PutRetentionPolicy"] = [&logs](const ApiContext&, const json& in) -> Result<JsonReply> {
    BERTH_TRY(std::string name, Required(in, "logGroupName"));
    if (!in.contains("retentionInDays")) {
      return logs::errors::InvalidParameter("retentionInDays must be set.");
    }
    BERTH_RETURN_IF_ERROR(logs.PutRetentionPolicy(name, in.at("retentionInDays").get<int>()));
    return json::object();
  };
  ops["DeleteRetentionPolicy"] = [&logs](const ApiContext&, const json& in) -> Result<JsonReply> {
    BERTH_TRY(std::string name, Required(in, "logGroupName"));
    BERTH_RETURN_IF_ERROR(logs.DeleteRetentionPolicy(name));
    return json::object();
  };

  ops["CreateLogStream"] = [&logs](const ApiContext&, const json& in) -> Result<JsonReply> {
    BERTH_TRY(std::string group, Required(in, "logGroupName"));
    BERTH_TRY(std::string stream, Required(in, "logStreamName"));
    BERTH_RETURN_IF_ERROR(logs.CreateLogStream(group, stream));
    return json::object();
  };
  ops["DeleteLogStream"] = [&logs](const ApiContext&, const json& in) -> Result<JsonReply> {
    BERTH_TRY(std::string group, Required(in, "logGroupName"));
    BERTH_TRY(std::string stream, Required(in, "logStreamName"));
    BERTH_RETURN_IF_ERROR(logs.DeleteLogStream(group, stream));
    return json::object();
  };
  ops["DescribeLogStreams"] = [&logs](const ApiContext&, const json& in) -> Result<JsonReply> {
    BERTH_TRY(std::string group, GroupOf(in));
    BERTH_TRY(auto page, logs.DescribeLogStreams(
                             group, Str(in, "logStreamNamePrefix"),
                             in.value("orderBy", std::string("LogStreamName")),
                             in.value("descending", false), Str(in, "nextToken"),
                             in.value("limit", 50)));
    json streams = json::array();
    for (const logs::LogStream& st : page.items) {
      streams.push_back(StreamJson(st, logs.GroupArn(group)));
    }
    json out = {{"logStreams", streams}};
    if (!page.next_token.empty()) out["nextToken"] = page.next_token;
    return out;
  };

  auto put_reply = [](const logs::PutResult& r) -> JsonReply {
    json out = json::object();
    if (r.too_new_start || r.too_old_end || r.expired_end) {
      json info = json::object();
      if (r.too_new_start) info["tooNewLogEventStartIndex"] = *r.too_new_start;
      if (r.too_old_end) info["tooOldLogEventEndIndex"] = *r.too_old_end;
      if (r.expired_end) info["expiredLogEventEndIndex"] = *r.expired_end;
      out["rejectedLogEventsInfo"] = info;
    }
    return out;
  };
  // JSON protocols: the fast decoder; rpc-v2-cbor (not spoken by Logs clients today): the
  // generic path.
  //
  // A large batch's messages are unescaped on two threads: `unescaper` starts as soon as the
  // body's structure is read (while the loop thread still checks the signature), and the loop
  // thread joins it when the operation runs (a refused call stops it, so it costs no more).
  //
  // Tried and dropped: encoding the batch's block, or reading its events' fields for the
  // clusters, on the other threads before the signature is checked, so that the operation has
  // less left to do (both 5-10 % fewer events per second): the VM's two cores then had three or
  // four threads with work while SHA-256 of the body (~0.75 ms, the longest step) ran on the
  // loop thread, and it finished later.
  auto unescaper = std::make_shared<core::WorkerThread>();
  s.raw_operations["PutLogEvents"] = [&logs, put_reply,
                                      unescaper](const std::string& body) -> DecodedOperation {
    constexpr size_t kSharedUnescapeEvents = 256;  // below, a thread hand-off costs more
    auto parsed = PendingPutLogEvents::Parse(body, logs.TakeMessageBuffers());
    if (!parsed.ok()) {
      return [error = parsed.error()](const ApiContext&) -> Result<JsonReply> { return error; };
    }
    // Shared with the unescaper's job; Stop() when the operation is dropped unrun (a refused
    // signature), since the job reads `body`, which only outlives the operation.
    std::shared_ptr<PendingPutLogEvents> pending = std::move(parsed).value();
    struct StopOnDrop {
      explicit StopOnDrop(std::shared_ptr<PendingPutLogEvents> pending) : p(std::move(pending)) {}
      StopOnDrop(const StopOnDrop&) = delete;
      StopOnDrop& operator=(const StopOnDrop&) = delete;
      ~StopOnDrop() { p->Stop(); }
      std::shared_ptr<PendingPutLogEvents> p;
    };
    auto guard = std::make_shared<StopOnDrop>(pending);
    if (pending->size() >= kSharedUnescapeEvents) {
      (void)unescaper->Submit([pending] { pending->Unescape(); });
    }
    return [&logs, put_reply, guard](const ApiContext&) -> Result<JsonReply> {
      guard->p->Unescape();
      BERTH_TRY(PutLogEventsInput in, guard->p->Finish());
      BERTH_TRY(logs::PutResult r, logs.PutLogEvents(in.group, in.stream, std::move(in.events)));
      return put_reply(r);
    };
  };
  ops["PutLogEvents"] = [&logs, put_reply](const ApiContext&, const json& in) -> Result<JsonReply> {
    BERTH_TRY(std::string group, Required(in, "logGroupName"));
    BERTH_TRY(std::string stream, Required(in, "logStreamName"));
    if (!in.contains("logEvents") || !in.at("logEvents").is_array()) {
      return logs::errors::InvalidParameter("logEvents must be a list.");
    }
    std::vector<logs::InputEvent> events;
    events.reserve(in.at("logEvents").size());
    for (const json& e : in.at("logEvents")) {
      events.push_back({e.at("timestamp").get<int64_t>(), e.at("message").get<std::string>()});
    }
    BERTH_TRY(logs::PutResult r, logs.PutLogEvents(group, stream, std::move(events)));
    return put_reply(r);
  };
  ops["GetLogEvents"] = [&logs](const ApiContext&, const json& in) -> Result<JsonReply> {
    logs::GetEventsRequest req;
    BERTH_TRY(req.group, GroupOf(in));
    BERTH_TRY(req.stream, Required(in, "logStreamName"));
    req.start_ms = OptTime(in, "startTime");
    req.end_ms = OptTime(in, "endTime");
    req.next_token = Str(in, "nextToken");
    req.limit = in.value("limit", 10000);
    req.start_from_head = in.value("startFromHead", false);
    BERTH_TRY(logs::GetEventsResult r, logs.GetLogEvents(req));
    // Up to 10,000 events a page: written straight to text (JsonWriter), which is several times
    // faster than building and dumping an nlohmann tree of them.
    JsonWriter w;
    w.BeginObject().Key("events").BeginArray();
    for (const logs::OutputEvent& e : r.events) {
      w.BeginObject()
          .Key("timestamp").Int(e.timestamp_ms)
          .Key("message").String(e.message)
          .Key("ingestionTime").Int(e.ingestion_ms)
          .EndObject();
    }
    w.EndArray()
        .Key("nextForwardToken").String(r.next_forward_token)
        .Key("nextBackwardToken").String(r.next_backward_token);
    return JsonReply::Raw(w.EndObject().Take());
  };
  // The scan (decompressing, matching, copying out) runs on `scanner` while this thread renders
  // the events it has found so far: the two halves of a page's work take about as long as each
  // other, so a page is answered in about the time of the longer one.
  auto scanner = std::make_shared<core::WorkerThread>();
  ops["FilterLogEvents"] = [&logs, scanner](const ApiContext&,
                                            const json& in) -> Result<JsonReply> {
    logs::FilterEventsRequest req;
    BERTH_TRY(req.group, GroupOf(in));
    req.stream_names = in.value("logStreamNames", std::vector<std::string>{});
    req.stream_name_prefix = Str(in, "logStreamNamePrefix");
    req.start_ms = OptTime(in, "startTime");
    req.end_ms = OptTime(in, "endTime");
    req.filter_pattern = Str(in, "filterPattern");
    req.next_token = Str(in, "nextToken");
    req.limit = in.value("limit", 10000);
    core::HandoffQueue<std::vector<logs::OutputEvent>> found;
    auto scan = scanner->Submit([&logs, &req, &found] {
      struct CloseWhenDone {  // however the scan ends, the loop below must end too
        core::HandoffQueue<std::vector<logs::OutputEvent>>& q;
        ~CloseWhenDone() { q.Close(); }
      } close{found};
      return logs.FilterLogEvents(
          req, [&found](std::vector<logs::OutputEvent>&& batch) { found.Push(std::move(batch)); });
    });
    core::JoinOnExit join_scan(scan);  // the scan reads `req` and `found`
    JsonWriter w;
    w.BeginObject().Key("events").BeginArray();
    while (std::optional<std::vector<logs::OutputEvent>> batch = found.Pop()) {
      for (const logs::OutputEvent& e : *batch) {
        w.BeginObject()
            .Key("logStreamName").String(e.stream)
            .Key("timestamp").Int(e.timestamp_ms)
            .Key("message").String(e.message)
            .Key("ingestionTime").Int(e.ingestion_ms)
            .Key("eventId").String(e.event_id)
            .EndObject();
      }
    }
    BERTH_TRY(logs::FilterEventsResult r, scan.get());
    w.EndArray().Key("searchedLogStreams").BeginArray();
    for (const std::string& name : r.searched_streams) {
      w.BeginObject().Key("logStreamName").String(name).Key("searchedCompletely").Bool(true);
      w.EndObject();
    }
    w.EndArray();
    if (!r.next_token.empty()) {
      w.Key("nextToken").String(r.next_token);
    }
    return JsonReply::Raw(w.EndObject().Take());
  };

  ops["TagResource"] = [&logs](const ApiContext&, const json& in) -> Result<JsonReply> {
    BERTH_TRY(std::string arn, Required(in, "resourceArn"));
    BERTH_RETURN_IF_ERROR(
        logs.TagResource(arn, in.value("tags", std::map<std::string, std::string>{})));
    return json::object();
  };
  ops["UntagResource"] = [&logs](const ApiContext&, const json& in) -> Result<JsonReply> {
    BERTH_TRY(std::string arn, Required(in, "resourceArn"));
    BERTH_RETURN_IF_ERROR(
        logs.UntagResource(arn, in.value("tagKeys", std::vector<std::string>{})));
    return json::object();
  };
  ops["ListTagsForResource"] = [&logs](const ApiContext&, const json& in) -> Result<JsonReply> {
    BERTH_TRY(std::string arn, Required(in, "resourceArn"));
    BERTH_TRY(auto tags, logs.ListTagsForResource(arn));
    return json{{"tags", tags}};
  };
  // Logs Insights.
  ops["StartQuery"] = [&logs](const ApiContext&, const json& in) -> Result<JsonReply> {
    std::vector<std::string> groups = in.value("logGroupNames", std::vector<std::string>{});
    if (in.contains("logGroupName")) {
      groups.push_back(in.at("logGroupName").get<std::string>());
    }
    for (const std::string& id : in.value("logGroupIdentifiers", std::vector<std::string>{})) {
      json one = {{"logGroupIdentifier", id}};
      BERTH_TRY(std::string name, GroupOf(one));
      groups.push_back(name);
    }
    BERTH_TRY(std::string query, Required(in, "queryString"));
    if (!in.contains("startTime") || !in.contains("endTime")) {
      return logs::errors::InvalidParameter("startTime and endTime must be set.");
    }
    BERTH_TRY(std::string id, logs.StartQuery(groups, in.at("startTime").get<int64_t>(),
                                              in.at("endTime").get<int64_t>(), query,
                                              in.value("limit", 0)));
    return json{{"queryId", id}};
  };
  ops["GetQueryResults"] = [&logs](const ApiContext&, const json& in) -> Result<JsonReply> {
    BERTH_TRY(std::string id, Required(in, "queryId"));
    BERTH_TRY(logs::QueryInfo q, logs.GetQueryResults(id));
    json rows = json::array();
    for (const auto& row : q.results) {
      json r = json::array();
      for (const auto& [field, value] : row) {
        r.push_back({{"field", field}, {"value", value}});
      }
      rows.push_back(std::move(r));
    }
    return json{{"results", rows},
                {"statistics", {{"recordsMatched", q.records_matched},
                                {"recordsScanned", q.records_scanned},
                                {"bytesScanned", q.bytes_scanned}}},
                {"status", q.status}};
  };
  ops["StopQuery"] = [&logs](const ApiContext&, const json& in) -> Result<JsonReply> {
    BERTH_TRY(std::string id, Required(in, "queryId"));
    BERTH_RETURN_IF_ERROR(logs.StopQuery(id));
    return json{{"success", true}};
  };
  ops["DescribeQueries"] = [&logs](const ApiContext&, const json& in) -> Result<JsonReply> {
    json queries = json::array();
    for (const logs::QueryInfo& q : logs.DescribeQueries(Str(in, "logGroupName"), Str(in, "status"))) {
      json j = {{"queryId", q.id}, {"queryString", q.query_string}, {"status", q.status},
                {"createTime", q.created_ms}};
      if (!q.groups.empty()) {
        j["logGroupName"] = q.groups.front();
      }
      queries.push_back(std::move(j));
    }
    return json{{"queries", queries}};
  };

  // The older, group-named tag calls the CLI still offers.
  ops["TagLogGroup"] = [&logs](const ApiContext&, const json& in) -> Result<JsonReply> {
    BERTH_TRY(std::string name, Required(in, "logGroupName"));
    BERTH_RETURN_IF_ERROR(logs.TagResource(logs.GroupArn(name),
                                           in.value("tags", std::map<std::string, std::string>{})));
    return json::object();
  };
  ops["ListTagsLogGroup"] = [&logs](const ApiContext&, const json& in) -> Result<JsonReply> {
    BERTH_TRY(std::string name, Required(in, "logGroupName"));
    BERTH_TRY(auto tags, logs.ListTagsForResource(logs.GroupArn(name)));
    return json{{"tags", tags}};
  };
  // IAM resources as CloudWatch Logs checks them: the log group ("…:log-group:NAME:*"), or the
  // stream for stream-level actions; account-wide listings on "*".
  s.resources = [&logs](const std::string& op, const json& in) -> std::vector<std::string> {
    std::string group = in.value("logGroupName", std::string());
    if (group.empty()) {
      std::string identifier = in.value("logGroupIdentifier", std::string());
      group = logs::GroupNameFromArn(identifier).value_or(identifier);
    }
    if (group.empty() || op == "DescribeLogGroups") {
      return {"*"};
    }
    std::string stream = in.value("logStreamName", std::string());
    if (!stream.empty() && (op == "PutLogEvents" || op == "CreateLogStream" ||
                            op == "DeleteLogStream" || op == "GetLogEvents")) {
      return {logs.GroupArn(group) + ":log-stream:" + stream};
    }
    return {logs.GroupArn(group) + ":*"};
  };
  return s;
}

}  // namespace berth::api
