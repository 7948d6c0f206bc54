// PutLogEvents' own JSON decoder: a batch is up to ~1.3 MB of JSON, and nlohmann-json reads it at
// ~80 MB/s; simdjson On-Demand reads it several times faster (this file is built for x86-64-v3
// so that simdjson uses its fast kernels).

#include "api/handlers/logs_put_events.h"

#include <simdjson.h>

#include "logs/logs_errors.h"

namespace berth::api {

namespace {
Error Malformed(const std::string& what) {
  return MakeError(ErrorKind::InvalidArgument, "SerializationException",
                   "Malformed PutLogEvents request: " + what);
}
}  // namespace

Result<PutLogEventsInput> ParsePutLogEvents(const std::string& body) {
  simdjson::padded_string copy;
  simdjson::padded_string_view padded;
  if (body.capacity() - body.size() >= simdjson::SIMDJSON_PADDING) {
    padded = simdjson::padded_string_view(body.data(), body.size(), body.capacity());
  } else {
    copy = simdjson::padded_string(body);
    padded = copy;
  }
  thread_local simdjson::ondemand::parser parser;
  PutLogEventsInput in;
  bool have_events = false;
  try {
    simdjson::ondemand::document doc = parser.iterate(padded);
    simdjson::ondemand::object root = doc.get_object();
    for (auto field : root) {
      std::string_view key = field.unescaped_key();
      if (key == "logGroupName") {
        in.group = std::string(std::string_view(field.value().get_string()));
      } else if (key == "logStreamName") {
        in.stream = std::string(std::string_view(field.value().get_string()));
      } else if (key == "logEvents") {
        have_events = true;
        for (auto item : field.value().get_array()) {
          logs::InputEvent e;
          bool has_ts = false, has_msg = false;
          for (auto f : item.get_object()) {
            std::string_view k = f.unescaped_key();
            if (k == "timestamp") {
              e.timestamp_ms = f.value().get_int64();
              has_ts = true;
            } else if (k == "message") {
              e.message = std::string(std::string_view(f.value().get_string()));
              has_msg = true;
            }
          }
          if (!has_ts || !has_msg) {
            return logs::errors::InvalidParameter(
                "Each log event needs a timestamp and a message.");
          }
          in.events.push_back(std::move(e));
        }
      }
      // Other members (sequenceToken, entity) are accepted and ignored, as CloudWatch does.
    }
    // Once the root object is consumed, any location left means content after it.
    if (!doc.current_location().error()) {
      return Malformed("trailing content after the request object");
    }
  } catch (const simdjson::simdjson_error& e) {
    return Malformed(e.what());
  }
  if (in.group.empty() || in.stream.empty()) {
    return logs::errors::InvalidParameter("logGroupName and logStreamName must be set.");
  }
  if (!have_events) {
    return logs::errors::InvalidParameter("logEvents must be set.");
  }
  return in;
}

}  // namespace berth::api
