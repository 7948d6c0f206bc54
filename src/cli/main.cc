// berth: one binary; `berth server` runs the platform, other subcommands are its clients.

#include <cstdlib>
#include <string>

#include <CLI/CLI.hpp>

#include "cli/task_output.h"
#include "server/server.h"

namespace {

std::string DefaultDataDir() {
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg != nullptr && *xdg != '\0') {
    return std::string(xdg) + "/berth";
  }
  const char* home = std::getenv("HOME");
  return std::string(home ? home : ".") + "/.local/share/berth";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"berth: Amazon ECS on Fargate, self-hosted"};
  app.require_subcommand(1);

  berth::server::ServerOptions server_opts;
  server_opts.data_dir = DefaultDataDir();
  auto* server = app.add_subcommand("server", "run the platform (the AWS API endpoint and agent)");
  server->add_option("--data-dir", server_opts.data_dir, "state directory")
      ->capture_default_str();
  server->add_option("--listen", server_opts.listen, "HOST:PORT of the AWS API endpoint")
      ->capture_default_str();
  server->add_option("--region", server_opts.region, "the region berth claims to be")
      ->capture_default_str();
  server->add_option("--account-id", server_opts.account_id, "the account id in every ARN")
      ->capture_default_str();
  server->add_option("--ready-file", server_opts.ready_file,
                     "write the bound port here once serving");
  server->add_option("--log-level", server_opts.log_level, "trace|debug|info|warn|error")
      ->capture_default_str();
  server->add_option("--shim", server_opts.shim_path, "path of berth-shim");
  if (const char* bind = std::getenv("LB_BIND_ADDRESS"); bind != nullptr && *bind != '\0') {
    server_opts.lb_bind_address = bind;
  }
  server->add_option("--proxy-threads", server_opts.proxy_threads,
                     "load balancer event loops (0: one per core)")
      ->capture_default_str();
  server->add_option("--lb-bind-address", server_opts.lb_bind_address,
                     "address every load balancer listener binds (env LB_BIND_ADDRESS)")
      ->capture_default_str();
  server->add_option("--lb-port-map", server_opts.lb_port_map,
                     "listener ports bound elsewhere, e.g. 80=8080,443=8443 for a non-root run");
  server->add_option("--health-check-time-scale", server_opts.health_check_time_scale,
                     "multiply target health check intervals/timeouts (0.1 in tests)")
      ->capture_default_str();
  server->add_option("--busy-poll-us", server_opts.busy_poll_us,
                     "microseconds the API loop keeps polling after calls that come in quick "
                     "succession, before it sleeps (0: sleep at once)")
      ->check(CLI::Range(0, 10000))
      ->capture_default_str();

  berth::cli::TaskOutputOptions output_opts;
  output_opts.data_dir = DefaultDataDir();
  auto* output = app.add_subcommand(
      "task-output", "print a task container's stdout (or stderr), kept on this machine");
  output->add_option("task", output_opts.task, "task id or ARN")->required();
  output->add_option("--container", output_opts.container, "container name");
  output->add_flag("--stderr", output_opts.stderr_stream, "print stderr instead of stdout");
  output->add_option("--data-dir", output_opts.data_dir, "the server's data directory")
      ->capture_default_str();

  app.add_subcommand("version", "print the version")->callback([] {
    std::printf("berth 0.1.0\n");
  });

  CLI11_PARSE(app, argc, argv);
  if (server->parsed()) {
    return berth::server::RunServer(server_opts);
  }
  if (output->parsed()) {
    return berth::cli::PrintTaskOutput(output_opts);
  }
  return 0;
}
