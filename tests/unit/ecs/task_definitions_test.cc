#include "ecs/task_definitions.h"

#include <gtest/gtest.h>

namespace berth::ecs {

using nlohmann::json;

namespace {
json Minimal() {
  return json::parse(R"({"family": "web", "memory": "512", "containerDefinitions": [
      {"name": "app", "image": "busybox", "command": ["httpd", "-f"],
       "portMappings": [{"containerPort": 8080}]}]})");
}
}  // namespace

TEST(TaskDefinitions, FillsEcsDefaults) {
  auto doc = NormalizeTaskDefinition(Minimal());
  ASSERT_TRUE(doc.ok());
  const json& c = (*doc)["containerDefinitions"][0];
  EXPECT_EQ(c["essential"], true);
  EXPECT_EQ(c["portMappings"][0]["protocol"], "tcp");
  EXPECT_EQ(c["portMappings"][0]["hostPort"], 8080);  // awsvpc: hostPort = containerPort
  EXPECT_EQ((*doc)["networkMode"], "awsvpc");
  EXPECT_EQ((*doc)["compatibilities"], json::array({"EC2", "FARGATE"}));
}

TEST(TaskDefinitions, KeepsFieldsBerthDoesNotActOnYet) {
  json req = Minimal();
  req["containerDefinitions"][0]["ulimits"] = json::array({{{"name", "nofile"}}});
  req["proxyConfiguration"] = {{"type", "APPMESH"}};
  auto doc = NormalizeTaskDefinition(req);
  ASSERT_TRUE(doc.ok());
  EXPECT_EQ((*doc)["containerDefinitions"][0]["ulimits"][0]["name"], "nofile");
  EXPECT_EQ((*doc)["proxyConfiguration"]["type"], "APPMESH");
}

TEST(TaskDefinitions, RejectsWithEcsCodes) {
  json no_containers = {{"family", "web"}, {"containerDefinitions", json::array()}};
  auto r = NormalizeTaskDefinition(no_containers);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().aws_code, "ClientException");
  EXPECT_EQ(r.error().message, "Container list cannot be empty.");

  json bad_family = Minimal();
  bad_family["family"] = "web app!";
  EXPECT_EQ(NormalizeTaskDefinition(bad_family).error().aws_code, "ClientException");

  json no_image = Minimal();
  no_image["containerDefinitions"][0].erase("image");
  EXPECT_EQ(NormalizeTaskDefinition(no_image).error().message,
            "Container.image should not be null or empty.");

  json dup = Minimal();
  dup["containerDefinitions"].push_back(dup["containerDefinitions"][0]);
  EXPECT_FALSE(NormalizeTaskDefinition(dup).ok());

  json bad_dep = Minimal();
  bad_dep["containerDefinitions"][0]["dependsOn"] =
      json::array({{{"containerName", "ghost"}, {"condition", "START"}}});
  EXPECT_FALSE(NormalizeTaskDefinition(bad_dep).ok());

  json mismatched = Minimal();
  mismatched["containerDefinitions"][0]["portMappings"][0]["hostPort"] = 80;
  EXPECT_FALSE(NormalizeTaskDefinition(mismatched).ok());

  json wrong_type = Minimal();
  wrong_type["containerDefinitions"][0]["command"] = "httpd -f";
  EXPECT_FALSE(NormalizeTaskDefinition(wrong_type).ok());

  json bad_hc = Minimal();
  bad_hc["containerDefinitions"][0]["healthCheck"] = {{"command", {"CMD", "true"}},
                                                      {"interval", 1}};
  EXPECT_FALSE(NormalizeTaskDefinition(bad_hc).ok());
}

TEST(TaskDefinitions, NeedsMemoryOnTheTaskOrEachContainer) {
  json req = Minimal();
  req.erase("memory");
  auto r = NormalizeTaskDefinition(req);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().aws_code, "ClientException");
  EXPECT_EQ(r.error().message,
            "Invalid setting for container 'app'. At least one of 'memory' or "
            "'memoryReservation' must be specified.");
  req["containerDefinitions"][0]["memoryReservation"] = 64;
  EXPECT_TRUE(NormalizeTaskDefinition(req).ok());
}

TEST(TaskDefinitions, ParsesReferences) {
  EXPECT_EQ(ParseTaskDefinitionRef("web")->revision, 0);
  EXPECT_EQ(ParseTaskDefinitionRef("web:3")->revision, 3);
  auto arn = ParseTaskDefinitionRef("arn:aws:ecs:us-east-1:0:task-definition/web:7");
  ASSERT_TRUE(arn.ok());
  EXPECT_EQ(arn->family, "web");
  EXPECT_EQ(arn->revision, 7);
  EXPECT_FALSE(ParseTaskDefinitionRef("web:x").ok());
  EXPECT_FALSE(ParseTaskDefinitionRef("web:0").ok());
  EXPECT_FALSE(ParseTaskDefinitionRef(":3").ok());
}

TEST(TaskDefinitions, BuildsSpecLikeDocker) {
  json req = Minimal();
  req["containerDefinitions"][0]["entryPoint"] = {"/bin/sh", "-c"};
  req["containerDefinitions"][0]["command"] = {"echo one"};
  req["containerDefinitions"][0]["environment"] = {{{"name", "A"}, {"value", "td"}},
                                                   {{"name", "B"}, {"value", "td"}}};
  req["containerDefinitions"][0]["healthCheck"] = {{"command", {"CMD-SHELL", "curl", "-f", "x"}}};
  TaskDefinition td;
  td.document = *NormalizeTaskDefinition(req);
  TaskOverride ov;
  ov.container_overrides.push_back({"app", std::vector<std::string>{"echo two"}, {{"B", "ov"}}, {}, {}});
  agent::TaskSpec spec = BuildTaskSpec(td, ov, "id1", "/tmp/t/id1", {{"A", "base"}, {"P", "base"}});
  ASSERT_EQ(spec.containers.size(), 1u);
  const agent::ContainerSpec& c = spec.containers[0];
  EXPECT_EQ(c.argv, (std::vector<std::string>{"/bin/sh", "-c", "echo two"}));
  std::map<std::string, std::string> env(c.environment.begin(), c.environment.end());
  EXPECT_EQ(env["A"], "td");
  EXPECT_EQ(env["B"], "ov");
  EXPECT_EQ(env["P"], "base");
  ASSERT_TRUE(c.health_check.has_value());
  EXPECT_EQ(c.health_check->argv, (std::vector<std::string>{"/bin/sh", "-c", "curl -f x"}));
  EXPECT_EQ(c.health_check->interval_seconds, 30);
  EXPECT_EQ(c.stop_timeout_seconds, 30);
  ASSERT_EQ(c.port_mappings.size(), 1u);
  EXPECT_EQ(c.port_mappings[0].host_port, 0);  // the process driver picks
}

}  // namespace berth::ecs
