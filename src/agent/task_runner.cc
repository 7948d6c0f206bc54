#include "agent/task_runner.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "core/asio.h"
#include "core/log.h"

namespace berth::agent {

namespace asio = boost::asio;

struct TaskRunner::Container {
  enum class Phase { Pending, Starting, Running, Exited };
  const ContainerSpec* spec = nullptr;
  std::string dir;
  Phase phase = Phase::Pending;
  std::unique_ptr<ContainerHandle> handle;
  std::optional<int> exit_code;
  ContainerHealth health = ContainerHealth::Unknown;
  int consecutive_failures = 0;
  std::chrono::steady_clock::time_point started;
  std::vector<PortBinding> bindings;
  std::unique_ptr<asio::steady_timer> health_timer;
  std::unique_ptr<asio::steady_timer> kill_timer;
  bool signalled = false;
  std::unique_ptr<LogTailer> tailer;  // awslogs containers that have started
};

namespace {

// Asks the kernel for a free TCP port on loopback. The port is free when we look; a container
// that starts a moment later binds it (the same small race every port picker has).
int PickFreePort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return 0;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

const char* ConditionName(DependencyCondition c) {
  switch (c) {
    case DependencyCondition::Start:
      return "START";
    case DependencyCondition::Complete:
      return "COMPLETE";
    case DependencyCondition::Success:
      return "SUCCESS";
    case DependencyCondition::Healthy:
      return "HEALTHY";
  }
  return "?";
}

}  // namespace

TaskRunner::TaskRunner(asio::io_context& io, Driver& driver, TaskStatusSink& sink, Agent& owner,
                       TaskSpec spec, ContainerLogSink* log_sink, const core::Clock& clock)
    : io_(io),
      driver_(driver),
      sink_(sink),
      owner_(owner),
      spec_(std::move(spec)),
      log_sink_(log_sink),
      clock_(clock) {
  for (const ContainerSpec& cs : spec_.containers) {
    auto c = std::make_unique<Container>();
    c->spec = &cs;
    c->dir = spec_.dir + "/" + cs.name;
    containers_.push_back(std::move(c));
  }
}

TaskRunner::~TaskRunner() { *alive_ = false; }

void TaskRunner::Start() {
  std::error_code ec;
  std::filesystem::create_directories(spec_.dir, ec);
  Advance();
}

void TaskRunner::Recover(const std::map<std::string, ContainerRecord>& records) {
  for (auto& c : containers_) {
    auto it = records.find(c->spec->name);
    if (it == records.end() || it->second.driver_state.empty()) {
      if (it != records.end() && it->second.exited) {
        c->phase = Container::Phase::Exited;  // failed to start before the restart
        c->exit_code = it->second.exit_code;
      }
      continue;
    }
    if (it->second.exited) {
      c->phase = Container::Phase::Exited;
      c->exit_code = it->second.exit_code;
      AttachTailer(*c);
      if (c->tailer) {
        c->tailer->Poll(/*final=*/true);  // whatever the restart left unsent
        c->tailer.reset();
      }
      continue;
    }
    AttachTailer(*c);
    c->handle = driver_.Recover(c->dir, it->second.driver_state);
    c->phase = Container::Phase::Running;
    c->started = std::chrono::steady_clock::now();
    if (c->spec->health_check) {
      ScheduleHealthCheck(*c, c->spec->health_check->interval_seconds);
    }
    WatchExit(*c);
  }
  running_reported_ = std::all_of(containers_.begin(), containers_.end(), [](const auto& c) {
    return c->phase != Container::Phase::Pending;
  });
  Advance();
}

bool TaskRunner::DependenciesMet(const Container& c, std::string* blocked) const {
  for (const ContainerDependency& dep : c.spec->depends_on) {
    const Container* other = nullptr;
    for (const auto& o : containers_) {
      if (o->spec->name == dep.container_name) {
        other = o.get();
      }
    }
    if (other == nullptr) {
      continue;  // validated at registration; ignore defensively
    }
    bool exited = other->phase == Container::Phase::Exited;
    bool ok = false;
    switch (dep.condition) {
      case DependencyCondition::Start:
        ok = other->phase == Container::Phase::Running || (exited && other->handle);
        break;
      case DependencyCondition::Complete:
        ok = exited;
        break;
      case DependencyCondition::Success:
        ok = exited && other->exit_code == 0;
        break;
      case DependencyCondition::Healthy:
        ok = other->health == ContainerHealth::Healthy;
        break;
    }
    if (ok) {
      continue;
    }
    // A dependency that can no longer be met blocks the container forever: report why.
    bool impossible = exited && (dep.condition != DependencyCondition::Complete);
    if (impossible && blocked != nullptr && blocked->empty()) {
      *blocked = "Container " + c.spec->name + " dependency " + dep.container_name +
                 " did not meet condition " + ConditionName(dep.condition);
    }
    return false;
  }
  return true;
}

void TaskRunner::Advance() {
  if (finished_) {
    return;
  }
  if (!stopping_) {
    for (auto& c : containers_) {
      if (c->phase != Container::Phase::Pending) {
        continue;
      }
      std::string blocked;
      if (DependenciesMet(*c, &blocked)) {
        StartContainer(*c);
      } else if (!blocked.empty()) {
        Stop(StopCode::TaskFailedToStart, blocked);
        return;
      }
    }
  }
  bool all_started = true;
  bool all_exited = true;
  for (const auto& c : containers_) {
    all_started = all_started && (c->phase == Container::Phase::Running ||
                                  c->phase == Container::Phase::Exited);
    all_exited = all_exited && c->phase == Container::Phase::Exited;
  }
  if (all_started && !running_reported_ && !stopping_) {
    running_reported_ = true;
    sink_.OnTaskRunning(spec_.task_id);
  }
  if (all_exited) {
    if (!stopping_) {
      // Every container ended on its own (only non-essential ones, or none were essential).
      stopping_ = true;
      sink_.OnTaskStopping(spec_.task_id, StopCode::EssentialContainerExited,
                           "Essential container in task exited");
    }
    finished_ = true;
    sink_.OnTaskStopped(spec_.task_id);
    owner_.Finished(spec_.task_id);
  }
}

std::vector<std::string> TaskRunner::EnvironmentOf(const Container& c) const {
  std::vector<std::string> env;
  env.reserve(c.spec->environment.size() + c.bindings.size() + 2);
  for (const auto& [name, value] : c.spec->environment) {
    env.push_back(name + "=" + value);
  }
  if (!c.bindings.empty()) {
    env.push_back("PORT=" + std::to_string(c.bindings.front().host_port));
  }
  for (const PortBinding& b : c.bindings) {
    env.push_back("BERTH_PORT_" + std::to_string(b.container_port) + "=" +
                  std::to_string(b.host_port));
  }
  return env;
}

void TaskRunner::StartContainer(Container& c) {
  c.phase = Container::Phase::Starting;
  std::error_code ec;
  std::filesystem::create_directories(c.dir, ec);
  c.bindings.clear();
  for (const PortMappingSpec& pm : c.spec->port_mappings) {
    PortBinding b;
    b.container_port = pm.container_port;
    b.host_port = pm.host_port != 0 ? pm.host_port : PickFreePort();
    b.protocol = pm.protocol;
    c.bindings.push_back(b);
  }
  if (c.spec->awslogs && log_sink_ != nullptr) {
    if (Status valid = LogTailer::Validate(*c.spec->awslogs); !valid.ok()) {
      std::string why = "CannotStartContainerError: " + valid.error().message;
      FailStart(c, why);
      return;
    }
    Status group = log_sink_->CheckGroup(c.spec->awslogs->group, c.spec->awslogs->create_group);
    if (!group.ok()) {
      // ECS's wording when the awslogs driver cannot set up its stream.
      std::string why = "ResourceInitializationError: failed to validate logger args: create "
                        "stream has been retried 1 times: failed to create Cloudwatch log "
                        "stream: " + group.error().aws_code + ": " + group.error().message;
      FailStart(c, why);
      return;
    }
  }
  ContainerLaunch launch{c.dir, c.spec->argv, EnvironmentOf(c), c.spec->working_directory};
  driver_.Start(launch, [this, &c, alive = alive_](Result<std::unique_ptr<ContainerHandle>> r) {
    if (!*alive) {
      if (r.ok()) {
        (void)r.value()->Signal(SIGKILL);  // runner gone: nobody would ever stop it
      }
      return;
    }
    if (!r.ok()) {
      OnExited(c, std::nullopt, r.error().message);
      return;
    }
    OnStarted(c, std::move(r).value());
  });
}

void TaskRunner::FailStart(Container& c, const std::string& why) {
  // Reported from the loop, as a driver's start failure would be, never from inside Start().
  asio::post(io_, [this, &c, why, alive = alive_] {
    if (*alive) {
      OnExited(c, std::nullopt, why);
    }
  });
}

void TaskRunner::OnStarted(Container& c, std::unique_ptr<ContainerHandle> handle) {
  c.handle = std::move(handle);
  c.phase = Container::Phase::Running;
  c.started = std::chrono::steady_clock::now();
  AttachTailer(c);
  sink_.OnContainerStarted(spec_.task_id, c.spec->name, c.handle->State(), c.bindings);
  WatchExit(c);
  if (stopping_) {
    SignalForStop(c);
    return;
  }
  if (c.spec->health_check) {
    ScheduleHealthCheck(c, c.spec->health_check->interval_seconds);
  }
  Advance();
}

void TaskRunner::WatchExit(Container& c) {
  c.handle->Wait([this, &c, alive = alive_](ContainerExit exit) {
    if (*alive) {
      OnExited(c, exit.exit_code, exit.reason);
    }
  });
}

void TaskRunner::OnExited(Container& c, std::optional<int> exit_code, const std::string& reason) {
  if (c.phase == Container::Phase::Exited) {
    return;
  }
  bool never_started = c.phase == Container::Phase::Starting;
  c.phase = Container::Phase::Exited;
  c.exit_code = exit_code;
  c.health_timer.reset();
  c.kill_timer.reset();
  if (c.tailer) {
    c.tailer->Poll(/*final=*/true);
    c.tailer.reset();
  }
  sink_.OnContainerExited(spec_.task_id, c.spec->name, exit_code, reason);
  if (!stopping_ && c.spec->essential) {
    if (never_started) {
      Stop(StopCode::TaskFailedToStart, reason);
    } else {
      Stop(StopCode::EssentialContainerExited, "Essential container in task exited");
    }
    return;
  }
  Advance();
}

void TaskRunner::Stop(StopCode code, const std::string& reason) {
  if (stopping_ || finished_) {
    return;
  }
  stopping_ = true;
  sink_.OnTaskStopping(spec_.task_id, code, reason);
  for (auto& c : containers_) {
    if (c->phase == Container::Phase::Pending) {
      c->phase = Container::Phase::Exited;
      sink_.OnContainerExited(spec_.task_id, c->spec->name, std::nullopt, "");
    } else if (c->phase == Container::Phase::Running) {
      SignalForStop(*c);
    }
  }
  Advance();
}

void TaskRunner::SignalForStop(Container& c) {
  if (c.signalled) {
    return;
  }
  c.signalled = true;
  c.health_timer.reset();
  (void)c.handle->Signal(SIGTERM);
  c.kill_timer = std::make_unique<asio::steady_timer>(
      io_, std::chrono::seconds(c.spec->stop_timeout_seconds));
  c.kill_timer->async_wait([&c, alive = alive_](const boost::system::error_code& ec) {
    if (!ec && *alive && c.phase == Container::Phase::Running) {
      (void)c.handle->Signal(SIGKILL);
    }
  });
}

void TaskRunner::AttachTailer(Container& c) {
  if (c.spec->awslogs && log_sink_ != nullptr && !c.tailer) {
    c.tailer = std::make_unique<LogTailer>(c.dir, *c.spec->awslogs, *log_sink_, clock_);
  }
}

void TaskRunner::PollLogs() {
  for (auto& c : containers_) {
    if (c->tailer) {
      c->tailer->Poll(/*final=*/false);
    }
  }
}

void TaskRunner::ScheduleHealthCheck(Container& c, int delay_seconds) {
  c.health_timer = std::make_unique<asio::steady_timer>(io_, std::chrono::seconds(delay_seconds));
  c.health_timer->async_wait([this, &c, alive = alive_](const boost::system::error_code& ec) {
    if (!ec && *alive && c.phase == Container::Phase::Running && !stopping_) {
      RunHealthCheck(c);
    }
  });
}

void TaskRunner::RunHealthCheck(Container& c) {
  const HealthCheckSpec& hc = *c.spec->health_check;
  driver_.RunCommand(
      hc.argv, EnvironmentOf(c), hc.timeout_seconds * 1000,
      [this, &c, alive = alive_](std::optional<int> exit_code) {
        if (!*alive || c.phase != Container::Phase::Running || stopping_) {
          return;
        }
        const HealthCheckSpec& hc = *c.spec->health_check;
        ContainerHealth before = c.health;
        if (exit_code == 0) {
          c.consecutive_failures = 0;
          c.health = ContainerHealth::Healthy;
        } else {
          // Failures inside the start period do not count (Docker's and ECS's rule).
          auto age = std::chrono::steady_clock::now() - c.started;
          if (age >= std::chrono::seconds(hc.start_period_seconds)) {
            ++c.consecutive_failures;
          }
          if (c.consecutive_failures >= hc.retries) {
            c.health = ContainerHealth::Unhealthy;
          }
        }
        if (c.health != before) {
          sink_.OnContainerHealth(spec_.task_id, c.spec->name, c.health);
          Advance();  // HEALTHY dependencies may now be met
        }
        if (c.phase == Container::Phase::Running && !stopping_) {
          ScheduleHealthCheck(c, hc.interval_seconds);
        }
      });
}

// ---- Agent -------------------------------------------------------------------------------

namespace {
const core::Clock& DefaultClock() {
  static const core::SystemClock clock;
  return clock;
}
constexpr auto kLogPollInterval = std::chrono::milliseconds(100);
}  // namespace

Agent::Agent(asio::io_context& io, Driver& driver, TaskStatusSink& sink,
             ContainerLogSink* log_sink, const core::Clock* clock)
    : io_(io),
      driver_(driver),
      sink_(sink),
      log_sink_(log_sink),
      clock_(clock != nullptr ? *clock : DefaultClock()) {
  if (log_sink_ != nullptr) {
    SchedulePoll();
  }
}

struct Agent::PollTimer {
  explicit PollTimer(asio::io_context& io) : timer(io) {}
  asio::steady_timer timer;
};

void Agent::SchedulePoll() {
  // One timer for every container's output: lines reach their log stream within ~100 ms.
  if (!poll_timer_) {
    poll_timer_ = std::make_unique<PollTimer>(io_);
  }
  poll_timer_->timer.expires_after(kLogPollInterval);
  poll_timer_->timer.async_wait([this](const boost::system::error_code& ec) {
    if (ec) {
      return;
    }
    for (auto& [id, runner] : runners_) {
      runner->PollLogs();
    }
    SchedulePoll();
  });
}

Agent::~Agent() = default;

void Agent::RunTask(TaskSpec spec) {
  std::string id = spec.task_id;
  BERTH_ASSERT(runners_.count(id) == 0, "task already running");
  auto runner = std::make_unique<TaskRunner>(io_, driver_, sink_, *this, std::move(spec),
                                             log_sink_, clock_);
  TaskRunner* raw = runner.get();
  runners_[id] = std::move(runner);
  raw->Start();
}

void Agent::StopTask(const std::string& task_id, StopCode code, const std::string& reason) {
  auto it = runners_.find(task_id);
  if (it != runners_.end()) {
    it->second->Stop(code, reason);
  }
}

void Agent::RecoverTask(TaskSpec spec, const std::map<std::string, ContainerRecord>& records,
                        bool stopping, StopCode code, const std::string& reason) {
  std::string id = spec.task_id;
  auto runner = std::make_unique<TaskRunner>(io_, driver_, sink_, *this, std::move(spec),
                                             log_sink_, clock_);
  TaskRunner* raw = runner.get();
  runners_[id] = std::move(runner);
  if (stopping) {
    raw->Recover(records);
    StopTask(id, code, reason);
  } else {
    raw->Recover(records);
  }
}

void Agent::Finished(const std::string& task_id) {
  // Destroy the runner after the current callback has returned into the event loop.
  auto it = runners_.find(task_id);
  if (it == runners_.end()) {
    return;
  }
  std::shared_ptr<TaskRunner> doomed(std::move(it->second));
  runners_.erase(it);
  asio::post(io_, [doomed] {});
}

}  // namespace berth::agent
