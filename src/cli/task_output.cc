#include "cli/task_output.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <vector>

namespace berth::cli {

int PrintTaskOutput(const TaskOutputOptions& o) {
  namespace fs = std::filesystem;
  std::string id = o.task.substr(o.task.rfind('/') + 1);
  fs::path task_dir = fs::path(o.data_dir) / "tasks" / id;
  std::error_code ec;
  if (id.empty() || !fs::is_directory(task_dir, ec)) {
    std::cerr << "berth: no task " << id << " under " << o.data_dir << "/tasks\n";
    return 1;
  }
  std::string container = o.container;
  if (container.empty()) {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(task_dir, ec)) {
      if (entry.is_directory()) {
        names.push_back(entry.path().filename().string());
      }
    }
    if (names.size() != 1) {
      std::cerr << "berth: task " << id << " has " << names.size()
                << " containers; name one with --container\n";
      return 1;
    }
    container = names.front();
  }
  fs::path file = task_dir / container / (o.stderr_stream ? "stderr" : "stdout");
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    std::cerr << "berth: no output for container " << container << " of task " << id << "\n";
    return 1;
  }
  std::cout << in.rdbuf();
  return 0;
}

}  // namespace berth::cli
