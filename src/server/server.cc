#include "server/server.h"

#include <malloc.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "agent/agent.h"
#include "agent/drivers/process/process_driver.h"
#include "api/credentials.h"
#include "api/front_door.h"
#include "api/handlers/ecs_service_handlers.h"
#include "api/handlers/handlers.h"
#include "api/handlers/kms_handlers.h"
#include "api/handlers/secretsmanager_handlers.h"
#include "api/handlers/ssm_handlers.h"
#include "api/http_server.h"
#include "core/asio.h"
#include "core/event_loop.h"
#include "core/log.h"
#include "ecs/ecs_service.h"
#include "ecs/service_scheduler.h"
#include "iam/iam_service.h"
#include "kms/kms_service.h"
#include "secretsmanager/secrets_service.h"
#include "ssm/ssm_service.h"
#include "core/base64.h"
#include "acm/acm_service.h"
#include "elb/elb_errors.h"
#include "elb/elb_service.h"
#include "elb/proxy/proxy.h"
#include "logs/logs_service.h"
#include "server/commit_batcher.h"
#include "server/task_identity.h"
#include "store/db.h"

namespace berth::server {

namespace asio = boost::asio;

namespace {

constexpr uint64_t kBodyLimit = 16 * 1024 * 1024;

// The agent's awslogs port, served by the logs service.
class LogsSinkAdapter final : public agent::ContainerLogSink {
 public:
  explicit LogsSinkAdapter(logs::LogsService& logs) : logs_(logs) {}
  Status CheckGroup(const std::string& group, bool create_group) override {
    if (create_group || logs_.GroupExists(group)) {
      return OkStatus();
    }
    return MakeError(ErrorKind::NotFound, "ResourceNotFoundException",
                     "The specified log group does not exist.");
  }
  Status Append(const std::string& group, const std::string& stream, bool create_group,
                std::vector<agent::LogLine> lines) override {
    std::vector<logs::InputEvent> events;
    events.reserve(lines.size());
    for (agent::LogLine& l : lines) {
      events.push_back({l.timestamp_ms, std::move(l.message)});
    }
    return logs_.AppendContainerOutput(group, stream, create_group, std::move(events));
  }

 private:
  logs::LogsService& logs_;
};

// The scheduler's view of target groups: a service task is the IP target 127.0.0.1:hostPort
// (an instance-type group gets berth's one "instance", which ELB maps to 127.0.0.1 too).
class ElbTargetRegistry final : public ecs::TargetRegistry {
 public:
  explicit ElbTargetRegistry(elb::ElbService& elb) : elb_(elb) {}
  bool TargetGroupExists(const std::string& arn) const override {
    return elb_.DescribeTargetGroups("", {arn}, {}).ok();
  }
  Status Register(const std::string& arn, int host_port) override {
    BERTH_TRY(elb::Target t, TargetFor(arn, host_port));
    return elb_.RegisterTargets(arn, {t});
  }
  Status Deregister(const std::string& arn, int host_port) override {
    BERTH_TRY(elb::Target t, TargetFor(arn, host_port));
    return elb_.DeregisterTargets(arn, {t});
  }
  std::string State(const std::string& arn, int host_port) const override {
    auto t = TargetFor(arn, host_port);
    if (!t.ok()) {
      return "";
    }
    auto d = elb_.DescribeTargetHealth(arn, {*t});
    return d.ok() && !d->empty() ? d->front().state : "";
  }

 private:
  Result<elb::Target> TargetFor(const std::string& arn, int host_port) const {
    BERTH_TRY(auto groups, elb_.DescribeTargetGroups("", {arn}, {}));
    elb::Target t;
    t.id = groups.at(0).target_type == "ip" ? "127.0.0.1" : "i-0be27h0000000000";
    t.port = host_port;
    return t;
  }
  elb::ElbService& elb_;
};

// Every service event also goes to the log group /berth/ecs/services/CLUSTER/SERVICE.
class LogsServiceEvents final : public ecs::ServiceEventSink {
 public:
  explicit LogsServiceEvents(logs::LogsService& logs) : logs_(logs) {}
  void Record(const std::string& cluster, const std::string& service, int64_t timestamp_ms,
              const std::string& message) override {
    Status s = logs_.AppendContainerOutput("/berth/ecs/services/" + cluster + "/" + service,
                                           "events", true, {{timestamp_ms, message}});
    if (!s.ok()) {
      spdlog::warn("service event for {}/{} not logged: {}", cluster, service, s.error().message);
    }
  }

 private:
  logs::LogsService& logs_;
};

// IAM behind the front door: principals for non-root keys, and AWS's denial messages.
class IamAuthorizer final : public api::Authorizer {
 public:
  explicit IamAuthorizer(iam::IamService& iam) : iam_(iam) {}
  Result<iam::Principal> PrincipalFor(std::string_view key, std::string_view token) override {
    return iam_.PrincipalFor(key, token);
  }
  Status Authorize(const iam::Principal& principal, std::string_view action,
                   std::string_view resource) override {
    iam::Decision d = iam_.Authorize(principal, action, resource, {});
    if (d.allowed()) {
      return OkStatus();
    }
    std::string message = iam::DenialMessage(principal.arn, action, resource, d);
    spdlog::info("access denied: {}", message);
    return MakeError(ErrorKind::AccessDenied, "AccessDeniedException", message);
  }

 private:
  iam::IamService& iam_;
};

// IAM resources of KMS calls: the key a request names, or for Decrypt the key recorded in the
// ciphertext blob.
api::JsonResources KmsResources(kms::KmsService& kms) {
  return [&kms](const std::string& op, const nlohmann::json& in) -> std::vector<std::string> {
    std::string key = in.value("KeyId", in.value("TargetKeyId", ""));
    if (key.empty() && (op == "Decrypt" || op == "ReEncrypt") && in.contains("CiphertextBlob") &&
        in["CiphertextBlob"].is_string()) {
      if (auto blob = core::Base64Decode(in["CiphertextBlob"].get<std::string>())) {
        key = kms::BlobKeyId(*blob).value_or("");
      }
    }
    if (key.empty()) {
      return {"*"};
    }
    auto arn = kms.ResolveKeyArn(key);
    return {arn.ok() ? *arn : "*"};
  };
}

// Secrets Manager's values, encrypted under KMS keys ("" = alias/aws/secretsmanager).
class KmsSecretCipher final : public secretsmanager::SecretCipher {
 public:
  explicit KmsSecretCipher(kms::KmsService& kms) : kms_(kms) {}
  Result<std::pair<std::string, std::string>> Encrypt(
      const std::string& key_ref, std::string_view plaintext,
      const std::map<std::string, std::string>& context) override {
    auto out = kms_.Encrypt(key_ref.empty() ? std::string(kms::kSecretsManagerAliasName) : key_ref,
                            plaintext, context);
    if (!out.ok()) {
      return Translate(out.error(), "EncryptionFailure");
    }
    return std::make_pair(std::move(out->blob), std::move(out->key_arn));
  }
  Result<std::pair<std::string, std::string>> Decrypt(
      std::string_view blob, const std::map<std::string, std::string>& context) override {
    auto out = kms_.Decrypt(blob, context, "");
    if (!out.ok()) {
      return Translate(out.error(), "DecryptionFailure");
    }
    return std::make_pair(std::move(out->plaintext), std::move(out->key_arn));
  }

 private:
  // KMS's own failures reach the caller as Secrets Manager words them.
  static Error Translate(Error e, const char* code) {
    if (e.kind == ErrorKind::Unavailable || e.kind == ErrorKind::Internal ||
        e.kind == ErrorKind::AccessDenied) {
      return e;
    }
    return MakeError(ErrorKind::InvalidArgument, code, e.aws_code + ": " + e.message);
  }
  kms::KmsService& kms_;
};

// SSM SecureString values under KMS keys ("" = alias/aws/ssm). KMS's errors keep their kinds;
// the SSM service words them as InvalidKeyId and friends.
class KmsSecureStringCipher final : public ssm::SecureStringCipher {
 public:
  explicit KmsSecureStringCipher(kms::KmsService& kms) : kms_(kms) {}
  Result<ssm::Encrypted> Encrypt(const std::string& key_ref, std::string_view plaintext,
                                 const std::map<std::string, std::string>& context) override {
    BERTH_TRY(auto out, kms_.Encrypt(key_ref.empty() ? std::string(kms::kSsmAliasName) : key_ref,
                                     plaintext, context));
    return ssm::Encrypted{std::move(out.blob), std::move(out.key_arn)};
  }
  Result<ssm::Decrypted> Decrypt(std::string_view blob,
                                 const std::map<std::string, std::string>& context) override {
    BERTH_TRY(auto out, kms_.Decrypt(blob, context, ""));
    return ssm::Decrypted{std::move(out.plaintext), std::move(out.key_arn)};
  }
  Result<std::string> ResolveKeyArn(const std::string& key_ref) override {
    return key_ref.empty() ? kms_.DefaultSsmKeyArn() : kms_.ResolveKeyArn(key_ref);
  }

 private:
  kms::KmsService& kms_;
};

// Runs `check` for (action, resource) as `principal`, with AWS's denial message.
Status AuthorizeAs(iam::IamService& iam, const iam::Principal& principal, std::string_view action,
                   std::string_view resource) {
  iam::Decision d = iam.Authorize(principal, action, resource, {});
  if (d.allowed()) {
    return OkStatus();
  }
  return MakeError(ErrorKind::AccessDenied, "AccessDeniedException",
                   iam::DenialMessage(principal.arn, action, resource, d));
}

std::string DefaultShimPath() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? "berth-shim" : (exe.parent_path() / "berth-shim").string();
}

bool SplitHostPort(const std::string& listen, std::string* host, int* port) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos) {
    return false;
  }
  *host = listen.substr(0, colon);
  try {
    *port = std::stoi(listen.substr(colon + 1));
  } catch (const std::exception&) {
    return false;
  }
  return *port >= 0 && *port <= 65535;
}

// "80=8080,443=8443" -> {80: 8080, 443: 8443}
bool ParsePortMap(const std::string& text, std::map<int, int>* out) {
  size_t start = 0;
  while (start < text.size()) {
    size_t comma = text.find(',', start);
    std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    size_t eq = item.find('=');
    if (eq == std::string::npos) {
      return false;
    }
    try {
      int from = std::stoi(item.substr(0, eq));
      int to = std::stoi(item.substr(eq + 1));
      if (from < 1 || from > 65535 || to < 0 || to > 65535) {
        return false;
      }
      (*out)[from] = to;
    } catch (const std::exception&) {
      return false;
    }
    if (comma == std::string::npos) {
      break;
    }
    start = comma + 1;
  }
  return true;
}

// Large request buffers (a PutLogEvents batch is ~1.3 MB, copied a few times on its way in)
// would each be a fresh mmap by default, and page faults cost ~12 µs per 4 KiB page on these
// VMs. Keeping them in the heap, and not trimming it eagerly, lets them be reused.
void TuneAllocator() {
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
}

// Each running container holds a pidfd, and each start a status pipe for a moment: the default
// soft limit of 1024 descriptors would cap a host at a few hundred tasks.
void RaiseFileLimit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
  }
}

}  // namespace

int RunServer(const ServerOptions& opts) {
  spdlog::set_level(spdlog::level::from_str(opts.log_level));
  RaiseFileLimit();
  TuneAllocator();
  std::string host;
  int port = 0;
  if (!SplitHostPort(opts.listen, &host, &port)) {
    spdlog::error("--listen must be HOST:PORT, got '{}'", opts.listen);
    return 2;
  }
  std::error_code ec;
  std::filesystem::create_directories(opts.data_dir + "/tasks", ec);
  if (ec) {
    spdlog::error("cannot create data dir {}: {}", opts.data_dir, ec.message());
    return 1;
  }
  ::chmod(opts.data_dir.c_str(), 0700);

  core::SystemClock clock;
  core::RandomIdSource ids;
  auto db = store::Db::Open(opts.data_dir + "/berth.db");
  if (!db.ok()) {
    spdlog::error("{}", db.error().message);
    return 1;
  }
  std::string credentials_file = opts.data_dir + "/credentials";
  auto root = api::LoadOrCreateRootCredentials(credentials_file, ids);
  if (!root.ok()) {
    spdlog::error("{}", root.error().message);
    return 1;
  }

  ecs::EcsConfig ecs_config;
  ecs_config.region = opts.region;
  ecs_config.account_id = opts.account_id;
  ecs_config.tasks_dir = opts.data_dir + "/tasks";
  ecs::EcsService ecs(**db, clock, ids, ecs_config);
  if (Status s = ecs.Open(); !s.ok()) {
    spdlog::error("cannot open the ECS store: {}", s.error().message);
    return 1;
  }

  logs::LogsService logs(**db, clock, opts.data_dir + "/logs", opts.region, opts.account_id);
  if (Status s = logs.Open(); !s.ok()) {
    spdlog::error("cannot open the logs store: {}", s.error().message);
    return 1;
  }

  asio::io_context io(1);

  elb::ElbConfig elb_config;
  elb_config.region = opts.region;
  elb_config.account_id = opts.account_id;
  elb_config.bind_address = opts.lb_bind_address;
  elb_config.access_log_dir = opts.data_dir + "/elb-access-logs";
  elb_config.health_check_time_scale = opts.health_check_time_scale;
  if (!ParsePortMap(opts.lb_port_map, &elb_config.port_map)) {
    spdlog::error("--lb-port-map must look like 80=8080,443=8443, got '{}'", opts.lb_port_map);
    return 2;
  }
  elb::proxy::ProxyOptions proxy_options;
  proxy_options.threads = opts.proxy_threads;
  elb::proxy::Proxy proxy(proxy_options);
  auto prober = elb::MakeHttpHealthProber(io);
  elb::ElbService elb(**db, clock, ids, elb_config, proxy, *prober);
  acm::AcmService acm(**db, clock, ids, opts.region, opts.account_id);
  if (Status s = acm.Open(); !s.ok()) {
    spdlog::error("cannot open the ACM store: {}", s.error().message);
    return 1;
  }
  acm.SetInUseBy([&elb](const std::string& arn) { return elb.LoadBalancersUsingCertificate(arn); });
  elb.SetCertificateResolver([&acm](const std::string& arn) -> Result<elb::TlsMaterial> {
    auto c = acm.Describe(arn);
    if (!c.ok()) {
      return elb::errors::CertificateNotFound(arn);
    }
    return elb::TlsMaterial{c->certificate_pem + c->chain_pem, c->private_key_pem};
  });
  if (Status s = elb.Open(); !s.ok()) {
    spdlog::error("cannot open the ELB store: {}", s.error().message);
    return 1;
  }

  iam::IamService iam(**db, clock, ids, opts.account_id);
  if (Status s = iam.Open(); !s.ok()) {
    spdlog::error("cannot open the IAM store: {}", s.error().message);
    return 1;
  }
  IamAuthorizer authorizer(iam);
  TaskRoleStore task_roles(**db);
  TaskIdentity task_identity(iam, task_roles, clock, ids, opts.region, opts.account_id);
  if (Status s = task_identity.Open(); !s.ok()) {
    spdlog::error("cannot open the task roles: {}", s.error().message);
    return 1;
  }
  ecs.SetTaskEnvironmentProvider(&task_identity);
  const char* master_file = std::getenv("BERTH_MASTER_KEY_FILE");
  auto master = kms::MasterKey::LoadOrCreate(master_file != nullptr && *master_file != '\0'
                                                 ? master_file
                                                 : opts.data_dir + "/master.key");
  if (!master.ok()) {
    spdlog::error("master key: {}", master.error().message);
    return 1;
  }
  kms::KmsService kms(**db, clock, ids, std::move(master).value(),
                      kms::KmsConfig{opts.region, opts.account_id});
  if (Status s = kms.Open(); !s.ok()) {
    spdlog::error("cannot open the KMS store: {}", s.error().message);
    return 1;
  }
  KmsSecretCipher secret_cipher(kms);
  secretsmanager::SecretsService secrets(**db, clock, ids, secret_cipher,
                                         secretsmanager::SecretsConfig{opts.region, opts.account_id});
  if (Status s = secrets.Open(); !s.ok()) {
    spdlog::error("cannot open the Secrets Manager store: {}", s.error().message);
    return 1;
  }
  SecretSource from_secrets_manager = [&](const iam::Principal& role, const std::string& from) {
    return secrets.ResolveForTask(from, [&](std::string_view action, std::string_view resource) {
      return AuthorizeAs(iam, role, action, resource);
    });
  };
  KmsSecureStringCipher parameter_cipher(kms);
  ssm::SsmService ssm(**db, clock, parameter_cipher, ssm::SsmConfig{opts.region, opts.account_id});
  if (Status s = ssm.Open(); !s.ok()) {
    spdlog::error("cannot open the SSM store: {}", s.error().message);
    return 1;
  }
  // ECS's secrets from Parameter Store, read as the execution role: ssm:GetParameters on the
  // parameter, kms:Decrypt on its key.
  SecretSource from_ssm = [&](const iam::Principal& role, const std::string& from) -> Result<std::string> {
    BERTH_RETURN_IF_ERROR(AuthorizeAs(iam, role, "ssm:GetParameters", ssm.ParameterArn(from)));
    ssm::DecryptOptions options;
    options.with_decryption = true;
    options.authorize = [&](const std::string& key_arn) {
      return AuthorizeAs(iam, role, "kms:Decrypt", key_arn);
    };
    auto value = ssm.GetParameter(from, options);
    if (!value.ok()) {
      if (value.error().kind == ErrorKind::NotFound) {
        return MakeError(ErrorKind::NotFound, "", "invalid ssm parameters: " + from);
      }
      return value.error();
    }
    return value->value;
  };
  task_identity.SetSources(from_ssm, from_secrets_manager);
  api::CredentialStore credentials(*root);
  credentials.SetOtherKeys([&iam](std::string_view key, std::string_view token) {
    return iam.SecretFor(key, token);
  });
  api::SigV4Verifier verifier(credentials);
  api::ServiceRegistry registry;
  ElbTargetRegistry target_registry(elb);
  LogsServiceEvents service_events(logs);
  ecs::ServiceScheduler scheduler(ecs, **db, clock, ids, &target_registry, &service_events);
  if (Status s = scheduler.Open(); !s.ok()) {
    spdlog::error("cannot open the ECS services: {}", s.error().message);
    return 1;
  }
  api::JsonService ecs_api = api::MakeEcsHandlers(ecs);
  api::AddEcsServiceOperations(ecs_api, scheduler);
  registry.Add(std::move(ecs_api));
  registry.Add(api::MakeLogsHandlers(logs));
  api::QueryService sts = api::MakeStsHandlers(iam);
  // GetCallerIdentity needs no permission; AssumeRole checks the trust and identity policies.
  sts.resources = [](const std::string&, const api::QueryParams&) {
    return std::vector<std::string>{};
  };
  registry.Add(std::move(sts));
  registry.Add(api::MakeIamHandlers(iam));
  registry.Add(api::MakeElbHandlers(elb));
  registry.Add(api::MakeAcmHandlers(acm));
  api::JsonService kms_api = api::MakeKmsHandlers(kms);
  kms_api.resources = KmsResources(kms);
  registry.Add(std::move(kms_api));
  registry.Add(api::MakeSecretsManagerHandlers(secrets));
  api::JsonService ssm_api = api::MakeSsmHandlers(ssm);
  // These check ssm:OPERATION per parameter (and kms:Decrypt per key) in the handler.
  ssm_api.resources = [](const std::string& op, const nlohmann::json&) {
    static const std::set<std::string> kSelf = {
        "GetParameter", "GetParameters", "GetParametersByPath", "PutParameter",
        "DeleteParameter", "DeleteParameters", "GetParameterHistory", "LabelParameterVersion",
        "UnlabelParameterVersion", "AddTagsToResource", "RemoveTagsFromResource",
        "ListTagsForResource"};
    return kSelf.count(op) ? std::vector<std::string>{} : std::vector<std::string>{"*"};
  };
  registry.Add(std::move(ssm_api));
  api::FrontDoor front_door(registry, verifier, clock, ids, opts.region, opts.account_id);
  front_door.SetAuthorizer(&authorizer, root->access_key_id);
  CommitBatcher batcher(io, **db);
  ecs.SetAfterCommit([&batcher](std::function<void()> f) { batcher.AfterCommit(std::move(f)); });
  api::HttpServer http(
      io,
      [&](api::HttpRequest& req, api::HttpServer::Respond respond) {
        if (TaskIdentity::IsCredentialsRequest(req)) {  // tasks' role credentials, unsigned
          respond(task_identity.ServeCredentials(req));
          return;
        }
        batcher.Enter();
        auto res = std::make_shared<api::HttpResponse>(front_door.Handle(req));
        batcher.AfterCommit([respond = std::move(respond), res] { respond(std::move(*res)); });
      },
      [&](const api::HttpRequest& head) { return front_door.TooLarge(head); }, kBodyLimit);
  auto bound = http.Listen(host, port);
  if (!bound.ok()) {
    spdlog::error("{}", bound.error().message);
    return 1;
  }
  std::string endpoint = "http://" + host + ":" + std::to_string(*bound);

  // Every container starts with these; the task definition's environment comes on top.
  const char* home = std::getenv("HOME");
  ecs_config.base_environment = {
      {"PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
      {"HOME", home ? home : "/root"},
      {"LANG", "C.UTF-8"},
      {"AWS_REGION", opts.region},
      {"AWS_DEFAULT_REGION", opts.region},
      {"AWS_EXECUTION_ENV", "AWS_ECS_FARGATE"},
      {"AWS_ENDPOINT_URL", endpoint},
      // A Fargate task has no shared credentials or config file: the SDKs inside must not find
      // the host's, only the task role's (container credentials) or what the task sets itself.
      {"AWS_SHARED_CREDENTIALS_FILE", "/dev/null"},
      {"AWS_CONFIG_FILE", "/dev/null"},
  };
  task_identity.SetEndpoint(endpoint);
  ecs.SetBaseEnvironment(ecs_config.base_environment);

  std::string shim = opts.shim_path.empty() ? DefaultShimPath() : opts.shim_path;
  auto driver = agent::MakeProcessDriver(io, shim);
  LogsSinkAdapter log_sink(logs);
  agent::Agent agent(io, *driver, ecs, &log_sink, &clock);
  ecs.AttachAgent(agent);

  // Logs housekeeping: fsync of recent appends and retention, once a second.
  asio::steady_timer maintenance(io);
  std::function<void()> maintain = [&] {
    maintenance.expires_after(std::chrono::seconds(1));
    maintenance.async_wait([&](const boost::system::error_code& ec) {
      if (!ec) {
        logs.Maintain();
        maintain();
      }
    });
  };
  maintain();

  // Load balancer health checks and deregistration drains.
  asio::steady_timer elb_timer(io);
  std::function<void()> elb_tick = [&] {
    elb_timer.expires_after(std::chrono::milliseconds(100));
    elb_timer.async_wait([&](const boost::system::error_code& ec) {
      if (!ec) {
        elb.Tick();
        elb_tick();
      }
    });
  };
  elb_tick();

  // The service scheduler: a pass over every service four times a second, inside a store batch
  // like an API request (task starts wait for the commit).
  asio::steady_timer scheduler_timer(io);
  std::function<void()> schedule = [&] {
    scheduler_timer.expires_after(std::chrono::milliseconds(250));
    scheduler_timer.async_wait([&](const boost::system::error_code& ec) {
      if (!ec) {
        batcher.Enter();
        scheduler.Reconcile();
        schedule();
      }
    });
  };
  schedule();

  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int sig) {
    spdlog::info("signal {}: stopping (tasks keep running and are adopted on the next start)",
                 sig);
    http.Close();
    logs.Maintain();
    // Behind whatever is already queued, so an open store batch commits and its held replies
    // go out before the loop ends.
    asio::post(io, [&io] { io.stop(); });
  });

  if (!opts.ready_file.empty()) {
    std::ofstream(opts.ready_file + ".tmp") << *bound << "\n";
    std::filesystem::rename(opts.ready_file + ".tmp", opts.ready_file, ec);
  }
  spdlog::info("berth server listening on {} (region {}, account {}, data {})", endpoint,
               opts.region, opts.account_id, opts.data_dir);
  spdlog::info("point the aws CLI at it: AWS_ENDPOINT_URL={} AWS_SHARED_CREDENTIALS_FILE={} "
               "AWS_DEFAULT_REGION={} aws ecs list-clusters",
               endpoint, credentials_file, opts.region);
  core::RunEventLoop(io, std::chrono::microseconds(opts.busy_poll_us));
  return 0;
}

}  // namespace berth::server
