#pragma once
// `berth task-output`: prints what a task's container wrote to stdout/stderr, from the files
// berth-shim keeps in DATA_DIR/tasks/TASK_ID/CONTAINER/ (containers without the awslogs driver
// have their output only there). Local to the machine running the task.

#include <string>

namespace berth::cli {

struct TaskOutputOptions {
  std::string data_dir;
  std::string task;       // task id or ARN
  std::string container;  // empty: the task's only container (error if several)
  bool stderr_stream = false;
};

// Writes the output to stdout; returns the process exit code (non-zero with a message on
// stderr when the task or container is unknown).
int PrintTaskOutput(const TaskOutputOptions& options);

}  // namespace berth::cli
