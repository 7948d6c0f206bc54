#pragma once
// The `process` driver: each container is a host process group supervised by `berth-shim`
// (see agent/shim/shim_protocol.h). No root needed; images name nothing on disk.

#include <memory>
#include <string>

#include "agent/driver.h"

namespace boost::asio {
class io_context;
}

namespace berth::agent {

// `shim_path` is the berth-shim executable. The driver posts all callbacks on `io`.
std::unique_ptr<Driver> MakeProcessDriver(boost::asio::io_context& io, std::string shim_path);

}  // namespace berth::agent
