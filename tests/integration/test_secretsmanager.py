"""Secrets Manager through real clients, and secrets injected into tasks from it
(`valueFrom` a secret ARN, with the json-key form), resolved with the execution role."""
import hashlib
import json
import subprocess

import pytest

from conftest import BERTH, CLIS

TRUST_ECS_TASKS = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"},
    "Action": "sts:AssumeRole"}]})


@pytest.mark.parametrize("cli", CLIS)
def test_secret_versions_stages_and_deletion(server, cli, name):
    aws = lambda *a, **kw: server.aws("secretsmanager", *a, cli=cli, **kw)  # noqa: E731
    created = aws("create-secret", "--name", f"app/{name}/db", "--secret-string", "first")
    assert created["ARN"].startswith(f"arn:aws:secretsmanager:us-east-1:000000000000:secret:app/{name}/db-")
    got = aws("get-secret-value", "--secret-id", f"app/{name}/db")
    assert got["SecretString"] == "first" and "AWSCURRENT" in got["VersionStages"]
    aws("put-secret-value", "--secret-id", created["ARN"], "--secret-string", "second")
    assert aws("get-secret-value", "--secret-id", f"app/{name}/db")["SecretString"] == "second"
    prev = aws("get-secret-value", "--secret-id", f"app/{name}/db", "--version-stage", "AWSPREVIOUS")
    assert prev["SecretString"] == "first"
    dup = aws("create-secret", "--name", f"app/{name}/db", "--secret-string", "x", check=False)
    assert dup.returncode != 0 and "ResourceExistsException" in dup.stderr
    deleted = aws("delete-secret", "--secret-id", f"app/{name}/db", "--recovery-window-in-days", "7")
    assert deleted["DeletionDate"]
    gone = aws("get-secret-value", "--secret-id", f"app/{name}/db", check=False)
    assert gone.returncode != 0 and "InvalidRequestException" in gone.stderr
    aws("restore-secret", "--secret-id", f"app/{name}/db")
    assert aws("get-secret-value", "--secret-id", f"app/{name}/db")["SecretString"] == "second"
    aws("delete-secret", "--secret-id", f"app/{name}/db", "--force-delete-without-recovery")
    missing = aws("get-secret-value", "--secret-id", f"app/{name}/db", check=False)
    assert missing.returncode != 0 and "ResourceNotFoundException" in missing.stderr


def run_task(server, family):
    arn = server.aws("ecs", "run-task", "--task-definition", family)["tasks"][0]["taskArn"]
    server.aws("ecs", "wait", "tasks-stopped", "--tasks", arn, timeout=120)
    return server.aws("ecs", "describe-tasks", "--tasks", arn)["tasks"][0]


def test_task_secrets_from_secrets_manager(server, name):
    sm, iam = server.boto3("secretsmanager"), server.boto3("iam")
    value = json.dumps({"username": "app", "password": "pa55-" + name})
    secret = sm.create_secret(Name=f"{name}/db", SecretString=value)
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST_ECS_TASKS)["Role"]
    iam.put_role_policy(RoleName=name, PolicyName="read", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                                                "Action": "secretsmanager:GetSecretValue",
                                                "Resource": secret["ARN"]}]}))
    server.aws("ecs", "register-task-definition", "--family", name, "--memory", "128",
               "--execution-role-arn", role["Arn"], "--container-definitions", json.dumps([{
                   "name": "app", "image": "x",
                   "command": ["sh", "-c", 'printf %s "$DB_PASSWORD" | sha256sum'],
                   "secrets": [{"name": "DB_PASSWORD",
                                "valueFrom": secret["ARN"] + ":password::"}]}]))
    task = run_task(server, name)
    assert task["containers"][0]["exitCode"] == 0, task.get("stoppedReason")
    out = subprocess.run([BERTH, "task-output", task["taskArn"], "--data-dir", server.data_dir],
                         capture_output=True, text=True).stdout
    assert hashlib.sha256(("pa55-" + name).encode()).hexdigest() in out
    # The value is nowhere in what ECS says about the task or its definition.
    described = json.dumps(server.aws("ecs", "describe-tasks", "--tasks", task["taskArn"])) + \
        json.dumps(server.aws("ecs", "describe-task-definition", "--task-definition", name))
    assert "pa55-" not in described

    other = sm.create_secret(Name=f"{name}/other", SecretString="nope")
    server.aws("ecs", "register-task-definition", "--family", name + "-denied", "--memory", "128",
               "--execution-role-arn", role["Arn"], "--container-definitions", json.dumps([{
                   "name": "app", "image": "x", "command": ["true"],
                   "secrets": [{"name": "X", "valueFrom": other["ARN"]}]}]))
    denied = run_task(server, name + "-denied")
    assert denied["stopCode"] == "TaskFailedToStart"
    reason = denied["stoppedReason"]
    assert reason.startswith("ResourceInitializationError: unable to pull secrets")
    assert "secretsmanager:GetSecretValue" in reason and other["ARN"] in reason
    assert "nope" not in reason
