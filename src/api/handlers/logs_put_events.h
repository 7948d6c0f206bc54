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
// missing members.
Result<PutLogEventsInput> ParsePutLogEvents(std::string_view body);

}  // namespace berth::api
