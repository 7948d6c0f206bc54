#pragma once
// ClusterFacts: what is known about every event of a cluster (a group of similar events of one
// block, see block_clusters.h) without reading them — the input of FilterPattern::MayMatch.

#include <optional>
#include <span>
#include <string_view>

#include "logs/trigram_bitmap.h"

namespace berth::logs {

// A top-level JSON field with the same state in every event of a cluster.
struct ClusterDim {
  // The key exactly as its bytes appear between the quotes in the events (escapes not undone,
  // as simdjson compares keys; see FilterPattern's JsonKeysMatchRawBytes).
  std::string_view key;
  // The value's raw JSON text (a scalar: string with its quotes, number, true, false, null),
  // or nullopt: no event of the cluster has the key. When a key occurs more than once in an
  // event, its first occurrence counts (as for FilterPattern::Matches).
  std::optional<std::string_view> value;
};

struct ClusterFacts {
  // Sorted by key. A listed key implies every event of the cluster is a JSON object that
  // simdjson parses (at least to its last top-level field).
  std::span<const ClusterDim> dims;
  // Holds every digit-free trigram of every event's message; nullptr when unknown.
  const TrigramBitmap* trigrams = nullptr;

  // The dimension named `key`, or nullptr.
  const ClusterDim* Find(std::string_view key) const {
    for (const ClusterDim& d : dims) {
      if (d.key == key) {
        return &d;
      }
    }
    return nullptr;
  }
};

}  // namespace berth::logs
