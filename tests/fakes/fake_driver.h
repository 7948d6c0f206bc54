#pragma once
// FakeDriver: containers that start, exit and answer health checks when a test says so.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "agent/driver.h"

namespace berth::testing {

class FakeDriver final : public agent::Driver {
 public:
  struct FakeContainer {
    agent::ContainerLaunch launch;
    std::vector<int> signals;
    std::function<void(agent::ContainerExit)> on_exit;
    bool exited = false;
    agent::ContainerExit exit;
  };

  class Handle final : public agent::ContainerHandle {
   public:
    explicit Handle(std::shared_ptr<FakeContainer> c) : c_(std::move(c)) {}
    std::string State() const override { return "fake:" + c_->launch.dir; }
    Status Signal(int signal) override {
      c_->signals.push_back(signal);
      return OkStatus();
    }
    void Wait(std::function<void(agent::ContainerExit)> on_exit) override {
      if (c_->exited) {
        on_exit(c_->exit);
      } else {
        c_->on_exit = std::move(on_exit);
      }
    }

   private:
    std::shared_ptr<FakeContainer> c_;
  };

  void Start(const agent::ContainerLaunch& launch, StartCallback done) override {
    std::string name = launch.dir.substr(launch.dir.rfind('/') + 1);
    started_order.push_back(name);
    if (fail_start.count(name)) {
      done(MakeError(ErrorKind::InvalidArgument, "CannotStartContainerError",
                     "CannotStartContainerError: " + fail_start[name]));
      return;
    }
    auto c = std::make_shared<FakeContainer>();
    c->launch = launch;
    containers[name] = c;
    by_dir[launch.dir] = c;
    done(std::unique_ptr<agent::ContainerHandle>(new Handle(c)));
  }

  std::unique_ptr<agent::ContainerHandle> Recover(const std::string& dir,
                                                  const std::string&) override {
    std::string name = dir.substr(dir.rfind('/') + 1);
    auto c = std::make_shared<FakeContainer>();
    c->launch.dir = dir;
    containers[name] = c;
    return std::unique_ptr<agent::ContainerHandle>(new Handle(c));
  }

  void RunCommand(const std::vector<std::string>& argv, const std::vector<std::string>&, int,
                  std::function<void(std::optional<int>)> done) override {
    done(health_exit_code);
  }

  // Makes the container started in `dir` exit with `code` (container names repeat across tasks).
  void ExitDir(const std::string& dir, std::optional<int> code) {
    auto& c = by_dir.at(dir);
    c->exited = true;
    c->exit = {code, ""};
    if (c->on_exit) {
      auto cb = std::move(c->on_exit);
      cb(c->exit);
    }
  }

  // Makes container `name` exit with `code`.
  void Exit(const std::string& name, std::optional<int> code) {
    auto& c = containers.at(name);
    c->exited = true;
    c->exit = {code, ""};
    if (c->on_exit) {
      auto cb = std::move(c->on_exit);
      cb(c->exit);
    }
  }

  std::map<std::string, std::shared_ptr<FakeContainer>> containers;
  std::map<std::string, std::shared_ptr<FakeContainer>> by_dir;  // every container, by its dir
  std::vector<std::string> started_order;
  std::map<std::string, std::string> fail_start;
  std::optional<int> health_exit_code = 0;
};

}  // namespace berth::testing
