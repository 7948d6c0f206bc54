#pragma once
// The agent: runs tasks on this host through a Driver and reports their state through a
// TaskStatusSink. One TaskRunner per task; everything on the control io_context thread.
//
// Container lifecycle inside a task (ECS's container lastStatus in brackets):
//
//   Pending [PENDING] --deps satisfied--> Starting --exec ok--> Running [RUNNING]
//      |                                    | exec failed           | exited / killed
//      +--task stopping---------------------+-----------------------+--> Exited [STOPPED]
//
// Stop: SIGTERM to each running container, SIGKILL after its stopTimeout.

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "agent/driver.h"
#include "agent/log_sink.h"
#include "agent/task_spec.h"
#include "agent/task_status.h"
#include "core/clock.h"

namespace boost::asio {
class io_context;
}

namespace berth::agent {

class TaskRunner;

// What the store remembers of a container, handed back after a server restart.
struct ContainerRecord {
  std::string driver_state;  // empty: never started
  bool exited = false;
  std::optional<int> exit_code;
};

class Agent {
 public:
  // `log_sink` (optional) receives the output of containers using the awslogs driver; without
  // one, output stays in the container's files only.
  Agent(boost::asio::io_context& io, Driver& driver, TaskStatusSink& sink,
        ContainerLogSink* log_sink = nullptr, const core::Clock* clock = nullptr);
  ~Agent();

  // Starts a task's containers in dependsOn order. REQUIRES: no task with this id is running.
  void RunTask(TaskSpec spec);
  // Stops a task: SIGTERM now, SIGKILL after each container's stopTimeout. Unknown ids are
  // ignored (the task may have stopped already).
  void StopTask(const std::string& task_id, StopCode code, const std::string& reason);
  // Re-attaches to a task started before a restart. `stopping` re-issues a stop.
  void RecoverTask(TaskSpec spec, const std::map<std::string, ContainerRecord>& records,
                   bool stopping, StopCode code, const std::string& reason);
  // Tasks with at least one container not yet exited.
  size_t ActiveTaskCount() const { return runners_.size(); }

 private:
  friend class TaskRunner;
  void Finished(const std::string& task_id);
  void SchedulePoll();

  boost::asio::io_context& io_;
  Driver& driver_;
  TaskStatusSink& sink_;
  ContainerLogSink* log_sink_;
  const core::Clock& clock_;
  std::map<std::string, std::unique_ptr<TaskRunner>> runners_;
  struct PollTimer;  // keeps Asio out of this widely included header
  std::unique_ptr<PollTimer> poll_timer_;
};

}  // namespace berth::agent
