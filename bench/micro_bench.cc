// Micro-benchmarks of hot paths: SigV4 verification, the codecs, and the per-event steps of
// PutLogEvents (unescaping a message, reading its fields).
// Run: build/bench/berth_micro_bench

#include <benchmark/benchmark.h>

#include <nlohmann/json.hpp>

#include "api/protocol/cbor.h"
#include "api/sigv4.h"
#include "core/json_unescape.h"
#include "core/json_writer.h"
#include "logs/flat_object.h"

namespace {

using namespace berth::api;

class OneKey final : public SecretLookup {
 public:
  std::optional<std::string> SecretFor(std::string_view id, std::string_view) override {
    if (id == "AKIDEXAMPLE") {
      return std::string("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
    }
    return std::nullopt;
  }
};

void BM_SigV4Verify(benchmark::State& state) {
  OneKey keys;
  SigV4Verifier verifier(keys);
  std::string body = R"({"clusters":["default"]})";
  std::string date = "20261126T190750Z";
  HttpRequestView req;
  req.method = "POST";
  req.target = "/";
  req.body = body;
  req.headers = {{"Host", "127.0.0.1:4566"},
                 {"X-Amz-Date", date},
                 {"X-Amz-Target", "AmazonEC2ContainerServiceV20141113.DescribeClusters"},
                 {"Content-Type", "application/x-amz-json-1.1"}};
  SigV4SigningParams params;
  params.access_key_id = "AKIDEXAMPLE";
  params.secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
  params.region = "us-east-1";
  params.service = "ecs";
  params.amz_date = date;
  std::string auth = SignRequestHeaders(req, params);
  req.headers.emplace_back("Authorization", auth);
  int64_t now = 1795720070;  // 2026-11-26T19:07:50Z
  for (auto _ : state) {
    auto r = verifier.Verify(req, now);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_SigV4Verify);

void BM_CborRoundTrip(benchmark::State& state) {
  nlohmann::json doc = {{"MetricDataResults", nlohmann::json::array()}};
  for (int i = 0; i < 20; ++i) {
    doc["MetricDataResults"].push_back(
        {{"Id", "m" + std::to_string(i)}, {"Values", {1.5, 2.5, 3.5}}, {"StatusCode", "Complete"}});
  }
  for (auto _ : state) {
    std::string bytes = cbor::Encode(doc);
    auto back = cbor::Decode(bytes);
    benchmark::DoNotOptimize(back);
  }
}
BENCHMARK(BM_CborRoundTrip);

}  // namespace

// Escaping a lograge line (a quote every few bytes), as a FilterLogEvents page does 10,000 times.
static void BM_AppendJsonStringLograge(benchmark::State& state) {
  const std::string line =
      R"({"method":"GET","path":"/api/orders/63093","format":"json","controller":"OrdersController",)"
      R"("action":"show","status":200,"duration":80.0,"view":4.51,"db":3.29,"time":1790000000360})";
  std::string out;
  for (auto _ : state) {
    out.clear();
    berth::core::AppendJsonString(out, line);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * line.size()));
}
BENCHMARK(BM_AppendJsonStringLograge);

// Lograge lines as bench/gen_lograge.py makes them (varying paths, statuses and durations, so
// that branch predictors cannot learn them), 4,096 of them.
const std::vector<std::string>& LogrageLines() {
  static const std::vector<std::string> lines = [] {
    std::vector<std::string> out;
    uint64_t state = 42;
    auto next = [&](uint64_t bound) {
      state = state * 6364136223846793005ULL + 1442695040888963407ULL;
      return (state >> 33) % bound;
    };
    const char* paths[] = {"/api/orders/", "/health_check", "/retrospectives/", "/users/"};
    const char* controllers[] = {"OrdersController", "HealthController", "BoardsController"};
    const int statuses[] = {200, 200, 200, 200, 200, 200, 201, 302, 404, 500};
    for (int i = 0; i < 4096; ++i) {
      const size_t path = next(4);
      std::string line = std::string(R"({"method":")") + (next(5) == 0 ? "POST" : "GET") +
                         R"(","path":")" + paths[path] +
                         (path == 1 ? "" : std::to_string(next(uint64_t{1} << (4 * next(5) + 1)))) +
                         R"(","format":"json","controller":")" + controllers[next(3)] +
                         R"(","action":"show","status":)" + std::to_string(statuses[next(10)]) +
                         R"(,"duration":)" + std::to_string(next(300)) + "." +
                         std::to_string(next(100)) + R"(,"view":)" + std::to_string(next(20)) +
                         "." + std::to_string(next(100)) + R"(,"db":)" +
                         std::to_string(next(50)) + "." + std::to_string(next(100)) +
                         R"(,"time":)" + std::to_string(1790000000000ULL + i * 10) + "}";
      out.push_back(line);
    }
    return out;
  }();
  return lines;
}

static void BM_UnescapeLograge(benchmark::State& state, bool portable) {
  std::vector<std::string> escaped;
  size_t bytes = 0;
  for (const std::string& line : LogrageLines()) {
    std::string e;
    berth::core::AppendJsonString(e, line);
    escaped.push_back(e.substr(1, e.size() - 2));
    bytes += escaped.back().size();
  }
  std::string out(4096, '\0');
  for (auto _ : state) {
    for (const std::string& e : escaped) {
      benchmark::DoNotOptimize(portable ? berth::core::UnescapeJsonStringScalar(e, out.data())
                                        : berth::core::UnescapeJsonString(e, out.data()));
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * escaped.size()));
}
BENCHMARK_CAPTURE(BM_UnescapeLograge, dispatched, false);
BENCHMARK_CAPTURE(BM_UnescapeLograge, portable, true);

static void BM_ScanFlatObjectLograge(benchmark::State& state) {
  std::array<berth::logs::FlatField, berth::logs::kMaxFlatFields> fields;
  size_t bytes = 0;
  for (const std::string& line : LogrageLines()) bytes += line.size();
  for (auto _ : state) {
    for (const std::string& line : LogrageLines()) {
      size_t count = 0;
      benchmark::DoNotOptimize(berth::logs::ScanFlatObject(line, fields, &count));
      benchmark::DoNotOptimize(fields.data());
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * LogrageLines().size()));
}
BENCHMARK(BM_ScanFlatObjectLograge);

BENCHMARK_MAIN();
