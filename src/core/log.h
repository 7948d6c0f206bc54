#pragma once
// berth's own logging (spdlog). Never log a secret value or a request body.
#include <spdlog/spdlog.h>
