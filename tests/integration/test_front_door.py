"""The front door under bad input: every malformed, oversized or badly signed request gets the
AWS error a client expects, the server stays up, and the store is unchanged."""
import http.client
import json
import os
import socket
import subprocess
import sys
import textwrap

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import botocore.parsers
import botocore.session
import pytest
from botocore.exceptions import ClientError

from conftest import find_pip_python

ECS_TARGET = "AmazonEC2ContainerServiceV20141113"


def signed(server, body, headers, path="/", service="ecs", secret=None, key=None, date=None):
    """Signs a raw request with botocore's own signer and sends it; returns (status, headers, body)."""
    k, s = server.credentials
    creds = botocore.credentials.Credentials(key or k, secret or s)
    req = botocore.awsrequest.AWSRequest(method="POST", url=server.endpoint + path, data=body,
                                         headers=headers)
    signer = botocore.auth.SigV4Auth(creds, service, "us-east-1")
    if date:
        import datetime
        from unittest import mock
        with mock.patch("botocore.auth.datetime") as dt:
            dt.datetime.utcnow.return_value = date
            dt.datetime.now.return_value = date
            signer.add_auth(req)
    else:
        signer.add_auth(req)
    return send(server, "POST", path, req.body, dict(req.headers))


def send(server, method, path, body, headers):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request(method, path, body=body, headers=headers)
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, dict(r.getheaders()), data


def ecs_call(server, op, body, **kw):
    return signed(server, body, {"X-Amz-Target": f"{ECS_TARGET}.{op}",
                                 "Content-Type": "application/x-amz-json-1.1"}, **kw)


def clusters(server):
    return sorted(server.boto3("ecs").list_clusters()["clusterArns"])


@pytest.fixture
def unchanged(server):
    before = clusters(server)
    yield
    assert server.alive()
    assert clusters(server) == before


@pytest.mark.parametrize("body,code", [
    (b"{not json", "SerializationException"),
    (b"[1, 2]", "SerializationException"),
    (b'"text"', "SerializationException"),
    (b'{"clusterName": 42}', "SerializationException"),
    (b'{"clusterName": null}', "SerializationException"),
    (b'{"clusterName": "a", "tags": "nope"}', "InvalidParameterException"),
    (b"\xff\xfe\x00garbage", "SerializationException"),
])
def test_malformed_json_bodies(server, unchanged, body, code):
    status, _, data = ecs_call(server, "CreateCluster", body)
    assert status == 400
    assert json.loads(data)["__type"] == code


def test_wrong_types_in_run_task(server, unchanged):
    status, _, data = ecs_call(server, "RunTask", b'{"taskDefinition": "x", "count": "many"}')
    assert status == 400
    assert json.loads(data)["__type"] == "SerializationException"


def test_missing_required_member(server, unchanged):
    status, _, data = ecs_call(server, "RunTask", b"{}")
    assert status == 400
    assert json.loads(data)["__type"] == "InvalidParameterException"


def test_unknown_operation(server, unchanged):
    status, _, data = ecs_call(server, "LaunchRockets", b"{}")
    assert status == 400
    assert json.loads(data)["__type"] == "UnknownOperationException"


def test_unsigned_request_is_refused(server, unchanged):
    status, _, data = send(server, "POST", "/", b"{}", {
        "X-Amz-Target": f"{ECS_TARGET}.ListClusters",
        "Content-Type": "application/x-amz-json-1.1"})
    assert status == 403
    assert json.loads(data)["__type"] == "MissingAuthenticationTokenException"


def test_wrong_secret_is_invalid_signature(server, unchanged):
    status, _, data = ecs_call(server, "CreateCluster", b'{"clusterName": "evil"}',
                               secret="x" * 40)
    assert status in (400, 403)
    body = json.loads(data)
    assert body["__type"] == "InvalidSignatureException"
    assert body["message"].startswith("The request signature we calculated does not match")


def test_unknown_key_with_boto3(server, unchanged):
    import boto3
    ecs = boto3.client("ecs", endpoint_url=server.endpoint, region_name="us-east-1",
                       aws_access_key_id="AKIAUNKNOWNUNKNOWN00", aws_secret_access_key="x" * 40)
    with pytest.raises(ClientError) as e:
        ecs.list_clusters()
    assert e.value.response["Error"]["Code"] == "UnrecognizedClientException"
    sts = boto3.client("sts", endpoint_url=server.endpoint, region_name="us-east-1",
                       aws_access_key_id="AKIAUNKNOWNUNKNOWN00", aws_secret_access_key="x" * 40)
    with pytest.raises(ClientError) as e:
        sts.get_caller_identity()
    assert e.value.response["Error"]["Code"] == "InvalidClientTokenId"


def test_bad_signature_on_query_protocol(server, unchanged):
    status, _, data = signed(server, b"Action=GetCallerIdentity&Version=2011-06-15",
                             {"Content-Type": "application/x-www-form-urlencoded"},
                             service="sts", secret="y" * 40)
    assert status == 403
    assert b"<Code>SignatureDoesNotMatch</Code>" in data


def test_expired_signature(server, unchanged):
    import datetime
    old = datetime.datetime.utcnow() - datetime.timedelta(minutes=20)
    status, _, data = ecs_call(server, "ListClusters", b"{}", date=old)
    body = json.loads(data)
    assert body["__type"] == "InvalidSignatureException"
    assert body["message"].startswith("Signature expired")


def test_tampered_body_after_signing(server, unchanged):
    k, s = server.credentials
    creds = botocore.credentials.Credentials(k, s)
    req = botocore.awsrequest.AWSRequest(
        method="POST", url=server.endpoint + "/", data=b'{"clusterName": "good"}',
        headers={"X-Amz-Target": f"{ECS_TARGET}.CreateCluster",
                 "Content-Type": "application/x-amz-json-1.1"})
    botocore.auth.SigV4Auth(creds, "ecs", "us-east-1").add_auth(req)
    status, _, data = send(server, "POST", "/", b'{"clusterName": "evil"}', dict(req.headers))
    assert json.loads(data)["__type"] == "InvalidSignatureException"


def test_huge_body_is_refused_before_reading(server, unchanged):
    # Only the head is sent: a 17 MiB Content-Length is refused without waiting for the body.
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: " + ECS_TARGET.encode() +
                 b".ListClusters\r\nContent-Type: application/x-amz-json-1.1\r\n"
                 b"Content-Length: 17825792\r\n\r\n")
    data = sock.recv(65536)
    sock.close()
    assert data.startswith(b"HTTP/1.1 413")
    assert b"RequestEntityTooLarge" in data


def test_malformed_http_gets_400_and_server_survives(server, unchanged):
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock.sendall(b"THIS IS NOT HTTP\r\n\r\n")
    data = sock.recv(65536)
    sock.close()
    assert data.startswith(b"HTTP/1.1 400")


def test_many_concurrent_keepalive_connections(server, unchanged):
    conns = []
    for _ in range(200):
        conns.append(socket.create_connection(("127.0.0.1", server.port), timeout=10))
    ecs = server.boto3("ecs")
    assert "clusterArns" in ecs.list_clusters()
    for c in conns:
        c.close()


def cbor_call(server, operation, body):
    k, s = server.credentials
    creds = botocore.credentials.Credentials(k, s)
    path = f"/service/GraniteServiceVersion20100801/operation/{operation}"
    req = botocore.awsrequest.AWSRequest(
        method="POST", url=server.endpoint + path, data=body,
        headers={"smithy-protocol": "rpc-v2-cbor", "Content-Type": "application/cbor",
                 "Accept": "application/cbor"})
    botocore.auth.SigV4Auth(creds, "monitoring", "us-east-1").add_auth(req)
    return send(server, "POST", path, req.body, dict(req.headers))


def test_cbor_errors_parse_with_botocore(server, unchanged):
    # CloudWatch (monitoring) is not served yet: the CBOR error envelope must still be what
    # botocore's rpc-v2-cbor parser reads.
    status, headers, data = cbor_call(server, "ListMetrics", b"\xa0")
    assert headers.get("smithy-protocol") == "rpc-v2-cbor"
    code = parse_cbor_error(status, headers, data)
    assert code == "UnknownOperationException"


def parse_cbor_error(status, headers, data):
    """Parses with the newest botocore available (rpc-v2-cbor needs botocore >= 1.36)."""
    if hasattr(botocore.parsers, "RpcV2CBORParser"):
        parsed = botocore.parsers.RpcV2CBORParser().parse(
            {"status_code": status, "headers": headers, "body": data}, None)
        return parsed["Error"]["Code"]
    py, _ = find_pip_python()
    if py is None:
        pytest.skip("no botocore with rpc-v2-cbor support on this machine")
    script = textwrap.dedent("""
        import sys, json, botocore.parsers
        status, headers, data = int(sys.argv[1]), json.loads(sys.argv[2]), sys.stdin.buffer.read()
        p = botocore.parsers.RpcV2CBORParser()
        print(p.parse({"status_code": status, "headers": headers, "body": data}, None)["Error"]["Code"])
    """)
    r = subprocess.run([py, "-c", script, str(status), json.dumps(headers)], input=data,
                       capture_output=True, check=True)
    return r.stdout.decode().strip()


def test_malformed_cbor(server, unchanged):
    status, headers, data = cbor_call(server, "ListMetrics", b"\xbf\x61")  # truncated map
    assert status == 400
    assert parse_cbor_error(status, headers, data) in ("SerializationException",
                                                       "UnknownOperationException")


def query_call(server, body, service="sts"):
    return signed(server, body, {"Content-Type": "application/x-www-form-urlencoded"},
                  service=service)


def test_query_unknown_action(server, unchanged):
    status, _, data = query_call(server, b"Action=LaunchRockets&Version=2011-06-15")
    assert status == 400
    assert b"<Code>InvalidAction</Code>" in data


def test_query_missing_action(server, unchanged):
    status, _, data = query_call(server, b"Version=2011-06-15&Foo=%zz%")
    assert status == 400
    assert b"<Code>MissingAction</Code>" in data


def test_query_service_not_served_yet(server, unchanged):
    # EC2 Auto Scaling (query protocol): not a berth service.
    status, _, data = query_call(server, b"Action=DescribeAutoScalingGroups&Version=2011-01-01",
                                 service="autoscaling")
    assert status == 400
    assert b"<ErrorResponse" in data


def test_query_unknown_action_and_malformed_parameters(server, unchanged):
    status, _, data = query_call(server, b"Action=DescribeNothing&Version=2015-12-01",
                                 service="elasticloadbalancing")
    assert status == 400 and b"<Code>InvalidAction</Code>" in data
    status, _, data = query_call(server, b"Action=CreateTargetGroup&Version=2015-12-01&Name=x"
                                 b"&Port=eighty&VpcId=v", service="elasticloadbalancing")
    assert status == 400 and b"<Code>ValidationError</Code>" in data
    status, _, data = query_call(server, b"Action=CreateLoadBalancer&Version=2015-12-01"
                                 b"&Name=%ZZ%&Subnets.member.x=1", service="elasticloadbalancing")
    assert status == 400 and b"<Code>ValidationError</Code>" in data


def test_json_service_not_served_yet(server, unchanged):
    status, _, data = signed(server, b"{}", {"X-Amz-Target": "DynamoDB_20120810.ListTables",
                                             "Content-Type": "application/x-amz-json-1.0"},
                             service="dynamodb")
    assert status == 400
    assert json.loads(data)["__type"] == "UnknownOperationException"


@pytest.mark.parametrize("body,code", [
    (b'{"logGroupName": "g", "logStreamName": "s", "logEvents": [{"timestamp": "x", "message": "m"}]}',
     "SerializationException"),
    (b'{"logGroupName": "g", "logStreamName": "s", "logEvents": [{"timestamp": 1, "message": 5}]}',
     "SerializationException"),
    (b'{"logGroupName": "g", "logStreamName": "s", "logEvents": [', "SerializationException"),
    (b'{"logGroupName": "g", "logStreamName": "s", "logEvents": [{"timestamp": 1}]}',
     "InvalidParameterException"),
    (b'{"logGroupName": "g"}', "InvalidParameterException"),
    (b'not json at all', "SerializationException"),
    (b'{"logGroupName": "g", "logStreamName": "s", "logEvents": []} trailing', "SerializationException"),
])
def test_put_log_events_bad_bodies(server, unchanged, body, code):
    status, _, data = signed(server, body, {"X-Amz-Target": "Logs_20140328.PutLogEvents",
                                            "Content-Type": "application/x-amz-json-1.1"},
                             service="logs")
    assert status == 400
    assert json.loads(data)["__type"] == code


def test_large_put_log_events_is_decoded_early_but_stored_only_when_signed(server, name):
    """A PutLogEvents body over 128 KiB is decoded on a worker thread while the signature is
    checked: a tampered batch, one signed with an unknown key and one whose signer lacks
    logs:PutLogEvents are all refused, and none of their events is stored."""
    logs = server.boto3("logs")
    logs.create_log_group(logGroupName=name)
    logs.create_log_stream(logGroupName=name, logStreamName="s")
    import time
    now = int(time.time() * 1000)
    events = [{"timestamp": now, "message": json.dumps({"i": i, "pad": "x" * 200})}
              for i in range(1000)]
    body = json.dumps({"logGroupName": name, "logStreamName": "s", "logEvents": events}).encode()
    assert len(body) > 200 * 1024
    headers = {"X-Amz-Target": "Logs_20140328.PutLogEvents",
               "Content-Type": "application/x-amz-json-1.1"}
    k, s = server.credentials
    req = botocore.awsrequest.AWSRequest(method="POST", url=server.endpoint + "/", data=body,
                                         headers=headers)
    botocore.auth.SigV4Auth(botocore.credentials.Credentials(k, s), "logs", "us-east-1").add_auth(req)
    tampered = body[:-200] + body[-200:].replace(b"x", b"y", 1)
    assert tampered != body
    status, _, data = send(server, "POST", "/", tampered, dict(req.headers))
    assert json.loads(data)["__type"] == "InvalidSignatureException"
    status, _, data = signed(server, body, headers, service="logs", key="AKIAUNKNOWN0000000000")
    assert json.loads(data)["__type"] == "UnrecognizedClientException"
    iam = server.boto3("iam")
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    status, _, data = signed(server, body, headers, service="logs", key=key["AccessKeyId"],
                             secret=key["SecretAccessKey"])
    assert json.loads(data)["__type"] == "AccessDeniedException"
    assert logs.get_log_events(logGroupName=name, logStreamName="s")["events"] == []
    # The same batch, signed as it is, is stored whole.
    status, _, data = send(server, "POST", "/", body, dict(req.headers))
    assert status == 200, data
    got = logs.get_log_events(logGroupName=name, logStreamName="s", startFromHead=True)["events"]
    assert len(got) == 1000 and json.loads(got[-1]["message"])["i"] == 999
