#pragma once
// Driver: how a container is started, signalled, waited for and recovered after a restart.
// `process` (host process group under berth-shim) is the first driver; `runc` comes later and
// implements the same interface (Nomad's driver plugin shape, reduced to what ECS needs).
//
// Threading: every method and callback runs on the agent's io_context thread.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"

namespace berth::agent {

struct ContainerLaunch {
  std::string dir;                 // per-container state directory (created by the caller)
  std::vector<std::string> argv;   // entryPoint + command, already combined
  std::vector<std::string> env;    // "NAME=value"
  std::string working_directory;   // empty: the container directory
};

struct ContainerExit {
  std::optional<int> exit_code;  // nullopt when the container never ran or was lost
  std::string reason;            // e.g. a CannotStartContainerError text; empty for a plain exit
};

// A started (or recovered) container. Destroying the handle does not stop the container.
class ContainerHandle {
 public:
  virtual ~ContainerHandle() = default;
  // Opaque driver state to persist; handed back to Driver::Recover after a restart.
  virtual std::string State() const = 0;
  // Sends a signal (SIGTERM, or SIGKILL for "stop now") to the container. A container that is
  // already gone is not an error.
  virtual Status Signal(int signal) = 0;
  // Calls `on_exit` once, when the container has exited (immediately if it already has).
  virtual void Wait(std::function<void(ContainerExit)> on_exit) = 0;
};

class Driver {
 public:
  virtual ~Driver() = default;
  using StartCallback = std::function<void(Result<std::unique_ptr<ContainerHandle>>)>;
  // Starts a container; `done` gets the handle once the command has been exec'd, or an error
  // whose message is the container's stopped reason (e.g. "CannotStartContainerError: ...").
  virtual void Start(const ContainerLaunch& launch, StartCallback done) = 0;
  // Re-attaches to a container started by an earlier berth server. Always returns a handle:
  // one whose Wait reports the recorded exit, or a lost container, when it is no longer running.
  virtual std::unique_ptr<ContainerHandle> Recover(const std::string& dir,
                                                   const std::string& state) = 0;
  // Runs a one-off command beside the container (health checks, exec). `done` gets the exit
  // code, or nullopt when it timed out (the command is then killed) or could not start.
  virtual void RunCommand(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                          int timeout_ms, std::function<void(std::optional<int>)> done) = 0;
};

}  // namespace berth::agent
