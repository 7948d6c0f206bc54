#pragma once
// ElbStore: the only code that touches the elb_* tables. Each resource is one JSON document
// keyed by its ARN; the control plane keeps everything in memory and writes through.

#include <string>
#include <vector>

#include "core/result.h"
#include "elb/elb_types.h"
#include "store/db.h"

namespace berth::elb {

class ElbStore {
 public:
  explicit ElbStore(store::Db& db) : db_(db) {}
  Status Migrate();

  Status Put(const LoadBalancer& lb);
  Status Put(const TargetGroup& tg);
  Status Put(const Listener& listener);
  Status Put(const Rule& rule);
  Status Delete(const std::string& arn);

  Result<std::vector<LoadBalancer>> LoadBalancers();
  Result<std::vector<TargetGroup>> TargetGroups();
  Result<std::vector<Listener>> Listeners();
  Result<std::vector<Rule>> Rules();

 private:
  Status PutDoc(const std::string& arn, const char* kind, int64_t created_ms,
                const std::string& doc);
  Result<std::vector<std::string>> Docs(const char* kind);
  store::Db& db_;
};

}  // namespace berth::elb
