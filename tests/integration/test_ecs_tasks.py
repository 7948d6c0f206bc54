"""ECS task definitions and tasks that really run, through both aws CLIs and boto3."""
import json
import os
import time

import pytest

from conftest import CLIS, wait_for


def register(server, family, containers, cli=None, **extra):
    extra.setdefault("memory", "512")  # ECS needs a memory size on the task or each container
    args = ["ecs", "register-task-definition", "--family", family,
            "--container-definitions", json.dumps(containers)]
    for k, v in extra.items():
        args += ["--" + k.replace("_", "-"), v]
    kw = {"cli": cli} if cli else {}
    return server.aws(*args, **kw)["taskDefinition"]


def run_task(server, family, cli=None, *extra):
    kw = {"cli": cli} if cli else {}
    out = server.aws("ecs", "run-task", "--task-definition", family, *extra, **kw)
    assert out["failures"] == []
    return out["tasks"][0]


def describe(server, arn, cli=None):
    kw = {"cli": cli} if cli else {}
    return server.aws("ecs", "describe-tasks", "--tasks", arn, **kw)["tasks"][0]


@pytest.mark.parametrize("cli", CLIS)
def test_exit_code_reaches_describe_tasks(server, name, cli):
    td = register(server, name, [{"name": "app", "image": "busybox",
                                  "command": ["sh", "-c", "echo started; exit 3"]}], cli=cli)
    assert td["revision"] == 1
    assert td["containerDefinitions"][0]["essential"] is True
    task = run_task(server, name, cli)
    assert task["lastStatus"] == "PROVISIONING"
    assert task["desiredStatus"] == "RUNNING"
    assert task["taskArn"].startswith("arn:aws:ecs:us-east-1:000000000000:task/default/")
    server.aws("ecs", "wait", "tasks-stopped", "--tasks", task["taskArn"], cli=cli)
    t = describe(server, task["taskArn"], cli)
    assert t["lastStatus"] == "STOPPED"
    assert t["stopCode"] == "EssentialContainerExited"
    assert t["stoppedReason"] == "Essential container in task exited"
    assert t["containers"][0]["exitCode"] == 3
    for field in ("createdAt", "startedAt", "stoppingAt", "stoppedAt"):
        assert field in t, field


def test_stop_task_escalates_to_sigkill_after_stop_timeout(server, name):
    register(server, name, [{"name": "app", "image": "busybox", "stopTimeout": 2,
                             "command": ["sh", "-c", "trap '' TERM; while :; do sleep 0.1; done"]}])
    task = run_task(server, name)
    server.aws("ecs", "wait", "tasks-running", "--tasks", task["taskArn"])
    t0 = time.time()
    stopped = server.aws("ecs", "stop-task", "--task", task["taskArn"], "--reason", "deploy")
    assert stopped["task"]["desiredStatus"] == "STOPPED"
    server.aws("ecs", "wait", "tasks-stopped", "--tasks", task["taskArn"])
    elapsed = time.time() - t0
    t = describe(server, task["taskArn"])
    assert t["stopCode"] == "UserInitiated"
    assert t["stoppedReason"] == "deploy"
    assert t["containers"][0]["exitCode"] == 137
    assert 1.5 <= elapsed < 10, elapsed


def test_stop_task_of_sleep_stops_on_sigterm(server, name):
    register(server, name, [{"name": "app", "image": "busybox", "command": ["sleep", "600"]}])
    task = run_task(server, name)
    server.aws("ecs", "wait", "tasks-running", "--tasks", task["taskArn"])
    t0 = time.time()
    server.aws("ecs", "stop-task", "--task", task["taskArn"])
    server.aws("ecs", "wait", "tasks-stopped", "--tasks", task["taskArn"])
    assert time.time() - t0 < 30
    t = describe(server, task["taskArn"])
    assert t["containers"][0]["exitCode"] == 143
    assert t["stoppedReason"] == "Task stopped by user"


def test_non_essential_exit_keeps_task_running(server, name):
    register(server, name, [
        {"name": "app", "image": "busybox", "command": ["sleep", "600"], "stopTimeout": 2},
        {"name": "once", "image": "busybox", "essential": False, "command": ["sh", "-c", "exit 4"]},
    ])
    task = run_task(server, name)
    arn = task["taskArn"]
    wait_for(lambda: [c for c in describe(server, arn)["containers"]
                      if c["name"] == "once" and c.get("exitCode") == 4], what="sidecar exit")
    t = describe(server, arn)
    assert t["lastStatus"] == "RUNNING"
    assert t["desiredStatus"] == "RUNNING"
    server.aws("ecs", "stop-task", "--task", arn)
    server.aws("ecs", "wait", "tasks-stopped", "--tasks", arn)


def test_depends_on_orders_containers(server, name, tmp_path):
    marker = tmp_path / "migrated"
    register(server, name, [
        {"name": "migrate", "image": "app", "essential": False,
         "command": ["sh", "-c", f"sleep 0.3; touch {marker}"]},
        {"name": "app", "image": "app",
         "command": ["sh", "-c", f"test -f {marker} && exit 0 || exit 9"],
         "dependsOn": [{"containerName": "migrate", "condition": "SUCCESS"}]},
    ])
    task = run_task(server, name)
    server.aws("ecs", "wait", "tasks-stopped", "--tasks", task["taskArn"])
    t = describe(server, task["taskArn"])
    codes = {c["name"]: c.get("exitCode") for c in t["containers"]}
    assert codes == {"migrate": 0, "app": 0}


def test_failed_dependency_fails_the_task(server, name):
    register(server, name, [
        {"name": "migrate", "image": "app", "essential": False, "command": ["sh", "-c", "exit 1"]},
        {"name": "app", "image": "app", "command": ["sleep", "600"],
         "dependsOn": [{"containerName": "migrate", "condition": "SUCCESS"}]},
    ])
    task = run_task(server, name)
    server.aws("ecs", "wait", "tasks-stopped", "--tasks", task["taskArn"])
    t = describe(server, task["taskArn"])
    assert t["stopCode"] == "TaskFailedToStart"
    assert "SUCCESS" in t["stoppedReason"]
    app = [c for c in t["containers"] if c["name"] == "app"][0]
    assert "exitCode" not in app


def test_health_check_turns_healthy_and_unhealthy(server, name, tmp_path):
    flag = tmp_path / "healthy"
    flag.write_text("1")
    register(server, name, [{
        "name": "app", "image": "app", "command": ["sleep", "600"], "stopTimeout": 2,
        "healthCheck": {"command": ["CMD-SHELL", f"test -f {flag}"], "interval": 5,
                        "timeout": 2, "retries": 1}}])
    task = run_task(server, name)
    arn = task["taskArn"]
    wait_for(lambda: describe(server, arn)["healthStatus"] == "HEALTHY", timeout=20,
             interval=0.5, what="HEALTHY")
    assert describe(server, arn)["containers"][0]["healthStatus"] == "HEALTHY"
    flag.unlink()
    wait_for(lambda: describe(server, arn)["healthStatus"] == "UNHEALTHY", timeout=20,
             interval=0.5, what="UNHEALTHY")
    server.aws("ecs", "stop-task", "--task", arn)


def test_missing_command_fails_to_start(server, name):
    register(server, name, [{"name": "app", "image": "app", "command": ["/nonexistent/bin"]}])
    task = run_task(server, name)
    server.aws("ecs", "wait", "tasks-stopped", "--tasks", task["taskArn"])
    t = describe(server, task["taskArn"])
    assert t["stopCode"] == "TaskFailedToStart"
    assert t["stoppedReason"].startswith("CannotStartContainerError")


def test_port_mapping_gives_port_and_network_binding(server, name, tmp_path):
    out = tmp_path / "port"
    register(server, name, [{"name": "web", "image": "app", "stopTimeout": 2,
                             "command": ["sh", "-c", f"echo $PORT $BERTH_PORT_8080 > {out}; sleep 600"],
                             "portMappings": [{"containerPort": 8080}]}])
    task = run_task(server, name)
    server.aws("ecs", "wait", "tasks-running", "--tasks", task["taskArn"])
    t = describe(server, task["taskArn"])
    binding = t["containers"][0]["networkBindings"][0]
    assert binding["containerPort"] == 8080
    host_port = binding["hostPort"]
    assert 0 < host_port < 65536
    wait_for(lambda: out.exists() and out.read_text().strip(), what="port file")
    assert out.read_text().split() == [str(host_port), str(host_port)]
    server.aws("ecs", "stop-task", "--task", task["taskArn"])


def test_overrides_command_and_environment(server, name):
    register(server, name, [{"name": "app", "image": "app", "command": ["sh", "-c", "exit 1"],
                             "environment": [{"name": "CODE", "value": "5"}]}])
    overrides = {"containerOverrides": [{"name": "app", "command": ["sh", "-c", "exit $CODE"],
                                         "environment": [{"name": "CODE", "value": "6"}]}]}
    task = run_task(server, name, None, "--overrides", json.dumps(overrides),
                    "--started-by", "migration", "--tags", "key=purpose,value=test")
    server.aws("ecs", "wait", "tasks-stopped", "--tasks", task["taskArn"])
    t = describe(server, task["taskArn"])
    assert t["containers"][0]["exitCode"] == 6
    assert t["startedBy"] == "migration"
    assert t["overrides"]["containerOverrides"][0]["command"] == ["sh", "-c", "exit $CODE"]
    stopped = server.aws("ecs", "list-tasks", "--started-by", "migration",
                         "--desired-status", "STOPPED")["taskArns"]
    assert task["taskArn"] in stopped
    tags = server.aws("ecs", "list-tags-for-resource", "--resource-arn", task["taskArn"])["tags"]
    assert tags == [{"key": "purpose", "value": "test"}]


def test_server_kill9_keeps_tasks_and_exit_codes(own_server, name):
    s = own_server
    # Long enough to be seen RUNNING even when each aws CLI call takes a second (a loaded machine).
    register(s, name, [{"name": "app", "image": "app", "command": ["sh", "-c", "sleep 5; exit 5"]}])
    register(s, name + "-long", [{"name": "app", "image": "app", "command": ["sleep", "600"],
                                  "stopTimeout": 2}])
    short = run_task(s, name)["taskArn"]
    long = run_task(s, name + "-long")["taskArn"]
    # Polled here, not with `aws ecs wait` (6 s between polls: the short task could end first).
    wait_for(lambda: describe(s, short)["lastStatus"] == "RUNNING" and
             describe(s, long)["lastStatus"] == "RUNNING", timeout=20, what="both running")
    port = s.port
    s.kill9()
    # The short task exits while no server is running: its shim leaves the exit record.
    exit_record = os.path.join(s.data_dir, "tasks", short.rsplit("/", 1)[1], "app", "exit")
    wait_for(lambda: os.path.exists(exit_record), timeout=20, what="the short task's exit record")
    s.start(port)
    t = describe(s, short)
    assert t["lastStatus"] == "STOPPED"
    assert t["containers"][0]["exitCode"] == 5
    assert describe(s, long)["lastStatus"] == "RUNNING"
    s.aws("ecs", "stop-task", "--task", long)
    s.aws("ecs", "wait", "tasks-stopped", "--tasks", long)
    assert describe(s, long)["containers"][0]["exitCode"] == 143


def test_graceful_restart_keeps_everything(own_server, name):
    s = own_server
    register(s, name, [{"name": "app", "image": "app", "command": ["sleep", "600"], "stopTimeout": 2}])
    arn = run_task(s, name)["taskArn"]
    s.aws("ecs", "wait", "tasks-running", "--tasks", arn)
    port = s.port
    s.stop()
    s.start(port)
    assert s.aws("ecs", "describe-task-definition", "--task-definition", name)[
        "taskDefinition"]["revision"] == 1
    assert describe(s, arn)["lastStatus"] == "RUNNING"
    s.aws("ecs", "stop-task", "--task", arn)
    s.aws("ecs", "wait", "tasks-stopped", "--tasks", arn)


def test_second_server_on_the_same_data_dir_refuses_to_start(own_server):
    from conftest import Berth
    second = Berth(own_server.data_dir)
    with pytest.raises(RuntimeError, match="in use"):
        second.start()
    assert own_server.alive()
    assert own_server.aws("ecs", "list-clusters")["clusterArns"]


def test_entry_point_and_working_directory(server, name, tmp_path):
    out = tmp_path / "where"
    register(server, name, [{"name": "app", "image": "app", "entryPoint": ["sh", "-c"],
                             "command": [f"pwd > {out}; echo \"$0\" >> {out}", "argzero"],
                             "workingDirectory": str(tmp_path)}])
    task = run_task(server, name)
    server.aws("ecs", "wait", "tasks-stopped", "--tasks", task["taskArn"])
    assert describe(server, task["taskArn"])["containers"][0]["exitCode"] == 0
    assert out.read_text().split() == [str(tmp_path), "argzero"]


def test_depends_on_healthy_waits_for_the_health_check(server, name, tmp_path):
    checked = tmp_path / "db-checked"
    register(server, name, [
        {"name": "db", "image": "db", "essential": False, "command": ["sleep", "600"],
         "stopTimeout": 2,
         "healthCheck": {"command": ["CMD-SHELL", f"touch {checked}"], "interval": 5,
                         "timeout": 2, "retries": 1}},
        {"name": "app", "image": "app",
         "command": ["sh", "-c", f"test -f {checked} && exit 0 || exit 9"],
         "dependsOn": [{"containerName": "db", "condition": "HEALTHY"}]},
    ])
    task = run_task(server, name)
    server.aws("ecs", "wait", "tasks-stopped", "--tasks", task["taskArn"])
    t = describe(server, task["taskArn"])
    app = [c for c in t["containers"] if c["name"] == "app"][0]
    assert app["exitCode"] == 0
    assert t["stopCode"] == "EssentialContainerExited"


def test_task_output_without_a_log_driver_is_readable_with_the_cli(server, name):
    import subprocess
    from conftest import BERTH
    register(server, name, [
        {"name": "app", "image": "app", "command": ["sh", "-c", "echo out line; echo err line >&2"]},
        {"name": "side", "image": "app", "essential": False, "command": ["true"]}])
    task = run_task(server, name)
    server.aws("ecs", "wait", "tasks-stopped", "--tasks", task["taskArn"])
    def out(*extra):
        return subprocess.run([BERTH, "task-output", "--data-dir", server.data_dir,
                               task["taskArn"], *extra], capture_output=True, text=True)
    assert out("--container", "app").stdout == "out line\n"
    assert out("--container", "app", "--stderr").stdout == "err line\n"
    ambiguous = out()
    assert ambiguous.returncode != 0 and "--container" in ambiguous.stderr
    assert out("--container", "nope").returncode != 0
