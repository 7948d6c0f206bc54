#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>

#include "agent/agent.h"
#include "agent/drivers/process/process_driver.h"
#include "core/asio.h"
#include "fakes/fake_driver.h"

namespace berth::agent {

namespace {

struct RecordingSink final : TaskStatusSink {
  std::vector<std::string> events;
  std::map<std::string, std::optional<int>> exit_codes;
  std::string stop_reason;
  StopCode stop_code = StopCode::UserInitiated;
  bool stopped = false;
  void OnContainerStarted(const std::string&, const std::string& c, const std::string&,
                          const std::vector<PortBinding>&) override {
    events.push_back("started " + c);
  }
  void OnContainerExited(const std::string&, const std::string& c, std::optional<int> code,
                         const std::string&) override {
    events.push_back("exited " + c);
    exit_codes[c] = code;
  }
  void OnContainerHealth(const std::string&, const std::string& c, ContainerHealth h) override {
    events.push_back(std::string("health ") + c + (h == ContainerHealth::Healthy ? " HEALTHY"
                                                                                  : " UNHEALTHY"));
  }
  void OnTaskRunning(const std::string&) override { events.push_back("running"); }
  void OnTaskStopping(const std::string&, StopCode code, const std::string& reason) override {
    events.push_back("stopping");
    stop_code = code;
    stop_reason = reason;
  }
  void OnTaskStopped(const std::string&) override {
    events.push_back("stopped");
    stopped = true;
  }
};

ContainerSpec Container(std::string name, bool essential = true) {
  ContainerSpec c;
  c.name = std::move(name);
  c.argv = {"true"};
  c.essential = essential;
  return c;
}

}  // namespace

TEST(TaskRunner, StartsInDependsOnOrderAndWaitsForCompletion) {
  boost::asio::io_context io;
  testing::FakeDriver driver;
  RecordingSink sink;
  Agent agent(io, driver, sink);
  TaskSpec spec{"t1", "/tmp/berth-test/t1", {}};
  ContainerSpec app = Container("app");
  app.depends_on = {{"migrate", DependencyCondition::Success}};
  spec.containers = {app, Container("migrate", false)};
  agent.RunTask(spec);
  io.poll();
  EXPECT_EQ(driver.started_order, std::vector<std::string>{"migrate"});
  driver.Exit("migrate", 0);
  io.poll();
  EXPECT_EQ(driver.started_order, (std::vector<std::string>{"migrate", "app"}));
  EXPECT_EQ(sink.events.back(), "running");
}

TEST(TaskRunner, FailedSuccessDependencyStopsTheTask) {
  boost::asio::io_context io;
  testing::FakeDriver driver;
  RecordingSink sink;
  Agent agent(io, driver, sink);
  ContainerSpec app = Container("app");
  app.depends_on = {{"migrate", DependencyCondition::Success}};
  agent.RunTask({"t1", "/tmp/berth-test/t1", {app, Container("migrate", false)}});
  io.poll();
  driver.Exit("migrate", 1);
  io.poll();
  EXPECT_TRUE(sink.stopped);
  EXPECT_EQ(sink.stop_code, StopCode::TaskFailedToStart);
  EXPECT_NE(sink.stop_reason.find("did not meet condition SUCCESS"), std::string::npos);
  EXPECT_EQ(agent.ActiveTaskCount(), 0u);
}

TEST(TaskRunner, EssentialExitStopsOthersNonEssentialDoesNot) {
  boost::asio::io_context io;
  testing::FakeDriver driver;
  RecordingSink sink;
  Agent agent(io, driver, sink);
  agent.RunTask({"t1", "/tmp/berth-test/t1",
                 {Container("app"), Container("sidecar", false), Container("worker")}});
  io.poll();
  driver.Exit("sidecar", 0);
  io.poll();
  EXPECT_FALSE(sink.stopped);
  EXPECT_TRUE(driver.containers["app"]->signals.empty());
  driver.Exit("worker", 2);
  io.poll();
  EXPECT_EQ(sink.stop_reason, "Essential container in task exited");
  EXPECT_EQ(driver.containers["app"]->signals, std::vector<int>{SIGTERM});
  EXPECT_FALSE(sink.stopped);  // app has not exited yet
  driver.Exit("app", 143);
  io.poll();
  EXPECT_TRUE(sink.stopped);
  EXPECT_EQ(sink.exit_codes["worker"], 2);
}

TEST(TaskRunner, StartFailureOfEssentialContainerFailsTask) {
  boost::asio::io_context io;
  testing::FakeDriver driver;
  driver.fail_start["app"] = "exec: \"nope\": not found";
  RecordingSink sink;
  Agent agent(io, driver, sink);
  agent.RunTask({"t1", "/tmp/berth-test/t1", {Container("app")}});
  io.poll();
  EXPECT_TRUE(sink.stopped);
  EXPECT_EQ(sink.stop_code, StopCode::TaskFailedToStart);
  EXPECT_NE(sink.stop_reason.find("CannotStartContainerError"), std::string::npos);
}

TEST(TaskRunner, StopSendsTermThenKillAfterStopTimeout) {
  boost::asio::io_context io;
  testing::FakeDriver driver;
  RecordingSink sink;
  Agent agent(io, driver, sink);
  ContainerSpec app = Container("app");
  app.stop_timeout_seconds = 0;
  agent.RunTask({"t1", "/tmp/berth-test/t1", {app}});
  io.poll();
  agent.StopTask("t1", StopCode::UserInitiated, "bye");
  io.restart();
  io.run_for(std::chrono::milliseconds(50));
  EXPECT_EQ(driver.containers["app"]->signals, (std::vector<int>{SIGTERM, SIGKILL}));
  driver.Exit("app", 137);
  io.poll();
  EXPECT_TRUE(sink.stopped);
}

// The real process driver and berth-shim: exit codes, signals and adoption after a "restart"
// (a new driver instance recovering from the persisted state).
class ProcessDriverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("berth-pd-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Runs the loop until `done` or `limit` passes.
  template <typename Pred>
  bool RunUntil(boost::asio::io_context& io, Pred done,
                std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      io.run_for(std::chrono::milliseconds(10));
      io.restart();
    }
    return done();
  }

  std::filesystem::path dir_;
};

TEST_F(ProcessDriverTest, ReportsExitCodeAndOutput) {
  boost::asio::io_context io;
  auto driver = MakeProcessDriver(io, BERTH_SHIM_PATH);
  RecordingSink sink;
  Agent agent(io, *driver, sink);
  ContainerSpec c = Container("app");
  c.argv = {"/bin/sh", "-c", "echo hello $GREETING; exit 3"};
  c.environment = {{"GREETING", "world"}, {"PATH", "/usr/bin:/bin"}};
  agent.RunTask({"t1", dir_.string(), {c}});
  ASSERT_TRUE(RunUntil(io, [&] { return sink.stopped; }));
  EXPECT_EQ(sink.exit_codes["app"], 3);
  std::ifstream out(dir_ / "app" / "stdout");
  std::string line;
  std::getline(out, line);
  EXPECT_EQ(line, "hello world");
}

TEST_F(ProcessDriverTest, MissingExecutableIsCannotStartContainerError) {
  boost::asio::io_context io;
  auto driver = MakeProcessDriver(io, BERTH_SHIM_PATH);
  RecordingSink sink;
  Agent agent(io, *driver, sink);
  ContainerSpec c = Container("app");
  c.argv = {"/nonexistent/berth-binary"};
  agent.RunTask({"t1", dir_.string(), {c}});
  ASSERT_TRUE(RunUntil(io, [&] { return sink.stopped; }));
  EXPECT_EQ(sink.stop_code, StopCode::TaskFailedToStart);
  EXPECT_NE(sink.stop_reason.find("CannotStartContainerError"), std::string::npos);
}

TEST_F(ProcessDriverTest, StopEscalatesToKillForTermIgnoringContainer) {
  boost::asio::io_context io;
  auto driver = MakeProcessDriver(io, BERTH_SHIM_PATH);
  RecordingSink sink;
  Agent agent(io, *driver, sink);
  ContainerSpec c = Container("app");
  c.argv = {"/bin/sh", "-c", "trap '' TERM; while :; do sleep 0.05; done"};
  c.stop_timeout_seconds = 1;
  agent.RunTask({"t1", dir_.string(), {c}});
  ASSERT_TRUE(RunUntil(io, [&] { return !sink.events.empty() && sink.events.back() == "running"; }));
  auto t0 = std::chrono::steady_clock::now();
  agent.StopTask("t1", StopCode::UserInitiated, "test");
  ASSERT_TRUE(RunUntil(io, [&] { return sink.stopped; }));
  EXPECT_EQ(sink.exit_codes["app"], 137);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(900));
}

TEST_F(ProcessDriverTest, RecoversRunningContainerAfterDriverRestart) {
  std::string state;
  {
    boost::asio::io_context io;
    auto driver = MakeProcessDriver(io, BERTH_SHIM_PATH);
    bool started = false;
    std::unique_ptr<ContainerHandle> handle;
    std::filesystem::create_directories(dir_ / "app");
    driver->Start({(dir_ / "app").string(), {"/bin/sh", "-c", "sleep 0.5; exit 7"}, {"PATH=/bin:/usr/bin"}, ""},
                  [&](Result<std::unique_ptr<ContainerHandle>> r) {
                    ASSERT_TRUE(r.ok());
                    handle = std::move(r).value();
                    started = true;
                  });
    ASSERT_TRUE(RunUntil(io, [&] { return started; }));
    state = handle->State();
  }  // the "server" goes away; the shim and its child keep running
  boost::asio::io_context io;
  auto driver = MakeProcessDriver(io, BERTH_SHIM_PATH);
  auto handle = driver->Recover((dir_ / "app").string(), state);
  std::optional<ContainerExit> exit;
  handle->Wait([&](ContainerExit e) { exit = e; });
  ASSERT_TRUE(RunUntil(io, [&] { return exit.has_value(); }));
  EXPECT_EQ(exit->exit_code, 7);
}

}  // namespace berth::agent

namespace berth::agent {

// Regression: under many concurrent starts, Asio 1.74 completed some pidfd waits spuriously and
// running containers were reported as exited (21 of 500 in bench/many_tasks.py).
TEST_F(ProcessDriverTest, ManyConcurrentStartsAreNotMistakenForExits) {
  boost::asio::io_context io;
  auto driver = MakeProcessDriver(io, BERTH_SHIM_PATH);
  RecordingSink sink;
  Agent agent(io, *driver, sink);
  constexpr int kTasks = 150;
  for (int i = 0; i < kTasks; ++i) {
    ContainerSpec c = Container("app");
    c.argv = {"sleep", "30"};
    c.environment = {{"PATH", "/usr/bin:/bin"}};
    c.stop_timeout_seconds = 1;
    agent.RunTask({"t" + std::to_string(i), (dir_ / std::to_string(i)).string(), {c}});
  }
  auto started = [&] {
    return std::count(sink.events.begin(), sink.events.end(), "started app");
  };
  ASSERT_TRUE(RunUntil(io, [&] { return started() == kTasks; }));
  RunUntil(io, [] { return false; }, std::chrono::milliseconds(1500));  // let waits settle
  EXPECT_EQ(std::count(sink.events.begin(), sink.events.end(), "exited app"), 0);
  for (int i = 0; i < kTasks; ++i) {
    agent.StopTask("t" + std::to_string(i), StopCode::UserInitiated, "done");
  }
  ASSERT_TRUE(RunUntil(io, [&] { return agent.ActiveTaskCount() == 0; }));
}

}  // namespace berth::agent
