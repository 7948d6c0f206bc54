#include "agent/drivers/process/process_driver.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "agent/shim/shim_protocol.h"
#include "core/asio.h"
#include "core/log.h"

namespace berth::agent {

namespace asio = boost::asio;

namespace {

int PidfdOpen(pid_t pid) { return static_cast<int>(syscall(SYS_pidfd_open, pid, 0)); }

// A pidfd polls readable once its process has exited.
bool ProcessExited(int pidfd) {
  pollfd p{pidfd, POLLIN, 0};
  return poll(&p, 1, 0) > 0;
}

// Field 22 of /proc/PID/stat: the process start time, which tells a recycled pid apart.
std::string ProcessStartTime(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) {
    return "";
  }
  size_t close_paren = line.rfind(')');
  if (close_paren == std::string::npos) {
    return "";
  }
  std::istringstream rest(line.substr(close_paren + 2));
  std::string field;
  for (int i = 3; i <= 22 && (rest >> field); ++i) {
  }
  return field;
}

// Reads CONTAINER_DIR/exit: "<code>\n<reason>\n"; nullopt while the file does not exist.
std::optional<ContainerExit> ReadExitFile(const std::string& dir) {
  std::ifstream in(dir + "/" + shim::kExitFile);
  if (!in) {
    return std::nullopt;
  }
  std::string code_line, reason;
  std::getline(in, code_line);
  std::getline(in, reason);
  ContainerExit exit;
  exit.reason = reason;
  if (!code_line.empty()) {
    try {
      exit.exit_code = std::stoi(code_line);
    } catch (const std::exception&) {
      exit.reason = "unreadable exit record";
    }
  }
  return exit;
}

std::vector<char*> CStrings(const std::vector<std::string>& v) {
  std::vector<char*> out;
  out.reserve(v.size() + 1);
  for (const auto& s : v) {
    out.push_back(const_cast<char*>(s.c_str()));
  }
  out.push_back(nullptr);
  return out;
}

// Watches a process through a pidfd and calls back once it has exited (reaping it if it is
// our child). Owned by shared_ptr so the pending wait keeps it alive.
class ExitWatch : public std::enable_shared_from_this<ExitWatch> {
 public:
  ExitWatch(asio::io_context& io, pid_t pid, int pidfd) : pid_(pid), fd_(io, pidfd) {}
  void Start(std::function<void()> on_exit) {
    on_exit_ = std::move(on_exit);
    Arm();
  }

 private:
  void Arm() {
    fd_.async_wait(asio::posix::stream_descriptor::wait_read,
                   [self = shared_from_this()](const boost::system::error_code& ec) {
                     if (ec == asio::error::operation_aborted) {
                       return;
                     }
                     // Asio 1.74's epoll reactor can complete a wait spuriously when a
                     // descriptor's state object is reused while an event for its previous
                     // owner is queued (seen here under 500 concurrent starts), so ask the
                     // pidfd itself before believing the process has exited.
                     if (!ProcessExited(self->fd_.native_handle())) {
                       self->Arm();
                       return;
                     }
                     int status;
                     waitpid(self->pid_, &status, WNOHANG);  // ECHILD for adopted shims: fine
                     self->fd_.close();
                     auto cb = std::move(self->on_exit_);
                     cb();
                   });
  }

  pid_t pid_;
  asio::posix::stream_descriptor fd_;
  std::function<void()> on_exit_;
};

class ProcessHandle final : public ContainerHandle {
 public:
  ProcessHandle(asio::io_context& io, std::string dir, pid_t shim_pid, pid_t child_pid,
                std::string start_time)
      : io_(io),
        dir_(std::move(dir)),
        shim_pid_(shim_pid),
        child_pid_(child_pid),
        start_time_(std::move(start_time)) {}

  // Starts watching the shim. REQUIRES: called once, before Wait.
  void Watch(int pidfd) {
    auto watch = std::make_shared<ExitWatch>(io_, shim_pid_, pidfd);
    watch->Start([this, alive = alive_] {
      if (!*alive) {
        return;
      }
      auto exit = ReadExitFile(dir_);
      Finish(exit ? *exit
                  : ContainerExit{std::nullopt, "berth-shim exited without recording an exit"});
    });
  }

  // Marks the container as gone (recovery found it finished or lost).
  void Finish(ContainerExit exit) {
    exited_ = std::move(exit);
    if (on_exit_) {
      auto cb = std::move(on_exit_);
      cb(*exited_);
    }
  }

  ~ProcessHandle() override { *alive_ = false; }

  std::string State() const override {
    return std::to_string(shim_pid_) + " " + std::to_string(child_pid_) + " " + start_time_;
  }

  Status Signal(int signal) override {
    if (exited_) {
      return OkStatus();
    }
    // The shim forwards catchable signals to the process group; SIGKILL would kill the shim
    // itself and lose the exit code, so "kill now" is asked for with kKillSignal.
    int to_send = signal == SIGKILL ? shim::kKillSignal : signal;
    if (kill(shim_pid_, to_send) != 0 && errno != ESRCH) {
      return InternalError(std::string("kill: ") + strerror(errno));
    }
    return OkStatus();
  }

  void Wait(std::function<void(ContainerExit)> on_exit) override {
    if (exited_) {
      asio::post(io_, [on_exit = std::move(on_exit), exit = *exited_] { on_exit(exit); });
      return;
    }
    on_exit_ = std::move(on_exit);
  }

 private:
  asio::io_context& io_;
  std::string dir_;
  pid_t shim_pid_;
  pid_t child_pid_;
  std::string start_time_;
  std::optional<ContainerExit> exited_;
  std::function<void(ContainerExit)> on_exit_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

class ProcessDriver final : public Driver {
 public:
  ProcessDriver(asio::io_context& io, std::string shim_path)
      : io_(io), shim_path_(std::move(shim_path)) {}

  void Start(const ContainerLaunch& launch, StartCallback done) override {
    if (launch.argv.empty()) {
      asio::post(io_, [done] {
        done(MakeError(ErrorKind::InvalidArgument, "CannotStartContainerError",
                       "CannotStartContainerError: the container has no command (the process "
                       "driver cannot run an image's default command)"));
      });
      return;
    }
    int status_pipe[2];
    if (pipe2(status_pipe, O_CLOEXEC) != 0) {
      Fail(done, std::string("pipe: ") + strerror(errno));
      return;
    }
    std::vector<std::string> args = {shim_path_, launch.dir, "--"};
    args.insert(args.end(), launch.argv.begin(), launch.argv.end());
    auto argv = CStrings(args);
    auto envp = CStrings(launch.env);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, status_pipe[1], shim::kStatusFd);
    const std::string& cwd = launch.working_directory.empty() ? launch.dir : launch.working_directory;
    posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
    pid_t pid = -1;
    int rc = posix_spawn(&pid, shim_path_.c_str(), &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    close(status_pipe[1]);
    if (rc != 0) {
      close(status_pipe[0]);
      std::string why = rc == ENOENT && !launch.working_directory.empty()
                            ? "workingDirectory " + launch.working_directory + " does not exist"
                            : std::string("cannot start berth-shim: ") + strerror(rc);
      Fail(done, why);
      return;
    }
    int pidfd = PidfdOpen(pid);
    std::string start_time = ProcessStartTime(pid);
    auto reader = std::make_shared<asio::posix::stream_descriptor>(io_, status_pipe[0]);
    auto line = std::make_shared<std::string>();
    asio::async_read_until(
        *reader, asio::dynamic_buffer(*line), '\n',
        [this, reader, line, pid, pidfd, start_time, dir = launch.dir, done](
            const boost::system::error_code& ec, size_t n) {
          reader->close();
          if (ec || line->rfind("started ", 0) != 0) {
            std::string why = line->rfind("failed ", 0) == 0
                                  ? line->substr(7, line->find('\n') - 7)
                                  : "berth-shim ended before starting the container";
            // The shim exits right after a failure; reap it without blocking the loop.
            if (pidfd >= 0) {
              std::make_shared<ExitWatch>(io_, pid, pidfd)->Start([] {});
            }
            done(MakeError(ErrorKind::InvalidArgument, "CannotStartContainerError", why));
            return;
          }
          pid_t child = std::atoi(line->c_str() + 8);
          auto handle = std::make_unique<ProcessHandle>(io_, dir, pid, child, start_time);
          if (pidfd >= 0) {
            handle->Watch(pidfd);
          }
          done(std::unique_ptr<ContainerHandle>(std::move(handle)));
        });
  }

  std::unique_ptr<ContainerHandle> Recover(const std::string& dir,
                                           const std::string& state) override {
    std::istringstream in(state);
    pid_t shim_pid = 0, child_pid = 0;
    std::string start_time;
    in >> shim_pid >> child_pid >> start_time;
    auto handle = std::make_unique<ProcessHandle>(io_, dir, shim_pid, child_pid, start_time);
    int pidfd = -1;
    if (shim_pid > 0 && !start_time.empty() && ProcessStartTime(shim_pid) == start_time) {
      pidfd = PidfdOpen(shim_pid);
    }
    // Check the exit record after opening the pidfd: the shim writes it before exiting, so a
    // container that ends between the two steps is still seen by one of them.
    if (auto exit = ReadExitFile(dir)) {
      if (pidfd >= 0) {
        close(pidfd);
      }
      handle->Finish(*exit);
    } else if (pidfd >= 0) {
      handle->Watch(pidfd);
    } else {
      handle->Finish(ContainerExit{std::nullopt,
                                   "the container's supervisor is gone and left no exit record"});
    }
    return handle;
  }

  void RunCommand(const std::vector<std::string>& argv_in, const std::vector<std::string>& env,
                  int timeout_ms, std::function<void(std::optional<int>)> done) override {
    if (argv_in.empty()) {
      asio::post(io_, [done] { done(std::nullopt); });
      return;
    }
    auto argv = CStrings(argv_in);
    auto envp = CStrings(env);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);
    pid_t pid = -1;
    int rc = posix_spawnp(&pid, argv[0], &actions, &attr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    int pidfd = rc == 0 ? PidfdOpen(pid) : -1;
    if (rc != 0 || pidfd < 0) {
      asio::post(io_, [done] { done(std::nullopt); });
      return;
    }
    auto run = std::make_shared<CommandRun>();
    auto timer = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(timeout_ms));
    auto fd = std::make_shared<asio::posix::stream_descriptor>(io_, pidfd);
    timer->async_wait([pid, run](const boost::system::error_code& ec) {
      if (!ec && !run->finished) {
        kill(-pid, SIGKILL);  // the pidfd wait below then reports a timeout
      }
    });
    WaitForCommand(pid, run, timer, fd, std::move(done));
  }

 private:
  struct CommandRun {
    bool finished = false;
  };

  // Waits for a one-off command's exit through its pidfd (re-arming on spurious wake-ups, see
  // ExitWatch) and reports its exit code, or nullopt when it was killed for its timeout.
  static void WaitForCommand(pid_t pid, std::shared_ptr<CommandRun> run,
                             std::shared_ptr<asio::steady_timer> timer,
                             std::shared_ptr<asio::posix::stream_descriptor> fd,
                             std::function<void(std::optional<int>)> done) {
    fd->async_wait(asio::posix::stream_descriptor::wait_read,
                   [pid, run, timer, fd, done](const boost::system::error_code& ec) {
                     if (ec != asio::error::operation_aborted &&
                         !ProcessExited(fd->native_handle())) {
                       WaitForCommand(pid, run, timer, fd, done);
                       return;
                     }
                     int status = 0;
                     waitpid(pid, &status, 0);
                     run->finished = true;
                     timer->cancel();
                     fd->close();
                     if (WIFEXITED(status)) {
                       done(WEXITSTATUS(status));
                     } else {
                       done(std::nullopt);
                     }
                   });
  }

  void Fail(const StartCallback& done, std::string why) {
    asio::post(io_, [done, why = std::move(why)] {
      done(MakeError(ErrorKind::Internal, "CannotStartContainerError",
                     "CannotStartContainerError: " + why));
    });
  }

  asio::io_context& io_;
  std::string shim_path_;
};

}  // namespace

std::unique_ptr<Driver> MakeProcessDriver(asio::io_context& io, std::string shim_path) {
  return std::make_unique<ProcessDriver>(io, std::move(shim_path));
}

}  // namespace berth::agent
