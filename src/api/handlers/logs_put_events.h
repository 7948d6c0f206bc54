#pragma once
// The fast decoder of PutLogEvents request bodies (see logs_put_events.cc).

#include <atomic>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/shared_work.h"
#include "logs/logs_service.h"

namespace berth::api {

struct PutLogEventsInput {
  std::string group;
  std::string stream;
  std::vector<logs::InputEvent> events;
};

// A PutLogEvents body in two steps. Parse reads its structure (names, timestamps, where each
// message lies) but leaves the messages escaped; Unescape then decodes them, and may run on two
// threads at once, each taking the next chunk of events that no one has taken (a 1 MiB batch
// of JSON lines is mostly escaped quotes: unescaping is most of decoding it).
class PendingPutLogEvents {
 public:
  // SerializationException for malformed JSON or wrong types; InvalidParameterException for
  // missing members. Reads `body` in place when it has simdjson's padding as spare capacity (as
  // HttpServer's bodies do), else a padded copy. REQUIRES: `body` outlives the result, or at
  // least its last Unescape (one that starts after Stop or Finish reads nothing). Messages are
  // unescaped into `buffers` (as many as there are), which then allocate nothing when their
  // capacity suffices.
  static Result<std::unique_ptr<PendingPutLogEvents>> Parse(const std::string& body,
                                                            std::vector<std::string> buffers = {});

  // Unescapes chunks of messages until none are left. Thread-safe.
  void Unescape();
  // Lets no Unescape take another chunk, and waits for those that have one.
  void Stop();
  size_t size() const { return messages_.size(); }

  // The input, once Unescape has returned on some thread (and every other Unescape has
  // returned or will take nothing: Finish waits for chunks in flight); SerializationException
  // when a message has a malformed escape.
  Result<PutLogEventsInput> Finish();

 private:
  PendingPutLogEvents() = default;

  std::string copy_;  // the body with padding as spare capacity, when it had none of its own
  PutLogEventsInput in_;
  // Each message's raw token: just after its opening quote, and its length up to the closing
  // quote (escaped, so at least the unescaped length).
  struct RawMessage {
    const uint8_t* begin = nullptr;
    uint32_t size = 0;
  };
  std::vector<RawMessage> messages_;
  // Chunks of kUnescapeChunk messages, taken by the threads that call Unescape; set by Parse.
  std::unique_ptr<core::SharedWork> chunks_;
  std::atomic<bool> malformed_{false};
};

// Parse, Unescape and Finish on the calling thread.
Result<PutLogEventsInput> ParsePutLogEvents(const std::string& body);

}  // namespace berth::api
