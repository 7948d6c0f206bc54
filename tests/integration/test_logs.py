"""CloudWatch Logs through the aws CLIs and boto3: groups, streams, PutLogEvents batch rules,
GetLogEvents paging, FilterLogEvents with patterns, `aws logs tail`, and the awslogs driver."""
import json
import subprocess
import time

import pytest
from botocore.exceptions import ClientError

from conftest import AWS_V1, AWS_V2, CLIS, wait_for


def code_of(e):
    return e.value.response["Error"]["Code"]


def now_ms():
    return int(time.time() * 1000)


def test_groups_and_streams_lifecycle(server, name):
    logs = server.boto3("logs")
    group = f"/berth/{name}"
    logs.create_log_group(logGroupName=group, tags={"team": "web"})
    with pytest.raises(ClientError) as e:
        logs.create_log_group(logGroupName=group)
    assert code_of(e) == "ResourceAlreadyExistsException"
    g = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    assert [x["logGroupName"] for x in g] == [group]
    assert g[0]["arn"] == f"arn:aws:logs:us-east-1:000000000000:log-group:{group}:*"
    logs.put_retention_policy(logGroupName=group, retentionInDays=7)
    assert logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]["retentionInDays"] == 7
    with pytest.raises(ClientError) as e:
        logs.put_retention_policy(logGroupName=group, retentionInDays=8)
    assert code_of(e) == "InvalidParameterException"
    for s in ("web/app/1", "web/app/2", "worker/1"):
        logs.create_log_stream(logGroupName=group, logStreamName=s)
    with pytest.raises(ClientError) as e:
        logs.create_log_stream(logGroupName=group, logStreamName="web/app/1")
    assert code_of(e) == "ResourceAlreadyExistsException"
    streams = logs.describe_log_streams(logGroupName=group, logStreamNamePrefix="web/")["logStreams"]
    assert [s["logStreamName"] for s in streams] == ["web/app/1", "web/app/2"]
    page = logs.describe_log_streams(logGroupName=group, limit=2)
    assert len(page["logStreams"]) == 2 and "nextToken" in page
    arn = f"arn:aws:logs:us-east-1:000000000000:log-group:{group}"
    logs.tag_resource(resourceArn=arn, tags={"env": "dev"})
    assert logs.list_tags_for_resource(resourceArn=arn)["tags"] == {"team": "web", "env": "dev"}
    logs.delete_log_stream(logGroupName=group, logStreamName="worker/1")
    logs.delete_log_group(logGroupName=group)
    with pytest.raises(ClientError) as e:
        logs.describe_log_streams(logGroupName=group)
    assert code_of(e) == "ResourceNotFoundException"
    assert e.value.response["Error"]["Message"] == "The specified log group does not exist."


def test_put_get_events_and_batch_rules(server, name):
    logs = server.boto3("logs")
    group = f"/berth/{name}"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    t = now_ms()
    events = [{"timestamp": t - 3000 + i, "message": f"line {i}"} for i in range(30)]
    out = logs.put_log_events(logGroupName=group, logStreamName="s", logEvents=events)
    assert "rejectedLogEventsInfo" not in out
    got = logs.get_log_events(logGroupName=group, logStreamName="s", startFromHead=True, limit=10)
    assert [e["message"] for e in got["events"]] == [f"line {i}" for i in range(10)]
    nxt = logs.get_log_events(logGroupName=group, logStreamName="s", startFromHead=True, limit=10,
                              nextToken=got["nextForwardToken"])
    assert nxt["events"][0]["message"] == "line 10"
    tail = logs.get_log_events(logGroupName=group, logStreamName="s", limit=5)
    assert [e["message"] for e in tail["events"]] == [f"line {i}" for i in range(25, 30)]
    # Unsorted, too big, spanning > 24 h: refused whole, nothing stored.
    for bad in ([{"timestamp": t, "message": "b"}, {"timestamp": t - 1, "message": "a"}],
                [{"timestamp": t - 25 * 3600 * 1000, "message": "a"}, {"timestamp": t, "message": "b"}],
                [{"timestamp": t, "message": "x" * 300000}]):
        with pytest.raises(ClientError) as e:
            logs.put_log_events(logGroupName=group, logStreamName="s", logEvents=bad)
        assert code_of(e) == "InvalidParameterException"
    # Too old and too new events are skipped and reported.
    out = logs.put_log_events(logGroupName=group, logStreamName="s", logEvents=[
        {"timestamp": t, "message": "fine"},
        {"timestamp": t + 3 * 3600 * 1000, "message": "future"}])
    assert out["rejectedLogEventsInfo"] == {"tooNewLogEventStartIndex": 1}
    out = logs.put_log_events(logGroupName=group, logStreamName="s", logEvents=[
        {"timestamp": t - 15 * 24 * 3600 * 1000, "message": "ancient"}])
    assert out["rejectedLogEventsInfo"] == {"tooOldLogEventEndIndex": 0}
    all_events = logs.get_log_events(logGroupName=group, logStreamName="s", startFromHead=True)
    messages = [e["message"] for e in all_events["events"]]
    assert len(messages) == 31 and "future" not in messages
    with pytest.raises(ClientError) as e:
        logs.put_log_events(logGroupName=group, logStreamName="nope", logEvents=events[:1])
    assert e.value.response["Error"]["Message"] == "The specified log stream does not exist."


LOGRAGE = [
    {"method": "GET", "path": "/api/users", "status": 200, "duration": 12.5},
    {"method": "POST", "path": "/api/orders", "status": 500, "duration": 1534.2},
    {"method": "GET", "path": "/health_check", "status": 200, "duration": 0.4},
    {"method": "GET", "path": "/api/orders/7", "status": 503, "duration": 30001.0},
]


@pytest.mark.parametrize("cli", CLIS)
def test_filter_log_events_with_patterns(server, name, cli):
    logs = server.boto3("logs")
    group = f"/berth/{name}"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="web/app/1")
    logs.create_log_stream(logGroupName=group, logStreamName="worker/1")
    t = now_ms() - 10000
    logs.put_log_events(logGroupName=group, logStreamName="web/app/1", logEvents=[
        {"timestamp": t + i, "message": json.dumps(m)} for i, m in enumerate(LOGRAGE)])
    logs.put_log_events(logGroupName=group, logStreamName="worker/1", logEvents=[
        {"timestamp": t + 1, "message": "ERROR job failed: timeout"},
        {"timestamp": t + 2, "message": "INFO job done"}])

    def filt(*extra):
        out = server.aws("logs", "filter-log-events", "--log-group-name", group, *extra, cli=cli)
        return [e["message"] for e in out["events"]]

    assert len(filt()) == 6
    five_hundreds = filt("--filter-pattern", "{ $.status >= 500 }")
    assert [json.loads(m)["status"] for m in five_hundreds] == [500, 503]
    assert filt("--filter-pattern", "ERROR") == ["ERROR job failed: timeout"]
    assert len(filt("--filter-pattern", '{ $.path = "/api/*" && $.duration > 1000 }')) == 2
    assert len(filt("--log-stream-name-prefix", "worker")) == 2
    assert len(filt("--log-stream-names", "worker/1", "--filter-pattern", "?ERROR ?INFO")) == 2
    r = server.aws("logs", "filter-log-events", "--log-group-name", group, "--filter-pattern",
                   "{ $.status >= ", cli=cli, check=False)
    assert r.returncode != 0 and "InvalidParameterException" in r.stderr


# `aws logs tail` is a CLI v2 command: v1 (1.45 here) has no `tail` (only the StartLiveTail
# streaming API, which berth does not serve yet).
@pytest.mark.parametrize("cli", [AWS_V2])
def test_logs_tail_follow(server, name, cli):
    logs = server.boto3("logs")
    group = f"/berth/{name}"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    logs.put_log_events(logGroupName=group, logStreamName="s",
                        logEvents=[{"timestamp": now_ms(), "message": "before tail"}])
    proc = subprocess.Popen([cli, "--endpoint-url", server.endpoint, "logs", "tail", group,
                             "--follow", "--since", "10m", "--format", "short"],
                            env=server.client_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(2)
        logs.put_log_events(logGroupName=group, logStreamName="s",
                            logEvents=[{"timestamp": now_ms(), "message": "after tail"}])
        seen = []
        import selectors
        sel = selectors.DefaultSelector()
        sel.register(proc.stdout, selectors.EVENT_READ)
        deadline = time.time() + 15
        while time.time() < deadline and not any("after tail" in l for l in seen):
            if sel.select(timeout=0.5):
                seen.append(proc.stdout.readline())
        assert any("before tail" in l for l in seen), seen
        assert any("after tail" in l for l in seen), seen
    finally:
        proc.terminate()
        proc.wait(10)


def test_awslogs_driver_ships_container_output(server, name):
    group = f"/ecs/{name}"
    containers = [{"name": "app", "image": "app", "memory": 64,
                   "command": ["sh", "-c", 'echo \'{"status":500,"path":"/x"}\'; echo plain line; '
                               'echo to stderr >&2; printf "no newline at end"'],
                   "logConfiguration": {"logDriver": "awslogs", "options": {
                       "awslogs-group": group, "awslogs-region": "us-east-1",
                       "awslogs-stream-prefix": "web", "awslogs-create-group": "true"}}}]
    server.aws("ecs", "register-task-definition", "--family", name,
               "--container-definitions", json.dumps(containers))
    task = server.aws("ecs", "run-task", "--task-definition", name)["tasks"][0]
    task_id = task["taskArn"].rsplit("/", 1)[1]
    server.aws("ecs", "wait", "tasks-stopped", "--tasks", task["taskArn"])
    logs = server.boto3("logs")
    stream = f"web/app/{task_id}"

    def messages():
        try:
            return sorted(e["message"] for e in logs.get_log_events(
                logGroupName=group, logStreamName=stream, startFromHead=True)["events"])
        except ClientError:
            return []
    got = wait_for(lambda: len(messages()) == 4 and messages(), what="container output")
    assert got == sorted(['{"status":500,"path":"/x"}', "plain line", "to stderr",
                          "no newline at end"])
    hits = logs.filter_log_events(logGroupName=group, filterPattern="{ $.status = 500 }")["events"]
    assert [h["logStreamName"] for h in hits] == [stream]


def test_awslogs_missing_group_fails_the_task(server, name):
    containers = [{"name": "app", "image": "app", "memory": 64, "command": ["true"],
                   "logConfiguration": {"logDriver": "awslogs", "options": {
                       "awslogs-group": f"/missing/{name}", "awslogs-region": "us-east-1",
                       "awslogs-stream-prefix": "x"}}}]
    server.aws("ecs", "register-task-definition", "--family", name,
               "--container-definitions", json.dumps(containers))
    task = server.aws("ecs", "run-task", "--task-definition", name)["tasks"][0]
    server.aws("ecs", "wait", "tasks-stopped", "--tasks", task["taskArn"])
    t = server.aws("ecs", "describe-tasks", "--tasks", task["taskArn"])["tasks"][0]
    assert t["stopCode"] == "TaskFailedToStart"
    assert "ResourceInitializationError" in t["stoppedReason"]
    assert "The specified log group does not exist." in t["stoppedReason"]


def test_awslogs_output_survives_a_server_kill(own_server, name):
    s = own_server
    group = f"/ecs/{name}"
    s.boto3("logs").create_log_group(logGroupName=group)
    containers = [{"name": "app", "image": "app", "memory": 64,
                   "command": ["sh", "-c", "for i in $(seq 1 40); do echo line $i; sleep 0.05; done"],
                   "logConfiguration": {"logDriver": "awslogs", "options": {
                       "awslogs-group": group, "awslogs-stream-prefix": "p"}}}]
    s.aws("ecs", "register-task-definition", "--family", name,
          "--container-definitions", json.dumps(containers))
    task = s.aws("ecs", "run-task", "--task-definition", name)["tasks"][0]
    task_id = task["taskArn"].rsplit("/", 1)[1]
    time.sleep(0.8)
    port = s.port
    s.kill9()
    time.sleep(2.5)  # the container finishes while berth is down
    s.start(port)
    logs = s.boto3("logs")

    def count():
        try:
            return len(logs.get_log_events(logGroupName=group, logStreamName=f"p/app/{task_id}",
                                           startFromHead=True)["events"])
        except ClientError:
            return 0
    wait_for(lambda: count() >= 40, what="all 40 lines")
    msgs = [e["message"] for e in logs.get_log_events(
        logGroupName=group, logStreamName=f"p/app/{task_id}", startFromHead=True)["events"]]
    assert set(msgs) == {f"line {i}" for i in range(1, 41)}


@pytest.mark.parametrize("cli", CLIS)
def test_insights_stats_by_status_matches_an_independent_count(server, name, cli):
    import collections
    import random
    logs = server.boto3("logs")
    group = f"/berth/{name}"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="web")
    rnd = random.Random(7)
    t = now_ms() - 60000
    lines = [{"method": "GET", "path": rnd.choice(["/a", "/b", "/c"]),
              "status": rnd.choice([200, 200, 200, 404, 500, 503]),
              "duration": round(rnd.random() * 100, 2)} for _ in range(500)]
    logs.put_log_events(logGroupName=group, logStreamName="web", logEvents=[
        {"timestamp": t + i, "message": json.dumps(l)} for i, l in enumerate(lines)])
    logs.put_log_events(logGroupName=group, logStreamName="web", logEvents=[
        {"timestamp": t + 600, "message": "plain text line without json"}])
    expected = collections.Counter(str(l["status"]) for l in lines)
    start = (t // 1000) - 60
    qid = server.aws("logs", "start-query", "--log-group-name", group, "--start-time", start,
                     "--end-time", start + 3600, "--query-string",
                     "filter ispresent(status) | stats count(*) as n by status", cli=cli)["queryId"]

    def done():
        r = server.aws("logs", "get-query-results", "--query-id", qid, cli=cli)
        return r if r["status"] == "Complete" else None
    result = wait_for(done, timeout=20, interval=0.2, what="query completion")
    got = {dict((f["field"], f["value"]) for f in row)["status"]:
           int(dict((f["field"], f["value"]) for f in row)["n"]) for row in result["results"]}
    assert got == dict(expected)
    assert result["statistics"]["recordsScanned"] == 501
    # A malformed query is refused with CloudWatch's code.
    with pytest.raises(ClientError) as e:
        logs.start_query(logGroupName=group, startTime=start, endTime=start + 60,
                         queryString="stats count(* by")
    assert code_of(e) == "MalformedQueryException"
    queries = logs.describe_queries(logGroupName=group)["queries"]
    assert qid in [q["queryId"] for q in queries]
    assert qid in [q["queryId"] for q in logs.describe_queries(status="Complete")["queries"]]
    assert qid not in [q["queryId"] for q in logs.describe_queries(status="Running")["queries"]]
    # StopQuery: a query that has ended is refused as not running (as CloudWatch documents);
    # an unknown one does not exist.
    with pytest.raises(ClientError) as e:
        logs.stop_query(queryId=qid)
    assert code_of(e) == "InvalidParameterException"
    assert "not running" in e.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as e:
        logs.stop_query(queryId="00000000-0000-0000-0000-000000000000")
    assert code_of(e) == "ResourceNotFoundException"


def test_describe_log_streams_orders_by_last_event_time(server, name):
    logs = server.boto3("logs")
    group = f"/berth/{name}"
    logs.create_log_group(logGroupName=group)
    t = now_ms() - 60000
    # Names in one order, last events in another.
    for stream, offset in (("a", 300), ("b", 100), ("c", 200)):
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
        logs.put_log_events(logGroupName=group, logStreamName=stream,
                            logEvents=[{"timestamp": t + offset, "message": stream}])

    def names(**kw):
        return [s["logStreamName"]
                for s in logs.describe_log_streams(logGroupName=group, **kw)["logStreams"]]
    assert names() == ["a", "b", "c"]
    assert names(descending=True) == ["c", "b", "a"]
    assert names(orderBy="LastEventTime") == ["b", "c", "a"]
    assert names(orderBy="LastEventTime", descending=True) == ["a", "c", "b"]
    stream = logs.describe_log_streams(logGroupName=group, logStreamNamePrefix="a")["logStreams"][0]
    assert stream["lastEventTimestamp"] == t + 300 and stream["firstEventTimestamp"] == t + 300
    # CloudWatch refuses a prefix with LastEventTime ordering.
    with pytest.raises(ClientError) as e:
        logs.describe_log_streams(logGroupName=group, orderBy="LastEventTime",
                                  logStreamNamePrefix="a")
    assert code_of(e) == "InvalidParameterException"


def test_insights_over_awslogs_output(server, name):
    group = f"/ecs/{name}"
    containers = [{"name": "web", "image": "app", "memory": 64,
                   "command": ["sh", "-c", 'for s in 200 200 500 404 500 200; do '
                               'echo "{\\"status\\":$s,\\"path\\":\\"/x\\"}"; done'],
                   "logConfiguration": {"logDriver": "awslogs", "options": {
                       "awslogs-group": group, "awslogs-stream-prefix": "web",
                       "awslogs-create-group": "true"}}}]
    server.aws("ecs", "register-task-definition", "--family", name,
               "--container-definitions", json.dumps(containers))
    task = server.aws("ecs", "run-task", "--task-definition", name)["tasks"][0]
    server.aws("ecs", "wait", "tasks-stopped", "--tasks", task["taskArn"])
    logs = server.boto3("logs")
    wait_for(lambda: len(logs.filter_log_events(logGroupName=group)["events"]) == 6, what="lines")
    start = int(time.time()) - 600
    qid = logs.start_query(logGroupName=group, startTime=start, endTime=start + 1200,
                           queryString="filter status >= 500 | stats count(*) as errors")["queryId"]
    result = wait_for(lambda: (lambda r: r if r["status"] == "Complete" else None)(
        logs.get_query_results(queryId=qid)), what="query")
    assert result["results"] == [[{"field": "errors", "value": "2"}]]


def test_torn_segment_tail_is_repaired_on_restart(own_server, name):
    import glob
    import os
    s = own_server
    logs = s.boto3("logs")
    group = f"/berth/{name}"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    logs.put_log_events(logGroupName=group, logStreamName="s",
                        logEvents=[{"timestamp": now_ms(), "message": f"kept {i}"} for i in range(5)])
    port = s.port
    s.stop()
    segments = glob.glob(os.path.join(s.data_dir, "logs", "*", "*.seg"))
    assert len(segments) == 1
    size = os.path.getsize(segments[0])
    with open(segments[0], "ab") as f:  # a block cut short by a crash
        f.write(b"BLK1" + b"\x00" * 20)
    s.start(port)
    assert os.path.getsize(segments[0]) == size
    assert "torn block" in open(s.log_path).read()
    logs = s.boto3("logs")
    events = logs.get_log_events(logGroupName=group, logStreamName="s", startFromHead=True)["events"]
    assert [e["message"] for e in events] == [f"kept {i}" for i in range(5)]
    logs.put_log_events(logGroupName=group, logStreamName="s",
                        logEvents=[{"timestamp": now_ms(), "message": "after repair"}])
    assert len(logs.get_log_events(logGroupName=group, logStreamName="s")["events"]) == 6


def test_awslogs_multiline_pattern_keeps_a_stack_trace_together(server, name):
    group = f"/ecs/{name}"
    script = ("echo 'I, [2026-11-26] INFO -- : Started GET /'; "
              "echo 'E, [2026-11-26] ERROR -- : NoMethodError'; "
              "echo '  app/models/user.rb:12'; echo '  app/controllers/users.rb:7'; "
              "echo 'I, [2026-11-26] INFO -- : Completed 500'")
    containers = [{"name": "app", "image": "app", "memory": 64, "command": ["sh", "-c", script],
                   "logConfiguration": {"logDriver": "awslogs", "options": {
                       "awslogs-group": group, "awslogs-stream-prefix": "web",
                       "awslogs-create-group": "true",
                       "awslogs-multiline-pattern": "^[IEWF], \\["}}}]
    server.aws("ecs", "register-task-definition", "--family", name,
               "--container-definitions", json.dumps(containers))
    task = server.aws("ecs", "run-task", "--task-definition", name)["tasks"][0]
    server.aws("ecs", "wait", "tasks-stopped", "--tasks", task["taskArn"])
    logs = server.boto3("logs")

    def messages():
        try:
            return [e["message"] for e in logs.filter_log_events(logGroupName=group)["events"]]
        except ClientError:
            return []
    got = wait_for(lambda: len(messages()) == 3 and messages(), what="three events")
    assert got[1] == ("E, [2026-11-26] ERROR -- : NoMethodError\n  app/models/user.rb:12\n"
                      "  app/controllers/users.rb:7")
