"""ECS control-plane operations through boto3 (Debian's 1.26) and the CLIs: shapes, paging,
failures and ECS's error codes."""
import json

import pytest
from botocore.exceptions import ClientError

from conftest import CLIS

CONTAINERS = [{"name": "app", "image": "busybox", "command": ["sleep", "1"], "memory": 128,
               "ulimits": [{"name": "nofile", "softLimit": 1024, "hardLimit": 2048}],
               "logConfiguration": {"logDriver": "awslogs",
                                    "options": {"awslogs-group": "/ecs/x"}}}]


def code_of(excinfo):
    return excinfo.value.response["Error"]["Code"]


def test_cluster_lifecycle_with_boto3(server, name):
    ecs = server.boto3("ecs")
    c = ecs.create_cluster(clusterName=name, tags=[{"key": "team", "value": "web"}])["cluster"]
    assert c["clusterArn"] == f"arn:aws:ecs:us-east-1:000000000000:cluster/{name}"
    assert c["status"] == "ACTIVE"
    d = ecs.describe_clusters(clusters=[name, "nope-" + name], include=["TAGS"])
    assert d["clusters"][0]["tags"] == [{"key": "team", "value": "web"}]
    assert d["clusters"][0]["runningTasksCount"] == 0
    assert d["failures"] == [{"arn": f"arn:aws:ecs:us-east-1:000000000000:cluster/nope-{name}",
                              "reason": "MISSING"}]
    assert c["clusterArn"] in ecs.list_clusters()["clusterArns"]
    ecs.delete_cluster(cluster=name)
    assert ecs.describe_clusters(clusters=[name])["clusters"][0]["status"] == "INACTIVE"
    with pytest.raises(ClientError) as e:
        ecs.list_tasks(cluster=name)
    assert code_of(e) == "ClusterNotFoundException"
    assert e.value.response["Error"]["Message"] == "Cluster not found."


def test_delete_cluster_refused_while_tasks_are_active(server, name):
    ecs = server.boto3("ecs")
    ecs.create_cluster(clusterName=name)
    ecs.register_task_definition(family=name, containerDefinitions=[
        {"name": "app", "image": "x", "command": ["sleep", "600"], "stopTimeout": 2,
         "memory": 128}])
    arn = ecs.run_task(cluster=name, taskDefinition=name)["tasks"][0]["taskArn"]
    ecs.get_waiter("tasks_running").wait(cluster=name, tasks=[arn],
                                         WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    d = ecs.describe_clusters(clusters=[name])["clusters"][0]
    assert d["runningTasksCount"] == 1
    with pytest.raises(ClientError) as e:
        ecs.delete_cluster(cluster=name)
    assert code_of(e) == "ClusterContainsTasksException"
    ecs.stop_task(cluster=name, task=arn)
    ecs.get_waiter("tasks_stopped").wait(cluster=name, tasks=[arn],
                                         WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    ecs.delete_cluster(cluster=name)


def test_task_definition_keeps_every_field(server, name):
    ecs = server.boto3("ecs")
    out = ecs.register_task_definition(
        family=name, containerDefinitions=CONTAINERS, cpu="256", memory="512",
        requiresCompatibilities=["FARGATE"], executionRoleArn="arn:aws:iam::000000000000:role/x",
        tags=[{"key": "a", "value": "b"}])
    td = out["taskDefinition"]
    assert out["tags"] == [{"key": "a", "value": "b"}]
    assert td["taskDefinitionArn"].endswith(f":task-definition/{name}:1")
    assert td["cpu"] == "256" and td["memory"] == "512"
    assert td["containerDefinitions"][0]["ulimits"][0]["hardLimit"] == 2048
    assert td["containerDefinitions"][0]["logConfiguration"]["options"]["awslogs-group"] == "/ecs/x"
    assert td["status"] == "ACTIVE"
    d = ecs.describe_task_definition(taskDefinition=f"{name}:1", include=["TAGS"])
    assert d["taskDefinition"] == td
    assert d["tags"] == [{"key": "a", "value": "b"}]


def test_task_definition_revisions_families_and_paging(server, name):
    ecs = server.boto3("ecs")
    for _ in range(3):
        ecs.register_task_definition(family=name, containerDefinitions=CONTAINERS)
    ecs.register_task_definition(family=name + "-other", containerDefinitions=CONTAINERS)
    arns = ecs.list_task_definitions(familyPrefix=name)["taskDefinitionArns"]
    assert [a.rsplit(":", 1)[1] for a in arns] == ["1", "2", "3"]
    desc = ecs.list_task_definitions(familyPrefix=name, sort="DESC")["taskDefinitionArns"]
    assert desc == list(reversed(arns))
    pages = list(ecs.get_paginator("list_task_definitions").paginate(
        familyPrefix=name, PaginationConfig={"PageSize": 2}))
    assert len(pages) == 2
    assert sum((p["taskDefinitionArns"] for p in pages), []) == arns
    fams = ecs.list_task_definition_families(familyPrefix=name)["families"]
    assert fams == [name, name + "-other"]
    dereg = ecs.deregister_task_definition(taskDefinition=f"{name}:3")["taskDefinition"]
    assert dereg["status"] == "INACTIVE"
    assert ecs.describe_task_definition(taskDefinition=name)["taskDefinition"]["revision"] == 2
    with pytest.raises(ClientError) as e:
        ecs.run_task(taskDefinition=f"{name}:3")
    assert code_of(e) == "ClientException"
    inactive = ecs.list_task_definitions(familyPrefix=name, status="INACTIVE")["taskDefinitionArns"]
    assert inactive == [arns[2]]


@pytest.mark.parametrize("cli", CLIS)
def test_cli_paginates_list_task_definitions(server, name, cli):
    for _ in range(3):
        server.aws("ecs", "register-task-definition", "--family", name,
                   "--container-definitions", json.dumps(CONTAINERS), cli=cli)
    # The CLI follows nextToken by itself; a page size of 1 forces three round trips.
    out = server.aws("ecs", "list-task-definitions", "--family-prefix", name,
                     "--page-size", "1", cli=cli)
    assert len(out["taskDefinitionArns"]) == 3


def test_register_validation_errors(server, name):
    ecs = server.boto3("ecs")
    with pytest.raises(ClientError) as e:
        ecs.register_task_definition(family=name, containerDefinitions=[
            {"name": "app", "image": "x"}])
    assert code_of(e) == "ClientException"
    assert "At least one of 'memory' or 'memoryReservation'" in e.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as e:
        ecs.register_task_definition(family=name, containerDefinitions=[])
    assert code_of(e) == "ClientException"
    assert e.value.response["Error"]["Message"] == "Container list cannot be empty."
    with pytest.raises(ClientError) as e:
        ecs.register_task_definition(family="bad name!", containerDefinitions=CONTAINERS)
    assert code_of(e) == "ClientException"
    with pytest.raises(ClientError) as e:
        ecs.register_task_definition(family=name, containerDefinitions=[
            {"name": "a", "image": "x", "memory": 128,
             "dependsOn": [{"containerName": "b", "condition": "START"}]}])
    assert code_of(e) == "ClientException"
    with pytest.raises(ClientError) as e:
        ecs.describe_task_definition(taskDefinition=name)
    assert code_of(e) == "ClientException"


def test_describe_tasks_reports_missing(server):
    ecs = server.boto3("ecs")
    out = ecs.describe_tasks(tasks=["0123456789abcdef0123456789abcdef"])
    assert out["tasks"] == []
    assert out["failures"][0]["reason"] == "MISSING"
    with pytest.raises(ClientError) as e:
        ecs.stop_task(task="0123456789abcdef0123456789abcdef")
    assert code_of(e) == "InvalidParameterException"


def test_run_task_count_and_list_filters(server, name):
    ecs = server.boto3("ecs")
    ecs.register_task_definition(family=name, containerDefinitions=[
        {"name": "app", "image": "x", "command": ["sleep", "600"], "stopTimeout": 1,
         "memory": 128}])
    out = ecs.run_task(taskDefinition=name, count=3, startedBy=name, group="batch:" + name)
    arns = [t["taskArn"] for t in out["tasks"]]
    assert len(arns) == 3
    assert all(t["group"] == "batch:" + name for t in out["tasks"])
    listed = ecs.list_tasks(family=name)["taskArns"]
    assert sorted(listed) == sorted(arns)
    page = ecs.list_tasks(startedBy=name, maxResults=2)
    assert len(page["taskArns"]) == 2 and "nextToken" in page
    rest = ecs.list_tasks(startedBy=name, maxResults=2, nextToken=page["nextToken"])
    assert len(rest["taskArns"]) == 1 and "nextToken" not in rest
    with pytest.raises(ClientError) as e:
        ecs.run_task(taskDefinition=name, count=11)
    assert code_of(e) == "InvalidParameterException"
    for arn in arns:
        ecs.stop_task(task=arn)
    ecs.get_waiter("tasks_stopped").wait(tasks=arns, WaiterConfig={"Delay": 1, "MaxAttempts": 30})


def test_tag_untag_cluster(server, name):
    ecs = server.boto3("ecs")
    arn = ecs.create_cluster(clusterName=name)["cluster"]["clusterArn"]
    ecs.tag_resource(resourceArn=arn, tags=[{"key": "a", "value": "1"}, {"key": "b", "value": "2"}])
    ecs.untag_resource(resourceArn=arn, tagKeys=["a"])
    assert ecs.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "b", "value": "2"}]


@pytest.mark.parametrize("cli", CLIS)
def test_sts_get_caller_identity_over_query_protocol(server, cli):
    out = server.aws("sts", "get-caller-identity", cli=cli)
    assert out["Account"] == "000000000000"
    assert out["Arn"] == "arn:aws:iam::000000000000:root"
