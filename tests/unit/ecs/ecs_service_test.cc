#include "ecs/ecs_service.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "core/asio.h"
#include "fakes/fake_clock.h"
#include "fakes/fake_driver.h"
#include "fakes/sequential_ids.h"

namespace berth::ecs {

using nlohmann::json;

namespace {

using testing::SequentialIds;

json TaskDefinitionRequest(const std::string& family) {
  json doc = json::parse(R"({"containerDefinitions": [
      {"name": "app", "image": "busybox", "command": ["sleep", "60"]},
      {"name": "log", "image": "busybox", "essential": false, "command": ["sleep", "60"]}]})");
  doc["family"] = family;
  doc["memory"] = "512";
  return doc;
}

class EcsServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = std::move(store::Db::Open(":memory:")).value();
    Reopen();
  }
  // A fresh service + agent over the same store: what a server restart does.
  void Reopen() {
    agent_.reset();
    ecs_.reset();
    driver_ = std::make_unique<testing::FakeDriver>();
    ecs_ = std::make_unique<EcsService>(*db_, clock_, ids_, EcsConfig{"us-east-1", "123", "/tmp/berth-ecs-test", {}});
    ASSERT_TRUE(ecs_->Open().ok());
    agent_ = std::make_unique<agent::Agent>(io_, *driver_, *ecs_);
    ecs_->AttachAgent(*agent_);
    io_.poll();
    io_.restart();
  }
  Task Describe(const std::string& arn) {
    auto r = ecs_->DescribeTasks("", {arn});
    EXPECT_TRUE(r.ok());
    return r->first.at(0);
  }
  void Poll() {
    io_.poll();
    io_.restart();
  }

  boost::asio::io_context io_;
  testing::FakeClock clock_;
  SequentialIds ids_;
  std::unique_ptr<store::Db> db_;
  std::unique_ptr<testing::FakeDriver> driver_;
  std::unique_ptr<EcsService> ecs_;
  std::unique_ptr<agent::Agent> agent_;
};

}  // namespace

TEST_F(EcsServiceTest, ClusterLifecycle) {
  auto c = ecs_->CreateCluster("prod", {{"team", "web"}});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->arn, "arn:aws:ecs:us-east-1:123:cluster/prod");
  EXPECT_TRUE(ecs_->CreateCluster("prod", {}).ok());  // idempotent
  auto described = ecs_->DescribeClusters({"prod", "ghost"});
  ASSERT_TRUE(described.ok());
  EXPECT_EQ(described->first.size(), 1u);
  ASSERT_EQ(described->second.size(), 1u);
  EXPECT_EQ(described->second[0].reason, "MISSING");
  EXPECT_EQ(described->second[0].arn, "arn:aws:ecs:us-east-1:123:cluster/ghost");
  EXPECT_EQ(ecs_->CreateCluster("bad name", {}).error().aws_code, "InvalidParameterException");
  ASSERT_TRUE(ecs_->DeleteCluster(c->arn).ok());
  EXPECT_EQ(ecs_->DescribeClusters({"prod"})->first[0].status, "INACTIVE");
  EXPECT_EQ(ecs_->RunTask({"prod", "x"}).error().aws_code, "ClusterNotFoundException");
}

TEST_F(EcsServiceTest, ListClustersPages) {
  for (const char* n : {"a", "b", "c"}) {
    ASSERT_TRUE(ecs_->CreateCluster(n, {}).ok());
  }
  auto p1 = ecs_->ListClusters("", 2);
  ASSERT_TRUE(p1.ok());
  EXPECT_EQ(p1->items.size(), 2u);
  ASSERT_FALSE(p1->next_token.empty());
  auto p2 = ecs_->ListClusters(p1->next_token, 2);
  ASSERT_TRUE(p2.ok());
  EXPECT_EQ(p2->items, std::vector<std::string>{"arn:aws:ecs:us-east-1:123:cluster/c"});
  EXPECT_TRUE(p2->next_token.empty());
  EXPECT_EQ(ecs_->ListClusters("zzz", 2).error().aws_code, "InvalidParameterException");
}

TEST_F(EcsServiceTest, RevisionsAndDeregistration) {
  auto r1 = ecs_->RegisterTaskDefinition(TaskDefinitionRequest("web"), {});
  auto r2 = ecs_->RegisterTaskDefinition(TaskDefinitionRequest("web"), {});
  ASSERT_TRUE(r1.ok() && r2.ok());
  EXPECT_EQ(r2->revision, 2);
  EXPECT_EQ(r2->arn, "arn:aws:ecs:us-east-1:123:task-definition/web:2");
  EXPECT_EQ(ecs_->DescribeTaskDefinition("web")->revision, 2);
  ASSERT_TRUE(ecs_->DeregisterTaskDefinition("web:2").ok());
  EXPECT_EQ(ecs_->DescribeTaskDefinition("web")->revision, 1);  // latest ACTIVE
  EXPECT_EQ(ecs_->DescribeTaskDefinition("web:2")->status, "INACTIVE");
  ASSERT_TRUE(ecs_->CreateCluster("default", {}).ok());
  auto refused = ecs_->RunTask({"", "web:2"});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().aws_code, "ClientException");
  EXPECT_EQ(refused.error().message, "TaskDefinition is inactive");
  auto listed = ecs_->ListTaskDefinitions("web", "", false, "", 100);
  EXPECT_EQ(listed->items, std::vector<std::string>{r1->arn});
  auto inactive = ecs_->ListTaskDefinitions("", "INACTIVE", true, "", 100);
  EXPECT_EQ(inactive->items, std::vector<std::string>{r2->arn});
  EXPECT_EQ(ecs_->ListTaskDefinitionFamilies("w", "", "", 100)->items,
            std::vector<std::string>{"web"});
}

TEST_F(EcsServiceTest, TaskLifecycleFollowsEcsStates) {
  ASSERT_TRUE(ecs_->CreateCluster("default", {}).ok());
  ASSERT_TRUE(ecs_->RegisterTaskDefinition(TaskDefinitionRequest("web"), {}).ok());
  auto run = ecs_->RunTask({"", "web", 2, "me"});
  ASSERT_TRUE(run.ok());
  ASSERT_EQ(run->tasks.size(), 2u);
  EXPECT_EQ(run->tasks[0].last_status, "PROVISIONING");
  const std::string arn = run->tasks[0].arn;
  Poll();
  Task t = Describe(arn);
  EXPECT_EQ(t.last_status, "RUNNING");
  EXPECT_TRUE(t.started_ms.has_value());
  EXPECT_EQ(t.containers[0].last_status, "RUNNING");
  auto counts = ecs_->DescribeClusters({"default"});
  EXPECT_EQ(counts->first[0].running_tasks, 2);
  EXPECT_EQ(ecs_->DeleteCluster("default").error().aws_code, "ClusterContainsTasksException");

  // Only the first task's containers are named "app"/"log" in the fake at the moment they
  // started last; exit them through the fake's per-name map after stopping the second task.
  auto stopped = ecs_->StopTask("", run->tasks[1].arn, "");
  ASSERT_TRUE(stopped.ok());
  EXPECT_EQ(stopped->desired_status, "STOPPED");
  EXPECT_EQ(stopped->stopped_reason, "Task stopped by user");
  driver_->Exit("app", 143);
  driver_->Exit("log", 143);
  Poll();
  Task s = Describe(run->tasks[1].arn);
  EXPECT_EQ(s.last_status, "STOPPED");
  EXPECT_EQ(s.stop_code, "UserInitiated");
  EXPECT_EQ(s.containers[0].exit_code, 143);
  EXPECT_TRUE(s.stopped_ms.has_value());

  auto running = ecs_->ListTasks({"", "", "", "", ""});
  EXPECT_EQ(running->items, std::vector<std::string>{arn});
  ListTasksRequest stopped_req;
  stopped_req.desired_status = "STOPPED";
  EXPECT_EQ(ecs_->ListTasks(stopped_req)->items.size(), 1u);
  ListTasksRequest by_starter;
  by_starter.started_by = "someone-else";
  EXPECT_TRUE(ecs_->ListTasks(by_starter)->items.empty());

  auto missing = ecs_->DescribeTasks("", {"ffff"});
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->second[0].reason, "MISSING");
  EXPECT_EQ(ecs_->StopTask("", "ffff", "").error().aws_code, "InvalidParameterException");
}

TEST_F(EcsServiceTest, EssentialExitStopsTaskWithReason) {
  ASSERT_TRUE(ecs_->CreateCluster("default", {}).ok());
  ASSERT_TRUE(ecs_->RegisterTaskDefinition(TaskDefinitionRequest("web"), {}).ok());
  auto run = ecs_->RunTask({"", "web"});
  Poll();
  driver_->Exit("app", 3);
  Poll();
  driver_->Exit("log", 143);
  Poll();
  Task t = Describe(run->tasks[0].arn);
  EXPECT_EQ(t.last_status, "STOPPED");
  EXPECT_EQ(t.stop_code, "EssentialContainerExited");
  EXPECT_EQ(t.stopped_reason, "Essential container in task exited");
  EXPECT_EQ(t.containers[0].exit_code, 3);
}

TEST_F(EcsServiceTest, OverridesAreValidatedAndApplied) {
  ASSERT_TRUE(ecs_->CreateCluster("default", {}).ok());
  ASSERT_TRUE(ecs_->RegisterTaskDefinition(TaskDefinitionRequest("web"), {}).ok());
  RunTaskRequest bad{"", "web"};
  bad.overrides.container_overrides.push_back({"ghost", {}, {}, {}, {}});
  EXPECT_EQ(ecs_->RunTask(bad).error().aws_code, "InvalidParameterException");
  RunTaskRequest good{"", "web"};
  good.overrides.container_overrides.push_back(
      {"app", std::vector<std::string>{"echo", "hi"}, {{"X", "1"}}, {}, {}});
  ASSERT_TRUE(ecs_->RunTask(good).ok());
  Poll();
  const auto& launch = driver_->containers["app"]->launch;
  EXPECT_EQ(launch.argv, (std::vector<std::string>{"echo", "hi"}));
  EXPECT_NE(std::find(launch.env.begin(), launch.env.end(), "X=1"), launch.env.end());
}

TEST_F(EcsServiceTest, RestartReattachesRunningTasks) {
  ASSERT_TRUE(ecs_->CreateCluster("default", {}).ok());
  ASSERT_TRUE(ecs_->RegisterTaskDefinition(TaskDefinitionRequest("web"), {}).ok());
  auto run = ecs_->RunTask({"", "web"});
  Poll();
  ASSERT_EQ(Describe(run->tasks[0].arn).last_status, "RUNNING");
  Reopen();  // the new fake driver "recovers" both containers as still running
  EXPECT_EQ(agent_->ActiveTaskCount(), 1u);
  driver_->Exit("app", 0);
  Poll();
  driver_->Exit("log", 0);
  Poll();
  Task t = Describe(run->tasks[0].arn);
  EXPECT_EQ(t.last_status, "STOPPED");
  EXPECT_EQ(t.containers[0].exit_code, 0);
}

TEST_F(EcsServiceTest, TagsOnAllResourceKinds) {
  auto c = ecs_->CreateCluster("default", {});
  auto td = ecs_->RegisterTaskDefinition(TaskDefinitionRequest("web"), {});
  auto run = ecs_->RunTask({"", "web"});
  for (const std::string& arn : {c->arn, td->arn, run->tasks[0].arn}) {
    ASSERT_TRUE(ecs_->TagResource(arn, {{"a", "1"}, {"b", "2"}}).ok()) << arn;
    ASSERT_TRUE(ecs_->UntagResource(arn, {"a"}).ok()) << arn;
    auto tags = ecs_->ListTagsForResource(arn);
    ASSERT_TRUE(tags.ok()) << arn;
    ASSERT_EQ(tags->size(), 1u) << arn;
    EXPECT_EQ((*tags)[0].key, "b");
  }
  EXPECT_EQ(ecs_->TagResource("nonsense", {}).error().aws_code, "InvalidParameterException");
}

}  // namespace berth::ecs
