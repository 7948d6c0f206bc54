#pragma once
// Wire mappings: each function builds one AWS service's operation table over its facade.

#include "api/service_registry.h"

namespace berth::ecs {
class EcsService;
}
namespace berth::logs {
class LogsService;
}
namespace berth::elb {
class ElbService;
}
namespace berth::iam {
class IamService;
}
namespace berth::acm {
class AcmService;
}

namespace berth::api {

// ECS (awsJson1.1, AmazonEC2ContainerServiceV20141113).
JsonService MakeEcsHandlers(ecs::EcsService& ecs);
// CloudWatch Logs (awsJson1.1, Logs_20140328).
JsonService MakeLogsHandlers(logs::LogsService& logs);
// STS (query): GetCallerIdentity for now; AssumeRole arrives with IAM.
QueryService MakeStsHandlers(iam::IamService& iam);
// IAM (query, 2010-05-08): users, access keys, roles, inline and managed policies.
QueryService MakeIamHandlers(iam::IamService& iam);
// Elastic Load Balancing v2 (query, 2015-12-01).
QueryService MakeElbHandlers(elb::ElbService& elb);
// ACM (awsJson1.1, CertificateManager): imported certificates for HTTPS listeners.
JsonService MakeAcmHandlers(acm::AcmService& acm);

}  // namespace berth::api
