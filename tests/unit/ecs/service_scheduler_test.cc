#include "ecs/service_scheduler.h"

#include <gtest/gtest.h>

#include "core/asio.h"
#include "fakes/fake_clock.h"
#include "fakes/fake_driver.h"
#include "fakes/sequential_ids.h"

namespace berth::ecs {
namespace {

using nlohmann::json;

class RecordingEvents final : public ServiceEventSink {
 public:
  void Record(const std::string&, const std::string&, int64_t, const std::string& m) override {
    messages.push_back(m);
  }
  bool Saw(const std::string& part) const {
    for (const std::string& m : messages) {
      if (m.find(part) != std::string::npos) {
        return true;
      }
    }
    return false;
  }
  std::vector<std::string> messages;
};

constexpr const char* kTasksDir = "/tmp/berth-scheduler-test";

class ServiceSchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = std::move(store::Db::Open(":memory:")).value();
    driver_ = std::make_unique<testing::FakeDriver>();
    ecs_ = std::make_unique<EcsService>(*db_, clock_, ids_, EcsConfig{"us-east-1", "123", kTasksDir, {}});
    ASSERT_TRUE(ecs_->Open().ok());
    agent_ = std::make_unique<agent::Agent>(io_, *driver_, *ecs_);
    ecs_->AttachAgent(*agent_);
    ASSERT_TRUE(ecs_->CreateCluster("default", {}).ok());
    Reopen();
  }
  // A new scheduler over the same store: what a server restart does to it.
  void Reopen() {
    scheduler_ = std::make_unique<ServiceScheduler>(*ecs_, *db_, clock_, ids_, nullptr, &events_);
    ASSERT_TRUE(scheduler_->Open().ok());
  }
  std::string Register(const std::string& family) {
    json doc = json::parse(R"({"containerDefinitions": [
        {"name": "app", "image": "busybox", "command": ["serve"]}], "memory": "128"})");
    doc["family"] = family;
    auto td = ecs_->RegisterTaskDefinition(doc, {});
    EXPECT_TRUE(td.ok());
    return td->arn;
  }
  // Scheduler passes with the agent's work in between, `n` times.
  void Run(int n = 1) {
    for (int i = 0; i < n; ++i) {
      scheduler_->Reconcile();
      io_.poll();
      io_.restart();
      clock_.Advance(250);
    }
  }
  Service Get(const std::string& name) {
    auto d = scheduler_->DescribeServices("default", {name});
    EXPECT_TRUE(d.ok());
    return d->first.at(0).service;
  }
  std::vector<Task> Live(const std::string& name) {
    std::vector<Task> out;
    for (const ServiceTask& t : Get(name).tasks) {
      auto task = ecs_->PeekTask(t.task_id);
      if (task.ok() && *task && !(*task)->IsStopped()) {
        out.push_back(**task);
      }
    }
    return out;
  }

  boost::asio::io_context io_;
  std::unique_ptr<store::Db> db_;
  testing::FakeClock clock_;
  testing::SequentialIds ids_;
  std::unique_ptr<testing::FakeDriver> driver_;
  std::unique_ptr<EcsService> ecs_;
  std::unique_ptr<agent::Agent> agent_;
  RecordingEvents events_;
  std::unique_ptr<ServiceScheduler> scheduler_;
};

TEST_F(ServiceSchedulerTest, CreateStartsDesiredTasksAndReachesSteadyState) {
  std::string td = Register("web");
  CreateServiceRequest req;
  req.service_name = "web";
  req.task_definition = "web";
  req.desired_count = 3;
  auto created = scheduler_->CreateService(req);
  ASSERT_TRUE(created.ok()) << created.error().message;
  EXPECT_EQ(created->service.deployments.at(0).rollout_state, "IN_PROGRESS");
  Run(3);
  Service s = Get("web");
  ASSERT_EQ(Live("web").size(), 3u);
  for (const Task& t : Live("web")) {
    EXPECT_EQ(t.started_by, s.deployments[0].id);
    EXPECT_EQ(t.group, "service:web");
    EXPECT_EQ(t.task_definition_arn, td);
  }
  EXPECT_EQ(s.deployments.at(0).rollout_state, "COMPLETED");
  EXPECT_TRUE(events_.Saw("(service web) has reached a steady state."));
  EXPECT_EQ(scheduler_->CreateService(req).error().aws_code, "InvalidParameterException");
  EXPECT_EQ(ecs_->DeleteCluster("default").error().aws_code, "ClusterContainsServicesException");
}

TEST_F(ServiceSchedulerTest, RollingUpdateStaysWithinMinimumAndMaximum) {
  Register("web");
  std::string v2 = Register("web");
  CreateServiceRequest req;
  req.service_name = "web";
  req.task_definition = "web:1";
  req.desired_count = 4;
  req.deployment_configuration = DeploymentConfiguration{100, 50, false, false};
  ASSERT_TRUE(scheduler_->CreateService(req).ok());
  Run(3);
  ASSERT_EQ(Live("web").size(), 4u);
  UpdateServiceRequest up;
  up.service = "web";
  up.task_definition = "web:2";
  ASSERT_TRUE(scheduler_->UpdateService(up).ok());
  size_t most = 0;
  for (int i = 0; i < 20; ++i) {
    Run();
    // maximumPercent 100: never more than 4 tasks; minimumHealthyPercent 50: never below 2.
    size_t live = Live("web").size();
    most = std::max(most, live);
    EXPECT_GE(live, 2u);
    // Old tasks got SIGTERM: let them exit.
    for (auto& [dir, c] : driver_->by_dir) {
      if (!c->exited && !c->signals.empty()) {
        driver_->ExitDir(dir, 143);
      }
    }
  }
  EXPECT_LE(most, 4u);
  Service s = Get("web");
  ASSERT_EQ(s.deployments.size(), 1u);
  EXPECT_EQ(s.deployments[0].rollout_state, "COMPLETED");
  auto live = Live("web");
  ASSERT_EQ(live.size(), 4u);
  for (const Task& t : live) {
    EXPECT_EQ(t.task_definition_arn, v2);
  }
}

TEST_F(ServiceSchedulerTest, CircuitBreakerFailsAndRollsBackToTheKeptDeployment) {
  Register("web");
  Register("web");
  CreateServiceRequest req;
  req.service_name = "web";
  req.task_definition = "web:1";
  req.desired_count = 2;
  req.deployment_configuration = DeploymentConfiguration{200, 100, true, true};
  ASSERT_TRUE(scheduler_->CreateService(req).ok());
  Run(3);
  std::set<std::string> v1_tasks;
  for (const Task& t : Live("web")) {
    v1_tasks.insert(t.id);
  }
  ASSERT_EQ(v1_tasks.size(), 2u);
  UpdateServiceRequest up;
  up.service = "web";
  up.task_definition = "web:2";
  ASSERT_TRUE(scheduler_->UpdateService(up).ok());
  for (int i = 0; i < 40 && !events_.Saw("rolling back"); ++i) {
    Run();
    for (auto& [dir, c] : driver_->by_dir) {  // every new (revision 2) container crashes
      std::string task_id = dir.substr(std::string(kTasksDir).size() + 1, 32);
      if (!c->exited && !v1_tasks.count(task_id)) {
        driver_->ExitDir(dir, 3);
      }
    }
    clock_.Advance(5000);  // past any back-off
  }
  EXPECT_TRUE(events_.Saw("deployment failed: tasks failed to start."));
  ASSERT_TRUE(events_.Saw("rolling back to deployment"));
  Run(4);
  Service s = Get("web");
  ASSERT_EQ(s.deployments.size(), 1u);
  EXPECT_EQ(s.deployments[0].task_definition_arn, "arn:aws:ecs:us-east-1:123:task-definition/web:1");
  EXPECT_EQ(s.task_definition_arn, "arn:aws:ecs:us-east-1:123:task-definition/web:1");
  std::set<std::string> now;
  for (const Task& t : Live("web")) {
    now.insert(t.id);
  }
  EXPECT_EQ(now, v1_tasks);  // the healthy tasks were never replaced
}

TEST_F(ServiceSchedulerTest, ExitedTaskIsReplacedAndStateSurvivesRestart) {
  Register("web");
  CreateServiceRequest req;
  req.service_name = "web";
  req.task_definition = "web";
  req.desired_count = 2;
  ASSERT_TRUE(scheduler_->CreateService(req).ok());
  Run(3);
  auto live = Live("web");
  ASSERT_EQ(live.size(), 2u);
  Reopen();  // a restart: the tracked tasks come back from the store
  driver_->ExitDir(std::string(kTasksDir) + "/" + live[0].id + "/app", 137);
  io_.poll();
  io_.restart();
  Run(3);
  auto after = Live("web");
  ASSERT_EQ(after.size(), 2u);
  EXPECT_TRUE(after[0].id == live[1].id || after[1].id == live[1].id);
  EXPECT_EQ(Get("web").tasks.size(), 2u);  // the dead task is no longer tracked
  // Scale to zero and delete: DRAINING, then INACTIVE once the tasks are gone.
  auto deleted = scheduler_->DeleteService("default", "web", false);
  EXPECT_EQ(deleted.error().aws_code, "InvalidParameterException");
  ASSERT_TRUE(scheduler_->DeleteService("default", "web", true).ok());
  for (int i = 0; i < 5; ++i) {
    Run();
    for (auto& [dir, c] : driver_->by_dir) {
      if (!c->exited && !c->signals.empty()) {
        driver_->ExitDir(dir, 143);
      }
    }
  }
  Run(2);
  EXPECT_EQ(Get("web").status, "INACTIVE");
  EXPECT_EQ(scheduler_->ActiveServices("arn:aws:ecs:us-east-1:123:cluster/default"), 0);
}

}  // namespace
}  // namespace berth::ecs
