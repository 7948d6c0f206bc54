// PutLogEvents' own JSON decoder: a batch is up to ~1.3 MB of JSON, and nlohmann-json reads it at
// ~80 MB/s; simdjson On-Demand reads it several times faster (this file is built for x86-64-v3
// so that simdjson uses its fast kernels).

#include "api/handlers/logs_put_events.h"

#include <simdjson.h>

#include <algorithm>

#include "core/json_unescape.h"
#include "logs/logs_errors.h"

namespace berth::api {

namespace {
// Messages unescaped as one chunk: small enough for two threads to end close together, large
// enough that taking one costs nothing.
constexpr size_t kUnescapeChunk = 64;

Error Malformed(const std::string& what) {
  return MakeError(ErrorKind::InvalidArgument, "SerializationException",
                   "Malformed PutLogEvents request: " + what);
}
}  // namespace

Result<std::unique_ptr<PendingPutLogEvents>> PendingPutLogEvents::Parse(
    const std::string& body, std::vector<std::string> buffers) {
  std::unique_ptr<PendingPutLogEvents> p(new PendingPutLogEvents());
  simdjson::padded_string_view padded;
  if (body.capacity() - body.size() >= simdjson::SIMDJSON_PADDING) {
    padded = simdjson::padded_string_view(body.data(), body.size(), body.capacity());
  } else {
    p->copy_.reserve(body.size() + simdjson::SIMDJSON_PADDING);
    p->copy_.assign(body);
    padded = simdjson::padded_string_view(p->copy_.data(), p->copy_.size(), p->copy_.capacity());
  }
  thread_local simdjson::ondemand::parser parser;
  PutLogEventsInput& in = p->in_;
  // The last batch's size is the best guess at this one's (growing the vectors copies them).
  in.events.reserve(buffers.size());
  p->messages_.reserve(buffers.size());
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
          RawMessage raw;
          bool has_ts = false, has_msg = false;
          for (auto f : item.get_object()) {
            std::string_view k = f.unescaped_key();
            if (k == "timestamp") {
              e.timestamp_ms = f.value().get_int64();
              has_ts = true;
            } else if (k == "message") {
              // The token as it is (stage 1 has checked the quotes and UTF-8; escapes are checked
              // when unescaped), up to the next token: drop the blanks after it.
              std::string_view token = f.value().raw_json_token();
              while (!token.empty() && (token.back() == ' ' || token.back() == '\t' ||
                                        token.back() == '\n' || token.back() == '\r')) {
                token.remove_suffix(1);
              }
              if (token.size() < 2 || token.front() != '"' || token.back() != '"') {
                return Malformed("message must be a string");
              }
              raw.begin = reinterpret_cast<const uint8_t*>(token.data() + 1);
              raw.size = static_cast<uint32_t>(token.size() - 2);
              has_msg = true;
            }
          }
          if (!has_ts || !has_msg) {
            return logs::errors::InvalidParameter(
                "Each log event needs a timestamp and a message.");
          }
          if (in.events.size() < buffers.size()) {
            e.message = std::move(buffers[in.events.size()]);
          }
          in.events.push_back(std::move(e));
          p->messages_.push_back(raw);
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
  p->chunks_ = std::make_unique<core::SharedWork>(
      (p->messages_.size() + kUnescapeChunk - 1) / kUnescapeChunk);
  return p;
}

void PendingPutLogEvents::Unescape() {
  const size_t n = messages_.size();
  chunks_->Run([this, n](size_t chunk) {
    for (size_t i = chunk * kUnescapeChunk; i < std::min(n, (chunk + 1) * kUnescapeChunk); ++i) {
      const RawMessage& raw = messages_[i];
      std::string& message = in_.events[i].message;
      if (message.capacity() < raw.size) {
        // Some room to spare, so that the buffer fits more of the messages it is reused for.
        message.reserve(raw.size + raw.size / 4);
      }
      if (!core::UnescapeJsonString(
              std::string_view(reinterpret_cast<const char*>(raw.begin), raw.size), message)) {
        malformed_.store(true);
      }
    }
  });
}

void PendingPutLogEvents::Stop() { chunks_->Stop(); }

Result<PutLogEventsInput> PendingPutLogEvents::Finish() {
  Stop();
  if (malformed_.load()) {
    return Malformed("a message has a malformed escape sequence");
  }
  return std::move(in_);
}

Result<PutLogEventsInput> ParsePutLogEvents(const std::string& body) {
  BERTH_TRY(std::unique_ptr<PendingPutLogEvents> pending, PendingPutLogEvents::Parse(body));
  pending->Unescape();
  return pending->Finish();
}

}  // namespace berth::api
