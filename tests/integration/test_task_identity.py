"""A task's IAM side: taskRoleArn credentials through the container-credentials convention,
used by an unmodified aws CLI inside the task (pip's v1, which honours AWS_ENDPOINT_URL), and
bound by the role's policies."""
import json
import os
import subprocess

import pytest

from conftest import AWS_V1

TRUST_ECS_TASKS = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"},
    "Action": "sts:AssumeRole"}]})


def run_and_wait(server, family):
    arn = server.aws("ecs", "run-task", "--task-definition", family)["tasks"][0]["taskArn"]
    server.aws("ecs", "wait", "tasks-stopped", "--tasks", arn, timeout=120)
    return server.aws("ecs", "describe-tasks", "--tasks", arn)["tasks"][0]


def output(server, task, stderr=False):
    from conftest import BERTH
    args = [BERTH, "task-output", task["taskArn"], "--data-dir", server.data_dir]
    if stderr:
        args.append("--stderr")
    return subprocess.run(args, capture_output=True, text=True, timeout=10).stdout


@pytest.mark.skipif(AWS_V1 is None, reason="no pip aws CLI v1 on PATH")
def test_task_role_credentials_reach_an_unmodified_cli_in_the_task(server, name):
    aws_v1 = os.path.realpath(AWS_V1) if not AWS_V1.endswith("shims/aws") else \
        subprocess.run(["pyenv", "which", "aws"], capture_output=True, text=True).stdout.strip()
    iam = server.boto3("iam")
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST_ECS_TASKS)["Role"]
    iam.attach_role_policy(RoleName=name,
                           PolicyArn="arn:aws:iam::aws:policy/CloudWatchLogsFullAccess")
    script = (f"{aws_v1} sts get-caller-identity --output text; "
              f"{aws_v1} logs describe-log-groups --output text > /dev/null && echo LOGS-OK; "
              f"{aws_v1} ecs list-clusters")
    server.aws("ecs", "register-task-definition", "--family", name, "--memory", "128",
               "--task-role-arn", role["Arn"], "--container-definitions", json.dumps([
                   {"name": "app", "image": "x", "command": ["sh", "-c", script]}]))
    task = run_and_wait(server, name)
    out, err = output(server, task), output(server, task, stderr=True)
    assert f"assumed-role/{name}/{task['taskArn'].rsplit('/', 1)[1]}" in out
    assert "LOGS-OK" in out
    assert "AccessDeniedException" in err and "ecs:ListClusters" in err
    # Neither the token nor the role's keys show in what ECS reports about the task.
    described = json.dumps(server.aws("ecs", "describe-tasks", "--tasks", task["taskArn"]))
    assert "AWS_CONTAINER_AUTHORIZATION_TOKEN" not in described


def test_task_role_that_ecs_tasks_cannot_assume_fails_the_start(server, name):
    iam = server.boto3("iam")
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::000000000000:root"},
            "Action": "sts:AssumeRole"}]}))["Role"]
    server.aws("ecs", "register-task-definition", "--family", name, "--memory", "128",
               "--execution-role-arn", role["Arn"], "--container-definitions", json.dumps([
                   {"name": "app", "image": "x", "command": ["true"],
                    "secrets": [{"name": "X", "valueFrom": "/app/x"}]}]))
    task = run_and_wait(server, name)
    assert task["stopCode"] == "TaskFailedToStart"
    assert task["stoppedReason"].startswith("ResourceInitializationError: unable to pull secrets")
    assert f"ECS was unable to assume the role '{role['Arn']}'" in task["stoppedReason"]


def test_credentials_endpoint_refuses_a_wrong_token(server):
    import urllib.error
    import urllib.request
    req = urllib.request.Request(server.endpoint + "/berth/task-credentials/nosuchtask",
                                 headers={"Authorization": "guess"})
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=5)
    assert e.value.code == 403


def test_task_role_credentials_survive_a_server_restart(own_server, name, tmp_path_factory):
    """A running task keeps fetching its role's credentials after berth restarts (tasks keep
    running across restarts); only the token's hash is in the data directory."""
    import urllib.error
    import urllib.request
    from conftest import wait_for
    server = own_server
    iam = server.boto3("iam")
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST_ECS_TASKS)["Role"]
    seen = tmp_path_factory.mktemp("task-out") / "env.txt"  # outside the data dir
    server.aws("ecs", "register-task-definition", "--family", name, "--memory", "128",
               "--task-role-arn", role["Arn"], "--container-definitions", json.dumps([
                   {"name": "app", "image": "x", "command": ["sh", "-c",
                    f'echo "$AWS_CONTAINER_CREDENTIALS_FULL_URI $AWS_CONTAINER_AUTHORIZATION_TOKEN"'
                    f' > {seen}.tmp && mv {seen}.tmp {seen}; sleep 60']}]))
    arn = server.aws("ecs", "run-task", "--task-definition", name)["tasks"][0]["taskArn"]
    wait_for(lambda: seen.exists() and seen.read_text().strip(), what="the task's environment")
    uri, token = seen.read_text().split()

    def fetch(auth):
        req = urllib.request.Request(uri, headers={"Authorization": auth})
        return json.loads(urllib.request.urlopen(req, timeout=5).read())

    before = fetch(token)
    port = server.port
    server.stop()
    for root, _, files in os.walk(server.data_dir):
        for f in files:
            if f != "server.log":
                assert token.encode() not in open(os.path.join(root, f), "rb").read(), f
    server.start(port=port)
    after = fetch(token)
    assert after["RoleArn"] == role["Arn"]
    import boto3
    who = boto3.client("sts", endpoint_url=server.endpoint, region_name="us-east-1",
                       aws_access_key_id=after["AccessKeyId"],
                       aws_secret_access_key=after["SecretAccessKey"],
                       aws_session_token=after["Token"]).get_caller_identity()
    assert who["Arn"].endswith(f"assumed-role/{name}/{arn.rsplit('/', 1)[1]}")
    assert before["AccessKeyId"].startswith("ASIA")
    with pytest.raises(urllib.error.HTTPError) as e:
        fetch(token[:-1] + ("0" if token[-1] != "0" else "1"))
    assert e.value.code == 403
    server.aws("ecs", "stop-task", "--task", arn)
