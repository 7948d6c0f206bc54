#include "elb/elb_service.h"

#include <gtest/gtest.h>

#include "fakes/fake_clock.h"
#include "fakes/sequential_ids.h"

namespace berth::elb {
namespace {

class FakeDataPlane final : public DataPlane {
 public:
  Result<uint16_t> OpenListener(const std::string& id, const std::string& address, uint16_t port,
                                const TlsMaterial*) override {
    if (port == busy_port) {
      return MakeError(ErrorKind::InvalidArgument, "ValidationError", "address already in use");
    }
    open[id] = address + ":" + std::to_string(port);
    return port;
  }
  void CloseListener(const std::string& id) override { open.erase(id); }
  void Publish(std::shared_ptr<const RoutingTable> t) override { table = std::move(t); }
  void CloseConnectionsTo(const std::shared_ptr<Backend>& b) override { severed.push_back(b); }

  const TargetGroupRoute* Group(const std::string& listener, size_t rule = 0) const {
    const ListenerRoute* l = table->Find(listener);
    return l == nullptr ? nullptr : l->rules.at(rule).action.forward.at(0).group.get();
  }

  std::map<std::string, std::string> open;
  std::shared_ptr<const RoutingTable> table;
  std::vector<std::shared_ptr<Backend>> severed;
  uint16_t busy_port = 0;
};

// Answers probes when the test says so.
class FakeProber final : public HealthProber {
 public:
  void Probe(const ProbeRequest& request, std::function<void(ProbeResult)> done) override {
    pending.push_back({request, std::move(done)});
  }
  // Completes every pending probe with `result`; returns how many there were.
  size_t AnswerAll(ProbeResult result) {
    auto now = std::move(pending);
    pending.clear();
    for (auto& [req, done] : now) {
      done(result);
    }
    return now.size();
  }
  std::vector<std::pair<ProbeRequest, std::function<void(ProbeResult)>>> pending;
};

class ElbServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = std::move(store::Db::Open(":memory:")).value();
    Reopen();
  }
  void Reopen() {
    svc_.reset();
    ElbConfig config;
    config.account_id = "123456789012";
    config.port_map = {{80, 8080}};
    svc_ = std::make_unique<ElbService>(*db_, clock_, ids_, config, plane_, prober_);
    ASSERT_TRUE(svc_->Open().ok());
  }
  LoadBalancer MakeLb(const std::string& name = "web") {
    LoadBalancer draft;
    draft.name = name;
    auto lb = svc_->CreateLoadBalancer(draft, {"subnet-1", "subnet-2"});
    EXPECT_TRUE(lb.ok()) << lb.error().message;
    return *lb;
  }
  TargetGroup MakeTg(const std::string& name = "app") {
    TargetGroup draft;
    draft.name = name;
    draft.port = 8000;
    draft.vpc_id = "vpc-1";
    draft.target_type = "ip";
    draft.health_check.interval_seconds = 5;
    draft.health_check.timeout_seconds = 2;
    draft.health_check.healthy_threshold = 2;
    draft.health_check.unhealthy_threshold = 2;
    auto tg = svc_->CreateTargetGroup(draft);
    EXPECT_TRUE(tg.ok()) << tg.error().message;
    return *tg;
  }
  static RuleAction Forward(const std::string& tg_arn) {
    RuleAction a;
    a.type = "forward";
    a.target_group_arn = tg_arn;
    return a;
  }
  Listener MakeListener(const LoadBalancer& lb, const TargetGroup& tg, int port = 80) {
    Listener draft;
    draft.load_balancer_arn = lb.arn;
    draft.port = port;
    draft.default_actions = {Forward(tg.arn)};
    auto l = svc_->CreateListener(draft);
    EXPECT_TRUE(l.ok()) << l.error().message;
    return *l;
  }
  std::string MakeListenerError(const LoadBalancer& lb, const TargetGroup& tg) {
    Listener draft;
    draft.load_balancer_arn = lb.arn;
    draft.port = 80;
    draft.default_actions = {Forward(tg.arn)};
    auto l = svc_->CreateListener(draft);
    return l.ok() ? "" : l.error().aws_code;
  }
  std::string StateOf(const std::string& tg, const std::string& ip, int port) {
    auto d = svc_->DescribeTargetHealth(tg, {{ip, port, ""}});
    EXPECT_TRUE(d.ok());
    return d->at(0).state;
  }

  std::unique_ptr<store::Db> db_;
  testing::FakeClock clock_;
  testing::SequentialIds ids_;
  FakeDataPlane plane_;
  FakeProber prober_;
  std::unique_ptr<ElbService> svc_;
};

TEST_F(ElbServiceTest, LoadBalancerArnDnsNameAndIdempotentCreate) {
  LoadBalancer lb = MakeLb("web");
  EXPECT_EQ(lb.arn, "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/" +
                        lb.id);
  EXPECT_TRUE(lb.dns_name.starts_with("web-"));
  EXPECT_TRUE(lb.dns_name.ends_with(".us-east-1.elb.localhost"));
  ASSERT_EQ(lb.zones.size(), 2u);
  EXPECT_EQ(lb.zones[1].zone_name, "us-east-1b");
  EXPECT_EQ(MakeLb("web").arn, lb.arn);
  LoadBalancer internal;
  internal.name = "web";
  internal.scheme = "internal";
  EXPECT_EQ(svc_->CreateLoadBalancer(internal, {}).error().aws_code, "DuplicateLoadBalancerName");
  for (const char* bad : {"-web", "we_b", "internal-x", "a-very-long-name-that-is-over-32-chars"}) {
    LoadBalancer d;
    d.name = bad;
    EXPECT_EQ(svc_->CreateLoadBalancer(d, {}).error().aws_code, "ValidationError") << bad;
  }
  EXPECT_EQ(svc_->DescribeLoadBalancers({"arn:nope"}, {}).error().aws_code, "LoadBalancerNotFound");
}

TEST_F(ElbServiceTest, ListenerBindsMappedPortAndSurvivesRestart) {
  LoadBalancer lb = MakeLb();
  TargetGroup tg = MakeTg();
  Listener l = MakeListener(lb, tg, 80);
  EXPECT_EQ(l.bound_port, 8080);
  EXPECT_EQ(plane_.open.at(l.arn), "127.0.0.1:8080");
  auto tags = svc_->DescribeTags({l.arn});
  ASSERT_TRUE(tags.ok());
  EXPECT_EQ(tags->at(0).second,
            (Tags{{"berth:address", "127.0.0.1:8080"}}));  // where users find the real port
  EXPECT_EQ(MakeListenerError(lb, tg), "DuplicateListener");
  plane_.open.clear();
  Reopen();
  EXPECT_EQ(plane_.open.at(l.arn), "127.0.0.1:8080");
  auto listeners = svc_->DescribeListeners(lb.arn, {});
  ASSERT_TRUE(listeners.ok());
  ASSERT_EQ(listeners->size(), 1u);
  auto rules = svc_->DescribeRules(l.arn, {});
  ASSERT_EQ(rules->size(), 1u);
  EXPECT_TRUE(rules->at(0).is_default);
  EXPECT_EQ(svc_->DescribeTargetGroups(lb.arn, {}, {})->size(), 1u);
}

TEST_F(ElbServiceTest, BindFailureIsReportedAndNothingIsStored) {
  LoadBalancer lb = MakeLb();
  TargetGroup tg = MakeTg();
  plane_.busy_port = 9000;
  Listener draft;
  draft.load_balancer_arn = lb.arn;
  draft.port = 9000;
  draft.default_actions = {Forward(tg.arn)};
  EXPECT_FALSE(svc_->CreateListener(draft).ok());
  EXPECT_TRUE(svc_->DescribeListeners(lb.arn, {})->empty());
}

TEST_F(ElbServiceTest, TargetsGoHealthyThenRoutableThenUnhealthy) {
  LoadBalancer lb = MakeLb();
  TargetGroup tg = MakeTg();
  ASSERT_TRUE(svc_->RegisterTargets(tg.arn, {{"127.0.0.1", 9001, ""}}).ok());
  // Not used by any listener yet: unused, and no probes.
  EXPECT_EQ(StateOf(tg.arn, "127.0.0.1", 9001), "unused");
  svc_->Tick();
  EXPECT_TRUE(prober_.pending.empty());
  Listener l = MakeListener(lb, tg);
  EXPECT_EQ(StateOf(tg.arn, "127.0.0.1", 9001), "initial");
  svc_->Tick();
  ASSERT_EQ(prober_.pending.size(), 1u);
  EXPECT_EQ(prober_.pending[0].first.port, 9001);
  EXPECT_EQ(prober_.pending[0].first.path, "/");
  prober_.AnswerAll({ProbeResult::Kind::Passed, 200});
  svc_->Tick();
  EXPECT_TRUE(prober_.pending.empty());  // the next probe waits for the interval
  clock_.Advance(5000);
  svc_->Tick();
  prober_.AnswerAll({ProbeResult::Kind::Passed, 200});
  EXPECT_EQ(StateOf(tg.arn, "127.0.0.1", 9001), "healthy");
  ASSERT_EQ(plane_.Group(l.arn)->routable.size(), 1u);
  EXPECT_EQ(plane_.Group(l.arn)->routable[0]->port, 9001);
  for (int i = 0; i < 2; ++i) {
    clock_.Advance(5000);
    svc_->Tick();
    prober_.AnswerAll({ProbeResult::Kind::CodeMismatch, 500});
  }
  auto d = svc_->DescribeTargetHealth(tg.arn, {});
  EXPECT_EQ(d->at(0).state, "unhealthy");
  EXPECT_EQ(d->at(0).reason, "Target.ResponseCodeMismatch");
  EXPECT_TRUE(plane_.Group(l.arn)->routable.empty());
}

TEST_F(ElbServiceTest, DeregistrationDrainsUntilIdleOrDeadline) {
  LoadBalancer lb = MakeLb();
  TargetGroup tg = MakeTg();
  ASSERT_TRUE(svc_->ModifyTargetGroupAttributes(tg.arn, {{"deregistration_delay.timeout_seconds", "10"}}).ok());
  Listener l = MakeListener(lb, tg);
  ASSERT_TRUE(svc_->RegisterTargets(tg.arn, {{"127.0.0.1", 9001, ""}, {"127.0.0.1", 9002, ""}}).ok());
  for (int i = 0; i < 2; ++i) {
    svc_->Tick();
    prober_.AnswerAll({ProbeResult::Kind::Passed, 200});
    clock_.Advance(5000);
  }
  ASSERT_EQ(plane_.Group(l.arn)->routable.size(), 2u);
  std::shared_ptr<Backend> busy = plane_.Group(l.arn)->routable[0];
  std::shared_ptr<Backend> idle = plane_.Group(l.arn)->routable[1];
  busy->in_flight = 1;
  ASSERT_TRUE(svc_->DeregisterTargets(tg.arn, {{"127.0.0.1", busy->port, ""}, {"127.0.0.1", idle->port, ""}}).ok());
  EXPECT_TRUE(plane_.Group(l.arn)->routable.empty());  // no new requests at once
  EXPECT_EQ(StateOf(tg.arn, "127.0.0.1", busy->port), "draining");
  svc_->Tick();  // the idle one finishes at once, the busy one keeps draining
  EXPECT_EQ(StateOf(tg.arn, "127.0.0.1", idle->port), "unused");
  EXPECT_EQ(StateOf(tg.arn, "127.0.0.1", busy->port), "draining");
  clock_.Advance(10'000);
  svc_->Tick();
  EXPECT_EQ(StateOf(tg.arn, "127.0.0.1", busy->port), "unused");
  ASSERT_EQ(plane_.severed.size(), 1u);
  EXPECT_EQ(plane_.severed[0], busy);
  EXPECT_EQ(svc_->DeregisterTargets(tg.arn, {{"127.0.0.1", 9001, ""}}).error().aws_code, "InvalidTarget");
}

TEST_F(ElbServiceTest, RulesOrderPrioritiesAndConflicts) {
  LoadBalancer lb = MakeLb();
  TargetGroup a = MakeTg("alice");
  TargetGroup b = MakeTg("bob");
  Listener l = MakeListener(lb, a);
  auto rule = [&](int priority, const std::string& host, const std::string& tg) {
    Rule r;
    r.listener_arn = l.arn;
    r.priority = priority;
    r.conditions = {{"host-header", {host}, "", {}, false}};
    r.actions = {Forward(tg)};
    return svc_->CreateRule(r);
  };
  auto r20 = rule(20, "bob-app.example.com", b.arn);
  ASSERT_TRUE(r20.ok());
  auto r10 = rule(10, "alice-app.example.com", a.arn);
  ASSERT_TRUE(r10.ok());
  EXPECT_EQ(rule(10, "x", a.arn).error().aws_code, "PriorityInUse");
  EXPECT_EQ(rule(0, "x", a.arn).error().aws_code, "ValidationError");
  const ListenerRoute* route = plane_.table->Find(l.arn);
  ASSERT_EQ(route->rules.size(), 3u);
  EXPECT_EQ(route->rules[0].priority, 10);
  EXPECT_EQ(route->rules[0].conditions[0].values[0], "alice-app.example.com");
  EXPECT_TRUE(route->rules[2].conditions.empty());  // the default rule last
  auto swapped = svc_->SetRulePriorities({{r10->arn, 20}, {r20->arn, 10}});
  ASSERT_TRUE(swapped.ok()) << swapped.error().message;
  EXPECT_EQ(plane_.table->Find(l.arn)->rules[0].conditions[0].values[0], "bob-app.example.com");
  EXPECT_EQ(svc_->SetRulePriorities({{r10->arn, 10}}).error().aws_code, "PriorityInUse");
  EXPECT_TRUE(svc_->SetRulePriorities({{r10->arn, 30}}).ok());
  EXPECT_EQ(svc_->SetRulePriorities({{r10->arn, 10}, {r20->arn, 10}}).error().aws_code, "PriorityInUse");
  auto rules = svc_->DescribeRules(l.arn, {});
  EXPECT_EQ(svc_->DeleteRule(rules->back().arn).error().aws_code, "OperationNotPermitted");
  EXPECT_EQ(svc_->DeleteTargetGroup(b.arn).error().aws_code, "ResourceInUse");
  ASSERT_TRUE(svc_->DeleteRule(r20->arn).ok());
  EXPECT_TRUE(svc_->DeleteTargetGroup(b.arn).ok());
}

TEST_F(ElbServiceTest, ActionValidation) {
  LoadBalancer lb = MakeLb();
  TargetGroup tg = MakeTg();
  Listener draft;
  draft.load_balancer_arn = lb.arn;
  draft.port = 81;
  draft.default_actions = {Forward("arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/x/1")};
  EXPECT_EQ(svc_->CreateListener(draft).error().aws_code, "TargetGroupNotFound");
  RuleAction fixed;
  fixed.type = "fixed-response";
  fixed.fixed_status_code = "302";
  draft.default_actions = {fixed};
  EXPECT_EQ(svc_->CreateListener(draft).error().aws_code, "ValidationError");
  draft.default_actions[0].fixed_status_code = "404";
  draft.default_actions[0].fixed_content_type = "text/plain";
  draft.default_actions[0].fixed_body = "nothing here";
  auto l = svc_->CreateListener(draft);
  ASSERT_TRUE(l.ok());
  const Action& a = plane_.table->Find(l->arn)->rules[0].action;
  EXPECT_EQ(a.kind, ActionKind::FixedResponse);
  EXPECT_EQ(a.status_code, 404);
  EXPECT_EQ(a.body, "nothing here");
}

TEST_F(ElbServiceTest, AttributesValidateAndReachTheRoutes) {
  LoadBalancer lb = MakeLb();
  TargetGroup tg = MakeTg();
  Listener l = MakeListener(lb, tg);
  EXPECT_EQ(svc_->ModifyLoadBalancerAttributes(lb.arn, {{"idle_timeout.timeout_seconds", "0"}}).error().aws_code,
            "ValidationError");
  EXPECT_EQ(svc_->ModifyLoadBalancerAttributes(lb.arn, {{"no.such.key", "1"}}).error().aws_code,
            "ValidationError");
  ASSERT_TRUE(svc_->ModifyLoadBalancerAttributes(lb.arn, {{"idle_timeout.timeout_seconds", "5"}}).ok());
  EXPECT_EQ(plane_.table->Find(l.arn)->idle_timeout_seconds, 5u);
  ASSERT_TRUE(svc_->ModifyTargetGroupAttributes(
                      tg.arn, {{"stickiness.enabled", "true"},
                               {"load_balancing.algorithm.type", "least_outstanding_requests"}})
                  .ok());
  EXPECT_TRUE(plane_.Group(l.arn)->stickiness);
  EXPECT_EQ(plane_.Group(l.arn)->algorithm, Algorithm::LeastOutstandingRequests);
  ASSERT_TRUE(svc_->ModifyLoadBalancerAttributes(lb.arn, {{"deletion_protection.enabled", "true"}}).ok());
  EXPECT_EQ(svc_->DeleteLoadBalancer(lb.arn).error().aws_code, "OperationNotPermitted");
  ASSERT_TRUE(svc_->ModifyLoadBalancerAttributes(lb.arn, {{"deletion_protection.enabled", "false"}}).ok());
  ASSERT_TRUE(svc_->DeleteLoadBalancer(lb.arn).ok());
  EXPECT_TRUE(plane_.open.empty());
  EXPECT_TRUE(plane_.table->listeners.empty());
}

TEST_F(ElbServiceTest, TagsOnEveryKind) {
  LoadBalancer lb = MakeLb();
  TargetGroup tg = MakeTg();
  ASSERT_TRUE(svc_->AddTags({lb.arn, tg.arn}, {{"team", "web"}, {"env", "dev"}}).ok());
  ASSERT_TRUE(svc_->RemoveTags({tg.arn}, {"env"}).ok());
  Reopen();
  auto tags = svc_->DescribeTags({lb.arn, tg.arn});
  ASSERT_TRUE(tags.ok());
  EXPECT_EQ(tags->at(0).second.size(), 2u);
  ASSERT_EQ(tags->at(1).second.size(), 1u);
  EXPECT_EQ(tags->at(1).second[0].first, "team");
  EXPECT_EQ(svc_->AddTags({lb.arn}, {{"a", "1"}, {"a", "2"}}).error().aws_code, "DuplicateTagKeys");
  EXPECT_EQ(svc_->DescribeTags({tg.arn + "x"}).error().aws_code, "TargetGroupNotFound");
}

TEST_F(ElbServiceTest, TagCallsNameTheMissingKindAndChangeNothingWhenOneArnIsUnknown) {
  LoadBalancer lb = MakeLb();
  TargetGroup tg = MakeTg();
  ASSERT_TRUE(svc_->AddTags({lb.arn}, {{"team", "web"}}).ok());
  EXPECT_EQ(svc_->RemoveTags({tg.arn + "x"}, {"team"}).error().aws_code, "TargetGroupNotFound");
  EXPECT_EQ(svc_->AddTags({lb.arn, tg.arn + "x"}, {{"env", "dev"}}).error().aws_code,
            "TargetGroupNotFound");
  EXPECT_EQ(svc_->RemoveTags({lb.arn, tg.arn + "x"}, {"team"}).error().aws_code,
            "TargetGroupNotFound");
  auto tags = svc_->DescribeTags({lb.arn});
  ASSERT_TRUE(tags.ok());
  ASSERT_EQ(tags->at(0).second.size(), 1u);  // neither the env tag added nor team removed
  EXPECT_EQ(tags->at(0).second[0].first, "team");
}

}  // namespace
}  // namespace berth::elb
