#pragma once
// The composition root: builds every module, wires ports to adapters and runs the loop.

#include <string>

namespace berth::server {

struct ServerOptions {
  std::string data_dir;            // default ~/.local/share/berth
  std::string listen = "127.0.0.1:4566";
  std::string region = "us-east-1";
  std::string account_id = "000000000000";
  std::string ready_file;          // written with the bound port once serving (for tests)
  std::string log_level = "info";
  std::string shim_path;           // default: berth-shim beside the berth executable
  // The load balancer's data plane.
  int proxy_threads = 0;                    // event loops; 0 = one per core
  std::string lb_bind_address = "127.0.0.1";  // listeners bind here (LB_BIND_ADDRESS)
  std::string lb_port_map;                  // "80=8080,443=8443": listener port -> bound port
  double health_check_time_scale = 1.0;     // < 1 runs health checks faster (tests, demos)
  // The API loop polls this long after calls in quick succession before it sleeps
  // (core/event_loop.h); 0 sleeps at once.
  int busy_poll_us = 50;
};

// Runs until SIGINT/SIGTERM. Tasks keep running under their shims and are adopted by the next
// start. Returns the process exit code.
int RunServer(const ServerOptions& options);

}  // namespace berth::server
