// Micro-benchmarks of the API front door's hot paths: SigV4 verification and the codecs.
// Run: build/bench/berth_micro_bench

#include <benchmark/benchmark.h>

#include <nlohmann/json.hpp>

#include "api/protocol/cbor.h"
#include "core/json_writer.h"
#include "api/sigv4.h"

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

BENCHMARK_MAIN();
