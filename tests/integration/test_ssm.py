"""SSM Parameter Store through real clients, and the seeds' two ways of getting secrets into a
task: kptboard's entrypoint that calls `aws ssm get-parameters --with-decryption` with the task
role, and suitebook's task-definition `secrets` resolved with the execution role."""
import hashlib
import json
import os
import subprocess

import pytest

from conftest import AWS_V1, BERTH, CLIS

TRUST_ECS_TASKS = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"},
    "Action": "sts:AssumeRole"}]})


def pip_aws():
    if AWS_V1 and AWS_V1.endswith("shims/aws"):
        return subprocess.run(["pyenv", "which", "aws"], capture_output=True, text=True).stdout.strip()
    return AWS_V1


def run_task(server, family, overrides=None):
    args = ["ecs", "run-task", "--task-definition", family]
    if overrides:
        args += ["--overrides", json.dumps(overrides)]
    arn = server.aws(*args)["tasks"][0]["taskArn"]
    server.aws("ecs", "wait", "tasks-stopped", "--tasks", arn, timeout=120)
    return server.aws("ecs", "describe-tasks", "--tasks", arn)["tasks"][0]


def output(server, task, stderr=False):
    args = [BERTH, "task-output", task["taskArn"], "--data-dir", server.data_dir]
    return subprocess.run(args + (["--stderr"] if stderr else []), capture_output=True,
                          text=True).stdout


def assert_nowhere_on_disk(server, secret):
    for root, _, files in os.walk(server.data_dir):
        for f in files:
            assert secret.encode() not in open(os.path.join(root, f), "rb").read(), f


@pytest.mark.parametrize("cli", CLIS)
def test_parameters_secure_strings_paths_labels(server, cli, name):
    aws = lambda *a, **kw: server.aws("ssm", *a, cli=cli, **kw)  # noqa: E731
    base = f"/{name}/production"
    secret = "s3cret-" + name
    assert aws("put-parameter", "--name", f"{base}/db_password", "--value", secret,
               "--type", "SecureString")["Version"] == 1
    aws("put-parameter", "--name", f"{base}/db_host", "--value", "db.internal", "--type", "String")
    aws("put-parameter", "--name", f"{base}/deep/x", "--value", "1", "--type", "String")
    hidden = aws("get-parameter", "--name", f"{base}/db_password")["Parameter"]
    assert hidden["Type"] == "SecureString" and hidden["Value"] != secret
    shown = aws("get-parameter", "--name", f"{base}/db_password", "--with-decryption")["Parameter"]
    assert shown["Value"] == secret
    got = aws("get-parameters", "--names", f"{base}/db_host", f"{base}/nope")
    assert [p["Name"] for p in got["Parameters"]] == [f"{base}/db_host"]
    assert got["InvalidParameters"] == [f"{base}/nope"]
    one = aws("get-parameters-by-path", "--path", base)["Parameters"]
    assert sorted(p["Name"] for p in one) == [f"{base}/db_host", f"{base}/db_password"]
    deep = aws("get-parameters-by-path", "--path", base, "--recursive")["Parameters"]
    assert len(deep) == 3
    exists = aws("put-parameter", "--name", f"{base}/db_host", "--value", "x", "--type", "String",
                 check=False)
    assert exists.returncode != 0 and "ParameterAlreadyExists" in exists.stderr
    aws("put-parameter", "--name", f"{base}/db_host", "--value", "db2.internal", "--overwrite")
    aws("label-parameter-version", "--name", f"{base}/db_host", "--parameter-version", "1",
        "--labels", "previous")
    assert aws("get-parameter", "--name", f"{base}/db_host:previous")["Parameter"]["Value"] == "db.internal"
    history = aws("get-parameter-history", "--name", f"{base}/db_host")["Parameters"]
    assert [h["Version"] for h in history] == [1, 2] and history[0]["Labels"] == ["previous"]
    assert_nowhere_on_disk(server, secret)


@pytest.mark.parametrize("args,code", [
    (["--value", "x" * 4097, "--type", "String"], "ValidationException"),
    (["--value", "abc", "--type", "String", "--allowed-pattern", "^[0-9]+$"],
     "ParameterPatternMismatchException"),
    (["--value", "v", "--type", "SecureString", "--key-id", "alias/no-such-key"], "InvalidKeyId"),
])
def test_put_parameter_bad_input(server, name, args, code):
    r = server.aws("ssm", "put-parameter", "--name", f"/{name}/p", *args, check=False)
    assert r.returncode != 0 and code in r.stderr, r.stderr
    assert server.aws("ssm", "get-parameters", "--names", f"/{name}/p")["InvalidParameters"]


def test_hierarchy_depth_limit(server, name):
    deep = "/" + "/".join(f"l{i}" for i in range(16)) + "/" + name
    r = server.aws("ssm", "put-parameter", "--name", deep, "--value", "v", "--type", "String",
                   check=False)
    assert r.returncode != 0 and "HierarchyLevelLimitExceededException" in r.stderr


@pytest.mark.skipif(AWS_V1 is None, reason="no pip aws CLI v1 on PATH")
def test_kptboard_entrypoint_reads_its_secret_with_the_task_role(server, name):
    iam, ssm = server.boto3("iam"), server.boto3("ssm")
    secret = "skb-" + name * 2
    ssm.put_parameter(Name=f"kptboard-{name}-secret-key-base", Value=secret, Type="SecureString")
    ssm.put_parameter(Name=f"other-{name}", Value="not-yours", Type="SecureString")
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST_ECS_TASKS)["Role"]
    iam.put_role_policy(RoleName=name, PolicyName="params", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "ssm:GetParameters",
             "Resource": "arn:aws:ssm:us-east-1:000000000000:parameter/kptboard-*"},
            {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}]}))
    aws = pip_aws()
    # kptboard's entrypoint, unmodified but for the CLI's path.
    entrypoint = f"""#!/bin/sh
if [ -n "$PARAMETER_STORE_PREFIX" ]; then
  export SECRET_KEY_BASE=$({aws} ssm get-parameters --names "${{PARAMETER_STORE_PREFIX}}-secret-key-base" --with-decryption --query "Parameters[0].Value" --output text)
fi
exec "$@"
"""
    script = os.path.join(server.data_dir, f"entrypoint-{name}.sh")
    with open(script, "w") as f:
        f.write(entrypoint)
    os.chmod(script, 0o755)
    server.aws("ecs", "register-task-definition", "--family", name, "--memory", "128",
               "--task-role-arn", role["Arn"], "--container-definitions", json.dumps([{
                   "name": "app", "image": "kptboard", "entryPoint": [script],
                   "command": ["sh", "-c", 'printf %s "$SECRET_KEY_BASE" | sha256sum'],
                   "environment": [{"name": "PARAMETER_STORE_PREFIX", "value": f"kptboard-{name}"}]}]))
    task = run_task(server, name)
    assert hashlib.sha256(secret.encode()).hexdigest() in output(server, task)
    # Outside the prefix: AccessDenied, and the command sees no value.
    denied = run_task(server, name, {"containerOverrides": [{"name": "app", "environment": [
        {"name": "PARAMETER_STORE_PREFIX", "value": f"other-{name}"}]}]})
    err = output(server, denied, stderr=True)
    assert "AccessDeniedException" in err and "ssm:GetParameters" in err
    assert_nowhere_on_disk(server, secret)


def test_suitebook_task_definition_secrets_with_the_execution_role(server, name):
    iam, ssm = server.boto3("iam"), server.boto3("ssm")
    value = "environ-one-" + name
    ssm.put_parameter(Name=f"/{name}/production/environ_1", Value=value, Type="SecureString")
    ssm.put_parameter(Name=f"/{name}/staging/x", Value="staging", Type="SecureString")
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST_ECS_TASKS)["Role"]
    iam.attach_role_policy(RoleName=name, PolicyArn=(
        "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"))
    iam.put_role_policy(RoleName=name, PolicyName="production", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["ssm:GetParameters", "kms:Decrypt"],
             "Resource": [f"arn:aws:ssm:us-east-1:000000000000:parameter/{name}/production/*",
                          "arn:aws:kms:us-east-1:000000000000:key/*"]}]}))

    def register(family, value_from):
        server.aws("ecs", "register-task-definition", "--family", family, "--memory", "128",
                   "--execution-role-arn", role["Arn"], "--container-definitions", json.dumps([{
                       "name": "app", "image": "suitebook",
                       "command": ["sh", "-c", 'printf %s "$ENVIRON_1" | sha256sum'],
                       "secrets": [{"name": "ENVIRON_1", "valueFrom": value_from}]}]))
    register(name, f"/{name}/production/environ_1")
    task = run_task(server, name)
    assert task["containers"][0]["exitCode"] == 0, task.get("stoppedReason")
    assert hashlib.sha256(value.encode()).hexdigest() in output(server, task)

    register(name + "-staging", f"/{name}/staging/x")
    failed = run_task(server, name + "-staging")
    assert failed["stopCode"] == "TaskFailedToStart"
    reason = failed["stoppedReason"]
    assert reason.startswith("ResourceInitializationError: unable to pull secrets or registry auth")
    assert "ssm:GetParameters" in reason and f"parameter/{name}/staging/x" in reason
    assert ": staging" not in reason  # the parameter's value never appears

    register(name + "-missing", f"/{name}/production/nope")
    missing = run_task(server, name + "-missing")
    assert f"invalid ssm parameters: /{name}/production/nope" in missing["stoppedReason"]
    described = json.dumps(server.aws("ecs", "describe-tasks", "--tasks", task["taskArn"]))
    assert value not in described
    assert_nowhere_on_disk(server, value)
