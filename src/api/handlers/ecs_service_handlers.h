#pragma once
// ECS service operations, added to the ECS operation table by MakeEcsHandlers.

#include "api/service_registry.h"

namespace berth::ecs {
class ServiceScheduler;
}

namespace berth::api {

void AddEcsServiceOperations(JsonService& ecs_service, ecs::ServiceScheduler& scheduler);

}  // namespace berth::api
