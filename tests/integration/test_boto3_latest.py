"""The machine's pip boto3 (1.43, no pytest there) drives the ECS flow in a subprocess."""
import os
import subprocess
import textwrap

import pytest

from conftest import find_pip_python

SCRIPT = textwrap.dedent("""
    import os, sys, boto3
    from botocore.exceptions import ClientError
    ecs = boto3.client("ecs", endpoint_url=os.environ["EP"], region_name="us-east-1",
                       aws_access_key_id=os.environ["AK"], aws_secret_access_key=os.environ["SK"])
    fam = os.environ["FAM"]
    ecs.register_task_definition(family=fam, containerDefinitions=[
        {"name": "app", "image": "x", "command": ["sh", "-c", "exit 7"], "memory": 64}])
    arn = ecs.run_task(taskDefinition=fam)["tasks"][0]["taskArn"]
    ecs.get_waiter("tasks_stopped").wait(tasks=[arn], WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    t = ecs.describe_tasks(tasks=[arn])["tasks"][0]
    assert t["containers"][0]["exitCode"] == 7, t
    assert t["stoppedAt"] >= t["createdAt"]
    try:
        ecs.describe_task_definition(taskDefinition="missing-" + fam)
        sys.exit("expected ClientException")
    except ClientError as e:
        assert e.response["Error"]["Code"] == "ClientException", e.response
    sts = boto3.client("sts", endpoint_url=os.environ["EP"], region_name="us-east-1",
                       aws_access_key_id=os.environ["AK"], aws_secret_access_key=os.environ["SK"])
    assert sts.get_caller_identity()["Account"] == "000000000000"
    print("ok", boto3.__version__)
""")


def test_pip_boto3_runs_a_task(server, name):
    py, version = find_pip_python()
    if py is None:
        pytest.skip("no pip boto3 on PATH besides Debian's")
    ak, sk = server.credentials
    env = dict(os.environ, EP=server.endpoint, AK=ak, SK=sk, FAM=name)
    r = subprocess.run([py, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("ok")
