#pragma once
// The fast decoder of PutLogEvents request bodies (see logs_put_events.cc).

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "logs/logs_service.h"

namespace berth::api {

struct PutLogEventsInput {
  std::string group;
  std::string stream;
  std::vector<logs::InputEvent> events;
};

// SerializationException for malformed JSON or wrong types; InvalidParameterException for
// missing members. Parses in place when `body` has simdjson's padding as spare capacity (as
// HttpServer's bodies do), else from a padded copy.
Result<PutLogEventsInput> ParsePutLogEvents(const std::string& body);

}  // namespace berth::api
