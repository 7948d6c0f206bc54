"""ECS services through real clients: the seeds' deploy flow, rolling deploys behind a berth
load balancer under load with zero errors, the circuit breaker's rollback, task replacement and a
server killed mid-deployment."""
import http.client
import json
import os
import signal
import sys
import threading
import time

import pytest

from conftest import CLIS, free_port, wait_for

APP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "service_app.py")


def app_container(version, name="web", command=None, health_fail_file=""):
    return [{"name": name, "image": "berth/service-app",
             "command": command or [sys.executable, APP],
             "environment": [{"name": "APP_VERSION", "value": version},
                             {"name": "HEALTH_FAIL_FILE", "value": health_fail_file}],
             "portMappings": [{"containerPort": 8080}]}]


def register(server, family, version, cli=None, **kw):
    args = ["ecs", "register-task-definition", "--family", family, "--memory", "128",
            "--container-definitions", json.dumps(app_container(version, **kw))]
    return server.aws(*args, **({"cli": cli} if cli else {}))["taskDefinition"]["taskDefinitionArn"]


def service_tasks(ecs, service):
    arns = ecs.list_tasks(serviceName=service)["taskArns"]
    return ecs.describe_tasks(tasks=arns)["tasks"] if arns else []


def get(port, path="/", timeout=5):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, r.read().decode()
    finally:
        conn.close()


class Load:
    """A bounded client load through the listener: counts statuses and versions seen, in order."""

    def __init__(self, port, threads=4):
        self.port = port
        self.stop = threading.Event()
        self.results = []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def _run(self):
        conn = None
        while not self.stop.is_set():
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                conn.request("GET", "/")
                r = conn.getresponse()
                body = r.read().decode()
                item = (r.status, body)
            except Exception as e:  # noqa: BLE001 - every failure is a result here
                item = ("error", repr(e))
                conn = None
            with self.lock:
                self.results.append(item)
            time.sleep(0.005)

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(15)

    def errors(self):
        return [r for r in self.results if r[0] != 200]

    def versions(self):
        return [r[1] for r in self.results if r[0] == 200]


def lb_for_service(server, name):
    elb = server.boto3("elbv2")
    lb = elb.create_load_balancer(Name=name, Subnets=["subnet-a", "subnet-b"])["LoadBalancers"][0]
    tg = elb.create_target_group(
        Name=name, Protocol="HTTP", Port=8080, VpcId="vpc-1", TargetType="ip",
        HealthCheckPath="/health_check", HealthCheckIntervalSeconds=5, HealthCheckTimeoutSeconds=2,
        HealthyThresholdCount=2, UnhealthyThresholdCount=2)["TargetGroups"][0]
    elb.modify_target_group_attributes(
        TargetGroupArn=tg["TargetGroupArn"],
        Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "5"}])
    port = free_port()
    elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=port,
                        DefaultActions=[{"Type": "forward", "TargetGroupArn": tg["TargetGroupArn"]}])
    return tg["TargetGroupArn"], port


@pytest.mark.parametrize("cli", CLIS)
def test_kptboard_deploy_flow(server, cli, name):
    """register revision 2 → run the migration task and wait → update-service → services-stable."""
    aws = lambda *a, **kw: server.aws(*a, cli=cli, **kw)  # noqa: E731
    register(server, name, "v1", cli=cli)
    svc = aws("ecs", "create-service", "--cluster", "default", "--service-name", name,
              "--task-definition", name, "--desired-count", "2",
              "--deployment-configuration", "maximumPercent=200,minimumHealthyPercent=50")["service"]
    assert svc["status"] == "ACTIVE" and svc["deployments"][0]["rolloutState"] == "IN_PROGRESS"
    aws("ecs", "wait", "services-stable", "--cluster", "default", "--services", name, timeout=120)
    rev2 = register(server, name, "v2", cli=cli)
    migration = aws("ecs", "run-task", "--cluster", "default", "--task-definition", rev2,
                    "--overrides", json.dumps({"containerOverrides": [
                        {"name": "web", "command": ["sh", "-c", "echo migrating; exit 0"]}]}))
    task = migration["tasks"][0]["taskArn"]
    aws("ecs", "wait", "tasks-stopped", "--cluster", "default", "--tasks", task, timeout=60)
    done = aws("ecs", "describe-tasks", "--cluster", "default", "--tasks", task)["tasks"][0]
    assert done["containers"][0]["exitCode"] == 0
    aws("ecs", "update-service", "--cluster", "default", "--service", name,
        "--task-definition", rev2)
    aws("ecs", "wait", "services-stable", "--cluster", "default", "--services", name, timeout=120)
    svc = aws("ecs", "describe-services", "--cluster", "default", "--services", name)["services"][0]
    assert len(svc["deployments"]) == 1
    assert svc["deployments"][0]["rolloutState"] == "COMPLETED"
    assert svc["deployments"][0]["taskDefinition"] == rev2
    assert svc["runningCount"] == 2
    assert any("has reached a steady state." in e["message"] for e in svc["events"])
    tasks = service_tasks(server.boto3("ecs"), name)
    assert len(tasks) == 2 and {t["taskDefinitionArn"] for t in tasks} == {rev2}
    assert all(t["group"] == "service:" + name for t in tasks)
    assert all(t["startedBy"] == svc["deployments"][0]["id"] for t in tasks)
    aws("ecs", "delete-service", "--cluster", "default", "--service", name, "--force")
    aws("ecs", "wait", "services-inactive", "--cluster", "default", "--services", name, timeout=60)


def test_rolling_deploy_behind_the_load_balancer_has_zero_errors(server, name):
    ecs = server.boto3("ecs")
    tg, port = lb_for_service(server, name)
    register(server, name, "v1")
    ecs.create_service(cluster="default", serviceName=name, taskDefinition=name, desiredCount=4,
                       loadBalancers=[{"targetGroupArn": tg, "containerName": "web",
                                       "containerPort": 8080}],
                       deploymentConfiguration={"maximumPercent": 200, "minimumHealthyPercent": 100})
    ecs.get_waiter("services_stable").wait(cluster="default", services=[name],
                                           WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    wait_for(lambda: get(port) == (200, "v1"), what="v1 serving")
    rev2 = register(server, name, "v2")
    with Load(port) as load:
        started = time.time()
        time.sleep(1)
        ecs.update_service(cluster="default", service=name, taskDefinition=rev2)
        ecs.get_waiter("services_stable").wait(cluster="default", services=[name],
                                               WaiterConfig={"Delay": 1, "MaxAttempts": 120})
        time.sleep(max(1, 20 - (time.time() - started)))  # a 20 s load in all
    assert load.errors() == [], load.errors()[:5]
    versions = load.versions()
    assert len(versions) > 200
    assert versions[0] == "v1" and versions[-1] == "v2"
    # Once v2 answers only v2 follows, except where the two overlap while old tasks drain.
    last_v1 = max(i for i, v in enumerate(versions) if v == "v1")
    first_v2 = versions.index("v2")
    assert last_v1 > first_v2 or last_v1 < first_v2
    tasks = service_tasks(ecs, name)
    assert len(tasks) == 4 and {t["taskDefinitionArn"] for t in tasks} == {rev2}
    elb = server.boto3("elbv2")
    health = elb.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]
    assert sorted(h["Target"]["Port"] for h in health) == sorted(
        t["containers"][0]["networkBindings"][0]["hostPort"] for t in tasks)
    ecs.delete_service(cluster="default", service=name, force=True)


def test_circuit_breaker_rolls_back_without_interrupting_traffic(server, name):
    ecs = server.boto3("ecs")
    tg, port = lb_for_service(server, name)
    rev1 = register(server, name, "v1")
    ecs.create_service(cluster="default", serviceName=name, taskDefinition=name, desiredCount=2,
                       loadBalancers=[{"targetGroupArn": tg, "containerName": "web",
                                       "containerPort": 8080}],
                       deploymentConfiguration={
                           "maximumPercent": 200, "minimumHealthyPercent": 100,
                           "deploymentCircuitBreaker": {"enable": True, "rollback": True}})
    ecs.get_waiter("services_stable").wait(cluster="default", services=[name],
                                           WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    wait_for(lambda: get(port) == (200, "v1"), what="v1 serving")
    v1_tasks = {t["taskArn"] for t in service_tasks(ecs, name)}
    bad = register(server, name, "broken", command=["sh", "-c", "echo crash; exit 3"])
    with Load(port) as load:
        ecs.update_service(cluster="default", service=name, taskDefinition=bad)
        seen_failed = []

        def failed_and_rolled_back():
            svc = ecs.describe_services(cluster="default", services=[name])["services"][0]
            seen_failed.extend(d for d in svc["deployments"] if d["rolloutState"] == "FAILED")
            return any("rolling back to deployment" in e["message"] for e in svc["events"])
        wait_for(failed_and_rolled_back, timeout=90, interval=0.1, what="rollback")
        if seen_failed:  # the FAILED deployment is listed until its last task is gone
            assert seen_failed[-1]["taskDefinition"] == bad
            assert seen_failed[-1]["rolloutStateReason"].startswith("ECS deployment circuit breaker")
        ecs.get_waiter("services_stable").wait(cluster="default", services=[name],
                                               WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    svc = ecs.describe_services(cluster="default", services=[name])["services"][0]
    assert svc["taskDefinition"] == rev1
    assert svc["deployments"][0]["taskDefinition"] == rev1
    messages = [e["message"] for e in svc["events"]]
    assert any("deployment failed: tasks failed to start." in m for m in messages)
    assert any("rolling back to deployment" in m for m in messages)
    assert load.errors() == [], load.errors()[:5]
    assert set(load.versions()) == {"v1"}
    # The healthy v1 tasks were kept: the rollback replaced nothing.
    assert {t["taskArn"] for t in service_tasks(ecs, name)} == v1_tasks
    # The whole story is also in the service's log group.
    logs = server.boto3("logs")
    events = logs.filter_log_events(logGroupName=f"/berth/ecs/services/default/{name}")["events"]
    assert any("rolling back to deployment" in e["message"] for e in events)
    ecs.delete_service(cluster="default", service=name, force=True)


def test_killed_task_is_replaced(server, name):
    ecs = server.boto3("ecs")
    tg, port = lb_for_service(server, name)
    register(server, name, "v1")
    ecs.create_service(cluster="default", serviceName=name, taskDefinition=name, desiredCount=1,
                       loadBalancers=[{"targetGroupArn": tg, "containerName": "web",
                                       "containerPort": 8080}])
    ecs.get_waiter("services_stable").wait(cluster="default", services=[name],
                                           WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    before = service_tasks(ecs, name)[0]["taskArn"]
    # services-stable counts RUNNING tasks, as on AWS; the target may still be in its first
    # health checks.
    wait_for(lambda: get(port)[0] == 200, what="target healthy")
    pid = int(get(port, "/pid")[1])
    os.kill(pid, signal.SIGKILL)
    started = time.time()
    wait_for(lambda: get(port)[0] == 200 and service_tasks(ecs, name) and
             service_tasks(ecs, name)[0]["taskArn"] != before, timeout=30, interval=0.2,
             what="replacement serving")
    assert time.time() - started < 15
    ecs.delete_service(cluster="default", service=name, force=True)


def test_task_failing_elb_health_checks_is_replaced(server, name, tmp_path):
    ecs = server.boto3("ecs")
    tg, port = lb_for_service(server, name)
    flag = tmp_path / "unhealthy"
    register(server, name, "v1", health_fail_file=str(flag))
    ecs.create_service(cluster="default", serviceName=name, taskDefinition=name, desiredCount=1,
                       loadBalancers=[{"targetGroupArn": tg, "containerName": "web",
                                       "containerPort": 8080}])
    ecs.get_waiter("services_stable").wait(cluster="default", services=[name],
                                           WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    wait_for(lambda: get(port)[0] == 200, what="target healthy")
    before = service_tasks(ecs, name)[0]["taskArn"]
    flag.write_text("x")
    events = wait_for(lambda: [e["message"] for e in ecs.describe_services(
        cluster="default", services=[name])["services"][0]["events"]
        if "failed ELB health checks" in e["message"]], timeout=30, interval=0.2,
        what="ELB health check failure")
    assert before.rsplit("/", 1)[1] in events[0]
    flag.unlink()
    wait_for(lambda: get(port)[0] == 200 and service_tasks(ecs, name)[0]["taskArn"] != before,
             timeout=30, interval=0.2, what="replacement healthy")
    ecs.delete_service(cluster="default", service=name, force=True)


def test_server_killed_mid_deployment_finishes_it(own_server, name):
    ecs = own_server.boto3("ecs")
    register(own_server, name, "v1")
    ecs.create_service(cluster="default", serviceName=name, taskDefinition=name, desiredCount=3)
    ecs.get_waiter("services_stable").wait(cluster="default", services=[name],
                                           WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    rev2 = register(own_server, name, "v2")
    ecs.update_service(cluster="default", service=name, taskDefinition=rev2)
    time.sleep(0.3)  # some new tasks started, old ones not yet all stopped
    own_server.kill9()
    own_server.start()
    ecs = own_server.boto3("ecs")
    ecs.get_waiter("services_stable").wait(cluster="default", services=[name],
                                           WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    tasks = service_tasks(ecs, name)
    assert len(tasks) == 3 and {t["taskDefinitionArn"] for t in tasks} == {rev2}
    # No orphan: every task of the family that is still running belongs to the service.
    running = ecs.list_tasks(family=name)["taskArns"]
    assert sorted(running) == sorted(t["taskArn"] for t in tasks)
    ecs.delete_service(cluster="default", service=name, force=True)


@pytest.mark.parametrize("cli", CLIS)
def test_service_api_errors(server, cli, name):
    def fails(*args):
        r = server.aws("ecs", *args, cli=cli, check=False)
        assert r.returncode != 0, r.stdout
        return r.stderr
    assert "ServiceNotFoundException" in fails("update-service", "--service", "nope-" + name,
                                               "--desired-count", "1")
    register(server, name, "v1", cli=cli)
    server.aws("ecs", "create-service", "--service-name", name, "--task-definition", name,
               "--desired-count", "0", cli=cli)
    assert "InvalidParameterException" in fails("create-service", "--service-name", name,
                                                "--task-definition", name, "--desired-count", "0")
    assert "ClusterContainsServicesException" in fails("delete-cluster", "--cluster", "default")
    assert "InvalidParameterException" in fails(
        "create-service", "--service-name", name + "lb", "--task-definition", name,
        "--desired-count", "1", "--load-balancers",
        "targetGroupArn=arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/x/1,"
        "containerName=web,containerPort=8080")
    missing = server.aws("ecs", "describe-services", "--services", "nope-" + name, cli=cli)
    assert missing["failures"][0]["reason"] == "MISSING"
    arns = server.aws("ecs", "list-services", cli=cli)["serviceArns"]
    assert any(a.endswith("/" + name) for a in arns)
    server.aws("ecs", "delete-service", "--service", name, cli=cli)
