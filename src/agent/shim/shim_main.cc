// berth-shim: the per-container supervisor (see shim_protocol.h for the contract).
//
// Kept free of every berth library and of C++ allocation after fork, so it starts in about a
// millisecond and cannot be taken down by anything in berth server.

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "agent/shim/shim_protocol.h"

namespace {

using namespace berth::agent::shim;

void WriteAll(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = write(fd, s.data() + off, s.size() - off);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return;
    }
    off += static_cast<size_t>(n);
  }
}

// Writes `content` to DIR/name atomically (tmp + rename), so a reader never sees half; with
// `durable`, fsync first so the record survives a machine crash too.
void WriteFileAtomic(const std::string& dir, const char* name, const std::string& content,
                     bool durable = true) {
  std::string tmp = dir + "/." + name + ".tmp";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return;
  }
  WriteAll(fd, content);
  if (durable) {
    fsync(fd);
  }
  close(fd);
  rename(tmp.c_str(), (dir + "/" + name).c_str());
}

void Report(const std::string& line) {
  WriteAll(kStatusFd, line);
  close(kStatusFd);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4 || strcmp(argv[2], "--") != 0) {
    fprintf(stderr, "usage: berth-shim CONTAINER_DIR -- ARGV...\n");
    return 2;
  }
  std::string dir = argv[1];
  char** child_argv = argv + 3;
  // berth server's own descriptors (its listening sockets among them) must not live on in the
  // container, or a restarted server could not bind its port again.
  syscall(SYS_close_range, kStatusFd + 1, ~0U, 0);
  signal(SIGPIPE, SIG_IGN);  // the status pipe's reader (berth server) may be gone
  setsid();
  prctl(PR_SET_CHILD_SUBREAPER, 1);

  // Block the signals we handle before forking, so none is lost between fork and sigwait.
  sigset_t handled;
  sigemptyset(&handled);
  for (int s : {SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1}) {
    sigaddset(&handled, s);
  }
  sigset_t original;
  sigprocmask(SIG_BLOCK, &handled, &original);

  int out = open((dir + "/" + kStdoutFile).c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  int err = open((dir + "/" + kStderrFile).c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  int exec_pipe[2];
  if (out < 0 || err < 0 || devnull < 0 || pipe2(exec_pipe, O_CLOEXEC) != 0) {
    std::string why = std::string("cannot prepare container files: ") + strerror(errno);
    WriteFileAtomic(dir, kExitFile, "\n" + why + "\n");
    Report("failed " + why + "\n");
    return 1;
  }

  pid_t child = fork();
  if (child < 0) {
    std::string why = std::string("fork: ") + strerror(errno);
    WriteFileAtomic(dir, kExitFile, "\n" + why + "\n");
    Report("failed " + why + "\n");
    return 1;
  }
  if (child == 0) {
    setpgid(0, 0);
    dup2(devnull, 0);
    dup2(out, 1);
    dup2(err, 2);
    close(kStatusFd);
    for (int s = 1; s < NSIG; ++s) {
      signal(s, SIG_DFL);
    }
    sigprocmask(SIG_SETMASK, &original, nullptr);
    execvp(child_argv[0], child_argv);
    int e = errno;
    ssize_t ignored = write(exec_pipe[1], &e, sizeof e);
    (void)ignored;
    _exit(127);
  }
  setpgid(child, child);  // also done by the child; whichever runs first wins the race
  close(exec_pipe[1]);
  int exec_errno = 0;
  ssize_t got;
  do {
    got = read(exec_pipe[0], &exec_errno, sizeof exec_errno);
  } while (got < 0 && errno == EINTR);
  close(exec_pipe[0]);
  if (got == static_cast<ssize_t>(sizeof exec_errno)) {
    waitpid(child, nullptr, 0);
    // Docker's wording for a missing executable, which ECS passes on as the container reason.
    std::string why = std::string("CannotStartContainerError: exec: \"") + child_argv[0] +
                      "\": " + strerror(exec_errno);
    WriteFileAtomic(dir, kExitFile, "\n" + why + "\n");
    Report("failed " + why + "\n");
    return 1;
  }
  // Report first: the server is waiting on this line to call the task RUNNING. The pid file is
  // a hint for people and tools; berth itself persists the pids it was told on fd 3.
  Report("started " + std::to_string(child) + "\n");
  WriteFileAtomic(dir, kPidFile, std::to_string(getpid()) + " " + std::to_string(child) + "\n",
                  /*durable=*/false);

  int exit_code = -1;
  for (;;) {
    siginfo_t info;
    int sig = sigwaitinfo(&handled, &info);
    if (sig < 0) {
      continue;
    }
    if (sig == SIGCHLD) {
      int status = 0;
      pid_t pid;
      bool main_exited = false;
      while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        if (pid == child) {
          exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
          main_exited = true;
        }
      }
      if (main_exited) {
        break;
      }
    } else if (sig == SIGUSR1) {
      kill(-child, SIGKILL);
    } else {
      kill(-child, sig);
    }
  }
  // The container is its main process: when it ends, whatever it left behind goes too.
  kill(-child, SIGKILL);
  while (waitpid(-1, nullptr, WNOHANG) > 0) {
  }
  WriteFileAtomic(dir, kExitFile, std::to_string(exit_code) + "\n\n");
  return 0;
}
