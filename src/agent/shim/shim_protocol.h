#pragma once
// The contract between berth's process driver and `berth-shim`, the per-container supervisor.
//
// The driver spawns `berth-shim CONTAINER_DIR -- ARGV...` with the container's environment and a
// status pipe as fd 3. The shim becomes a session leader and child subreaper, runs ARGV in its own
// process group with stdout/stderr appended to files in CONTAINER_DIR, and outlives berth server:
//
//   CONTAINER_DIR/stdout, stderr   the container's output (append-only)
//   CONTAINER_DIR/pid              "<shim pid> <child pid>\n" once the exec succeeded
//   CONTAINER_DIR/exit             "<exit code>\n<reason>\n" written atomically when the child is
//                                  gone (128+N for a signal N, as Docker reports it)
//
// On fd 3 the shim writes one line, "started <child pid>\n" or "failed <reason>\n", then closes it.
// Signals to the shim: SIGTERM/SIGINT/SIGHUP/SIGQUIT are forwarded to the child's process group;
// SIGUSR1 means "SIGKILL the process group" (the stop timeout expired).

namespace berth::agent::shim {

inline constexpr const char* kStdoutFile = "stdout";
inline constexpr const char* kStderrFile = "stderr";
inline constexpr const char* kPidFile = "pid";
inline constexpr const char* kExitFile = "exit";
inline constexpr int kStatusFd = 3;
inline constexpr int kKillSignal = 10;  // SIGUSR1 on Linux

}  // namespace berth::agent::shim
