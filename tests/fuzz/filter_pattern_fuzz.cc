// libFuzzer target for logs::FilterPattern: the input up to the first newline is a filter
// pattern, the rest is a log event. Parsing must never crash or throw; a parsed pattern must
// match without crashing, and its promises must hold: every RequiredSubstrings() entry occurs
// in a matched event, MatchesEverything() patterns match every event, and MayMatch() never
// rules out a cluster that holds a matching event (the log store would skip real results).
//
// Not part of the build: scripts/fuzz.sh builds and runs it.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "logs/block_clusters.h"
#include "logs/filter_pattern.h"
#include "logs/trigram_bitmap.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t nl = input.find('\n');
  const std::string_view pattern = input.substr(0, nl);
  const std::string_view event = nl == std::string_view::npos ? "" : input.substr(nl + 1);

  auto parsed = berth::logs::FilterPattern::Parse(pattern);
  if (!parsed.ok()) {
    if (parsed.error().aws_code != "InvalidParameterException" ||
        parsed.error().message.rfind("Invalid filter pattern: ", 0) != 0) {
      __builtin_trap();
    }
    return 0;
  }
  const berth::logs::FilterPattern& p = *parsed;
  // A copy of the event in its own allocation, so ASan sees reads past its end.
  const std::string owned(event);
  const bool hit = p.Matches(owned);
  if (hit != p.Matches(owned)) {
    __builtin_trap();  // matching is a pure function of the event
  }
  if (hit) {
    for (const std::string& r : p.RequiredSubstrings()) {
      if (owned.find(r) == std::string::npos) {
        __builtin_trap();
      }
    }
  }
  if (p.MatchesEverything() && !hit) {
    __builtin_trap();
  }
  // The event as a one-event cluster, summarized as EncodeBlock summarizes clusters.
  berth::logs::ClusterPlan plan = berth::logs::PlanClusters({berth::logs::LogEvent{1, 0, 0, owned}});
  berth::logs::ClusterInfo& cluster = plan.table->clusters.at(0);
  berth::logs::TrigramCollector trigrams;
  trigrams.Add(owned);
  cluster.trigrams = trigrams.Bitmap();
  cluster.trigrams.Fold();
  if (hit && !p.MayMatch(cluster.Facts())) {
    __builtin_trap();
  }
  return 0;
}
