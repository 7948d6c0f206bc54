#pragma once
// TaskRunner: one task's containers, their dependencies, health checks and stop sequence.
// Internal to the agent (see agent.h for the lifecycle).

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "agent/agent.h"
#include "agent/log_tailer.h"

namespace berth::agent {

class TaskRunner {
 public:
  TaskRunner(boost::asio::io_context& io, Driver& driver, TaskStatusSink& sink, Agent& owner,
             TaskSpec spec, ContainerLogSink* log_sink, const core::Clock& clock);
  ~TaskRunner();

  void Start();
  void Recover(const std::map<std::string, ContainerRecord>& records);
  void Stop(StopCode code, const std::string& reason);
  // Forwards new output of awslogs containers (called by the agent's poll timer).
  void PollLogs();

 private:
  struct Container;
  void Advance();
  bool DependenciesMet(const Container& c, std::string* blocked_reason) const;
  void StartContainer(Container& c);
  void OnStarted(Container& c, std::unique_ptr<ContainerHandle> handle);
  // The container could not be started: reports it as exited, with `why` as its reason.
  void FailStart(Container& c, const std::string& why);
  void WatchExit(Container& c);
  void OnExited(Container& c, std::optional<int> exit_code, const std::string& reason);
  void ScheduleHealthCheck(Container& c, int delay_seconds);
  void RunHealthCheck(Container& c);
  void SignalForStop(Container& c);
  std::vector<std::string> EnvironmentOf(const Container& c) const;
  void AttachTailer(Container& c);

  boost::asio::io_context& io_;
  Driver& driver_;
  TaskStatusSink& sink_;
  Agent& owner_;
  TaskSpec spec_;
  ContainerLogSink* log_sink_;
  const core::Clock& clock_;
  std::vector<std::unique_ptr<Container>> containers_;
  bool running_reported_ = false;
  bool stopping_ = false;
  bool finished_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace berth::agent
