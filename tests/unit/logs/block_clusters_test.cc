#include "logs/block_clusters.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/worker_thread.h"

namespace berth::logs {

namespace {

// A plan as plain strings, for comparing two plans of the same events.
struct PlanText {
  std::vector<std::string> dictionary;
  std::vector<std::string> clusters;  // stream, count, times and dims of each, in order
  std::vector<std::vector<uint32_t>> members;

  bool operator==(const PlanText&) const = default;
};

PlanText TextOf(const ClusterPlan& plan) {
  PlanText out;
  for (const auto& d : plan.table->dictionary) {
    out.dictionary.push_back(*d);
  }
  for (const ClusterInfo& c : plan.table->clusters) {
    std::string s = std::to_string(c.stream_id) + " n=" + std::to_string(c.count) + " " +
                    std::to_string(c.min_ts) + ".." + std::to_string(c.max_ts);
    for (const ClusterDim& d : c.dims) {
      s += " " + std::string(d.key) + "=" + (d.value ? std::string(*d.value) : "<absent>");
    }
    out.clusters.push_back(s);
  }
  out.members = plan.members;
  return out;
}

std::vector<LogEvent> Make(size_t n, const std::function<std::string(size_t)>& message) {
  std::vector<LogEvent> out;
  for (size_t i = 0; i < n; ++i) {
    out.push_back({static_cast<int64_t>(i % 5 == 0 ? 8 : 7), static_cast<int64_t>(1000 + i),
                   0, message(i)});
  }
  return out;
}

// Plans `events` on one thread and with a helper; both must be the same plan.
void ExpectSamePlan(const std::vector<LogEvent>& events) {
  core::WorkerThread helper;
  const PlanText alone = TextOf(PlanClusters(events));
  const PlanText helped = TextOf(PlanClusters(events, &helper));
  EXPECT_EQ(alone.dictionary, helped.dictionary);
  EXPECT_EQ(alone.clusters, helped.clusters);
  EXPECT_TRUE(alone.members == helped.members);
}

}  // namespace

// The halves meet the same values in different orders (and the second half meets a status and
// a key the first never does): the merged dictionary must number them as one pass would.
TEST(PlanClustersTest, MergedHalvesGiveTheOnePassPlan_ValueOrderDiffers) {
  const size_t n = 4000;
  auto events = Make(n, [n](size_t i) {
    const bool second = i >= n / 2;
    const int status = second ? (i % 7 == 0 ? 201 : i % 3 == 0 ? 404 : 200)
                              : (i % 3 == 0 ? 200 : i % 11 == 0 ? 500 : 302);
    std::string m = R"({"method":")" + std::string(i % 4 == 0 ? "POST" : "GET") +
                    R"(","status":)" + std::to_string(status) + R"(,"id":)" + std::to_string(i);
    if (second && i % 13 == 0) {
      m += R"(,"error":"ERROR boom")";
    }
    return m + "}";
  });
  ExpectSamePlan(events);
}

// Each half has 10 values of "kind", together 20: too many for a dimension, as in one pass.
TEST(PlanClustersTest, MergedHalvesGiveTheOnePassPlan_TooManyValuesTogether) {
  const size_t n = 3000;
  auto events = Make(n, [n](size_t i) {
    const size_t kind = (i >= n / 2 ? 10 : 0) + i % 10;
    return R"({"kind":"k)" + std::to_string(kind) + R"(","level":")" +
           (i % 9 == 0 ? "warn" : "info") + R"("})";
  });
  ExpectSamePlan(events);
}

// Nested values (simdjson's path, texts copied from its buffer), non-JSON lines, absent keys,
// a key whose value is an object in some events, and values over 64 bytes in one half.
TEST(PlanClustersTest, MergedHalvesGiveTheOnePassPlan_MixedShapes) {
  const size_t n = 2500;
  auto events = Make(n, [n](size_t i) -> std::string {
    if (i % 17 == 0) {
      return "plain text line " + std::to_string(i);
    }
    if (i % 5 == 1) {
      return R"({"req":{"path":"/x"},"level":"error","shape":")" + std::to_string(i % 3) +
             R"("})";
    }
    if (i % 5 == 2) {
      return R"({"shape":{"nested":true},"level":"info"})";
    }
    std::string long_value = i >= n / 2 && i % 7 == 0 ? std::string(80, 'v') : "short";
    return R"( {"level":"info", "note":")" + long_value + R"(", "esc\"key":1} )";
  });
  ExpectSamePlan(events);
}

// More than kMaxDimKeys keys: in the second half alone (it is read again after the first), and
// only in both halves together (the second half's new keys fill the table in first-seen order).
TEST(PlanClustersTest, MergedHalvesGiveTheOnePassPlan_ManyKeys) {
  for (auto [first_keys, second_keys] : {std::pair<size_t, size_t>{0, 40}, {20, 40}, {20, 20},
                                         {31, 5}}) {
    const size_t n = 2048;
    auto events = Make(n, [n, first_keys, second_keys](size_t i) {
      std::string m = R"({"level":")" + std::string(i % 2 ? "info" : "warn") + "\"";
      const bool second = i >= n / 2;
      const size_t keys = second ? second_keys : first_keys;
      for (size_t k = 0; k < keys; ++k) {
        m += ",\"" + std::string(second ? "b" : "a") + std::to_string((k + i) % keys) + "\":" +
             std::to_string(k % 3);
      }
      return m + "}";
    });
    ExpectSamePlan(events);
  }
}

// Below kParallelPlanEvents the helper is not used; at and above it the plan is the same.
TEST(PlanClustersTest, SmallAndLargeBlocksGiveTheSamePlanWithAHelper) {
  for (size_t n : {size_t{1}, kParallelPlanEvents - 1, kParallelPlanEvents, size_t{16384}}) {
    auto events = Make(n, [](size_t i) {
      return R"({"status":)" + std::to_string(i % 10 == 3 ? 503 : 200) + R"(,"path":"/p)" +
             std::to_string(i % 1000) + R"("})";
    });
    ExpectSamePlan(events);
  }
}

}  // namespace berth::logs
