"""ELBv2 through real clients, and the berth load balancer's data plane with real backends.

The seed's setup (Repro: a target group and a host-header rule per developer) is built with the
aws CLI (v2 and v1) and boto3; requests then go through the listener's socket.
"""
import http.client
import json
import os
import shlex
import socket
import threading
import time

import pytest

from conftest import CLIS, free_port, wait_for
from elb_backends import Backend


@pytest.fixture
def backends():
    started = []

    def make(name):
        b = Backend(name)
        started.append(b)
        return b
    yield make
    for b in started:
        b.stop()


def get(port, path="/", host="example.com", headers=None, timeout=10):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        h = {"Host": host}
        h.update(headers or {})
        conn.request("GET", path, headers=h)
        r = conn.getresponse()
        return r.status, r.read(), dict(r.getheaders())
    finally:
        conn.close()


def make_lb(elb, name):
    return elb.create_load_balancer(Name=name, Subnets=["subnet-a", "subnet-b"],
                                    Type="application")["LoadBalancers"][0]


def make_tg(elb, name, port, **kw):
    args = dict(Name=name, Protocol="HTTP", Port=port, VpcId="vpc-1", TargetType="ip",
                HealthCheckPath="/health_check", HealthCheckIntervalSeconds=5,
                HealthCheckTimeoutSeconds=2, HealthyThresholdCount=2, UnhealthyThresholdCount=2,
                Matcher={"HttpCode": "200"})
    args.update(kw)
    return elb.create_target_group(**args)["TargetGroups"][0]


def forward_listener(elb, lb, tg):
    """An HTTP listener on a free port whose default action forwards to `tg`; returns the port."""
    port = free_port()
    elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=port,
                        DefaultActions=[{"Type": "forward", "TargetGroupArn": tg["TargetGroupArn"]}])
    return port


def one_backend_lb(elb, name, backend):
    """Load balancer -> listener -> target group with `backend` registered and healthy."""
    lb = make_lb(elb, name)
    tg = make_tg(elb, name, backend.port)
    elb.register_targets(TargetGroupArn=tg["TargetGroupArn"], Targets=[{"Id": "127.0.0.1"}])
    port = forward_listener(elb, lb, tg)
    wait_state(elb, tg["TargetGroupArn"], backend.port, "healthy")
    return lb, tg, port


def states(elb, tg_arn):
    d = elb.describe_target_health(TargetGroupArn=tg_arn)["TargetHealthDescriptions"]
    return {(t["Target"]["Id"], t["Target"]["Port"]): t["TargetHealth"] for t in d}


def wait_state(elb, tg_arn, port, state, timeout=20):
    return wait_for(lambda: states(elb, tg_arn).get(("127.0.0.1", port), {}).get("State") == state,
                    timeout=timeout, what=f"target {port} {state}")


@pytest.mark.parametrize("cli", CLIS)
def test_seed_per_developer_host_routing_with_the_cli(server, backends, cli, name):
    alice, bob = backends("alice"), backends("bob")
    aws = lambda *a: server.aws("elbv2", *a, cli=cli)  # noqa: E731
    lb = aws("create-load-balancer", "--name", name, "--subnets", "subnet-1", "subnet-2",
             "--type", "application")["LoadBalancers"][0]
    assert lb["DNSName"].startswith(name + "-") and lb["DNSName"].endswith(".elb.localhost")
    assert lb["State"]["Code"] == "active"
    tgs = {}
    for dev, backend in (("alice", alice), ("bob", bob)):
        tg = aws("create-target-group", "--name", f"{name}-{dev}", "--protocol", "HTTP",
                 "--port", str(backend.port), "--vpc-id", "vpc-1", "--target-type", "ip",
                 "--health-check-path", "/health_check", "--health-check-interval-seconds", "5",
                 "--health-check-timeout-seconds", "2", "--healthy-threshold-count", "2",
                 "--matcher", "HttpCode=200")["TargetGroups"][0]
        assert tg["HealthCheckPath"] == "/health_check" and tg["Matcher"]["HttpCode"] == "200"
        aws("register-targets", "--target-group-arn", tg["TargetGroupArn"],
            "--targets", f"Id=127.0.0.1,Port={backend.port}")
        tgs[dev] = tg["TargetGroupArn"]
    port = free_port()
    listener = aws("create-listener", "--load-balancer-arn", lb["LoadBalancerArn"],
                   "--protocol", "HTTP", "--port", str(port), "--default-actions",
                   json.dumps([{"Type": "fixed-response", "FixedResponseConfig": {
                       "StatusCode": "404", "ContentType": "text/plain",
                       "MessageBody": "no such developer"}}]))["Listeners"][0]
    for priority, dev in ((10, "alice"), (20, "bob")):
        rule = aws("create-rule", "--listener-arn", listener["ListenerArn"],
                   "--priority", str(priority), "--conditions",
                   json.dumps([{"Field": "host-header",
                                "HostHeaderConfig": {"Values": [f"{dev}-app.example.com"]}}]),
                   "--actions", f"Type=forward,TargetGroupArn={tgs[dev]}")["Rules"][0]
        assert rule["Priority"] == str(priority)
        assert rule["Conditions"][0]["HostHeaderConfig"]["Values"] == [f"{dev}-app.example.com"]
    for dev in tgs:
        wait_for(lambda: aws("describe-target-health", "--target-group-arn", tgs[dev])
                 ["TargetHealthDescriptions"][0]["TargetHealth"]["State"] == "healthy",
                 timeout=20, interval=0.3, what=f"{dev} healthy")
    for dev in ("alice", "bob"):
        status, body, _ = get(port, "/hello", host=f"{dev}-app.example.com:{port}")
        assert status == 200, body
        seen = json.loads(body)
        assert seen["backend"] == dev and seen["path"] == "/hello"
        h = {k.lower(): v for k, v in seen["headers"].items()}
        assert h["x-forwarded-for"] == "127.0.0.1"
        assert h["x-forwarded-proto"] == "http"
        assert h["x-forwarded-port"] == str(port)
        assert h["x-amzn-trace-id"].startswith("Root=1-")
    status, body, _ = get(port, "/", host="carol-app.example.com")
    assert (status, body) == (404, b"no such developer")
    rules = aws("describe-rules", "--listener-arn", listener["ListenerArn"])["Rules"]
    assert [r["Priority"] for r in rules] == ["10", "20", "default"]
    described = aws("describe-target-groups", "--load-balancer-arn", lb["LoadBalancerArn"])
    assert sorted(t["TargetGroupArn"] for t in described["TargetGroups"]) == sorted(tgs.values())
    aws("delete-load-balancer", "--load-balancer-arn", lb["LoadBalancerArn"])
    with pytest.raises(OSError):
        get(port, "/", host="alice-app.example.com", timeout=2)
    for arn in tgs.values():
        aws("delete-target-group", "--target-group-arn", arn)


def test_unhealthy_target_gets_no_traffic(server, backends, name):
    elb = server.boto3("elbv2")
    good, bad = backends("good"), backends("bad")
    lb = make_lb(elb, name)
    tg = make_tg(elb, name, good.port)
    elb.register_targets(TargetGroupArn=tg["TargetGroupArn"],
                         Targets=[{"Id": "127.0.0.1", "Port": good.port},
                                  {"Id": "127.0.0.1", "Port": bad.port}])
    port = forward_listener(elb, lb, tg)
    wait_state(elb, tg["TargetGroupArn"], good.port, "healthy")
    wait_state(elb, tg["TargetGroupArn"], bad.port, "healthy")
    seen = {json.loads(get(port)[1])["backend"] for _ in range(6)}
    assert seen == {"good", "bad"}  # round robin over both
    bad.health_status = 500
    bad.status = 500
    health = wait_for(lambda: states(elb, tg["TargetGroupArn"])[("127.0.0.1", bad.port)]
                      if states(elb, tg["TargetGroupArn"])[("127.0.0.1", bad.port)]["State"] == "unhealthy"
                      else None, timeout=20, what="bad unhealthy")
    assert health["Reason"] == "Target.ResponseCodeMismatch"
    assert health["Description"] == "Health checks failed with these codes: [500]"
    before = bad.hits
    for _ in range(20):
        status, body, _ = get(port)
        assert status == 200 and json.loads(body)["backend"] == "good"
    assert bad.hits == before
    # Every target unhealthy: 503 from the load balancer, ALB's body.
    good.health_status = 500
    wait_state(elb, tg["TargetGroupArn"], good.port, "unhealthy")
    status, body, headers = get(port)
    assert status == 503 and b"503 Service Temporarily Unavailable" in body
    assert headers.get("Server") == "awselb/2.0"


def test_deregistration_drains_in_flight_requests(server, backends, name):
    elb = server.boto3("elbv2")
    slow, other = backends("slow"), backends("other")
    lb = make_lb(elb, name)
    tg = make_tg(elb, name, slow.port)
    elb.modify_target_group_attributes(
        TargetGroupArn=tg["TargetGroupArn"],
        Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "30"}])
    elb.register_targets(TargetGroupArn=tg["TargetGroupArn"],
                         Targets=[{"Id": "127.0.0.1", "Port": slow.port}])
    port = forward_listener(elb, lb, tg)
    wait_state(elb, tg["TargetGroupArn"], slow.port, "healthy")
    result = {}
    t = threading.Thread(target=lambda: result.update(r=get(port, "/slow?ms=2000")))
    t.start()
    wait_for(lambda: slow.hits == 1, what="slow request in flight")
    elb.register_targets(TargetGroupArn=tg["TargetGroupArn"],
                         Targets=[{"Id": "127.0.0.1", "Port": other.port}])
    wait_state(elb, tg["TargetGroupArn"], other.port, "healthy")
    elb.deregister_targets(TargetGroupArn=tg["TargetGroupArn"],
                           Targets=[{"Id": "127.0.0.1", "Port": slow.port}])
    assert states(elb, tg["TargetGroupArn"])[("127.0.0.1", slow.port)]["Reason"] == \
        "Target.DeregistrationInProgress"
    for _ in range(5):  # new requests go to the other target at once
        assert json.loads(get(port)[1])["backend"] == "other"
    t.join(10)
    status, body, _ = result["r"]
    assert status == 200 and json.loads(body)["backend"] == "slow"
    # Nothing in flight any more: the drain ends long before the 30 s delay.
    wait_for(lambda: ("127.0.0.1", slow.port) not in states(elb, tg["TargetGroupArn"]),
             timeout=5, what="drain complete")


def test_proxy_error_statuses(server, backends, name):
    elb = server.boto3("elbv2")
    lb = make_lb(elb, name)
    closed = free_port()  # nothing listens there
    tg = make_tg(elb, name, closed, HealthCheckEnabled=False)
    elb.register_targets(TargetGroupArn=tg["TargetGroupArn"],
                         Targets=[{"Id": "127.0.0.1", "Port": closed}])
    port = forward_listener(elb, lb, tg)
    assert states(elb, tg["TargetGroupArn"])[("127.0.0.1", closed)]["Reason"] == \
        "Target.HealthCheckDisabled"
    status, body, headers = get(port)
    assert status == 502 and b"502 Bad Gateway" in body
    # A backend that closes mid-response: the client's connection ends, the proxy stays up.
    b = backends("closer")
    elb.register_targets(TargetGroupArn=tg["TargetGroupArn"],
                         Targets=[{"Id": "127.0.0.1", "Port": b.port}])
    elb.deregister_targets(TargetGroupArn=tg["TargetGroupArn"],
                           Targets=[{"Id": "127.0.0.1", "Port": closed}])
    wait_for(lambda: ("127.0.0.1", closed) not in states(elb, tg["TargetGroupArn"]), what="gone")
    with pytest.raises((http.client.IncompleteRead, ConnectionError)):
        get(port, "/close")
    assert get(port, "/ok")[0] == 200
    # Redirect action.
    elb.create_rule(ListenerArn=elb.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])
                    ["Listeners"][0]["ListenerArn"], Priority=1,
                    Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/old/*"]}}],
                    Actions=[{"Type": "redirect", "RedirectConfig": {
                        "Protocol": "https", "Host": "new.example.com", "Path": "/#{path}",
                        "StatusCode": "HTTP_301"}}])
    status, _, headers = get(port, "/old/page?x=1", host="a.example.com")
    assert status == 301
    assert headers["Location"] == "https://new.example.com:" + str(port) + "/old/page?x=1"


def test_bad_http_input_leaves_the_proxy_up(server, backends, name):
    elb = server.boto3("elbv2")
    b = backends("ok")
    lb, tg, port = one_backend_lb(elb, name, b)

    def raw(data, read=True):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(data)
        out = s.recv(65536) if read else b""
        s.close()
        return out
    assert raw(b"GARBAGE\r\n\r\n").startswith(b"HTTP/1.1 400")
    assert raw(b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n").startswith(b"HTTP/1.1 400")
    big = b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n"
    try:
        reply = raw(big)
        assert reply == b"" or reply.split(b" ")[1] in (b"400", b"431")
    except ConnectionError:
        pass  # closed while we were still sending: also what ALB does
    # Slowloris: many connections that never finish their headers, bounded in time.
    hanging = []
    for _ in range(300):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        hanging.append(s)
    assert get(port)[0] == 200  # still serving everyone else
    for s in hanging:
        s.close()
    assert server.alive()


def test_listener_survives_restart(own_server, backends, name):
    elb = own_server.boto3("elbv2")
    b = backends("persist")
    lb, tg, port = one_backend_lb(elb, name, b)
    assert get(port)[0] == 200
    own_server.kill9()
    own_server.start()
    elb = own_server.boto3("elbv2")
    wait_state(elb, tg["TargetGroupArn"], b.port, "healthy")
    assert json.loads(get(port)[1])["backend"] == "persist"
    assert elb.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"][0]["Port"] == port


@pytest.mark.parametrize("cli", CLIS)
def test_elbv2_errors_as_the_cli_reports_them(server, cli, name):
    def fails(*args):
        r = server.aws("elbv2", *args, cli=cli, check=False)
        assert r.returncode != 0, r.stdout
        return r.stderr
    assert "TargetGroupNotFound" in fails(
        "describe-target-health", "--target-group-arn",
        "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/none/0123456789abcdef")
    assert "LoadBalancerNotFound" in fails("describe-load-balancers", "--names", "nope-" + name)
    server.aws("elbv2", "create-target-group", "--name", name, "--protocol", "HTTP", "--port",
               "80", "--vpc-id", "vpc-1", cli=cli)
    assert "DuplicateTargetGroupName" in fails(
        "create-target-group", "--name", name, "--protocol", "HTTP", "--port", "81",
        "--vpc-id", "vpc-1")
    assert "ValidationError" in fails(
        "create-target-group", "--name", name + "_bad", "--protocol", "HTTP", "--port", "80",
        "--vpc-id", "vpc-1")
    assert "ValidationError" in fails(
        "create-target-group", "--name", name + "x", "--protocol", "HTTP", "--port", "80",
        "--vpc-id", "vpc-1", "--matcher", "HttpCode=600")


def test_elbv2_attributes_tags_paging_boto3(server, name):
    elb = server.boto3("elbv2")
    lbs = [make_lb(elb, f"{name}-{i}") for i in range(3)]
    arns = [lb["LoadBalancerArn"] for lb in lbs]
    page = elb.describe_load_balancers(LoadBalancerArns=arns, PageSize=2)
    assert len(page["LoadBalancers"]) == 2 and page["NextMarker"]
    rest = elb.describe_load_balancers(LoadBalancerArns=arns, PageSize=2, Marker=page["NextMarker"])
    assert len(rest["LoadBalancers"]) == 1
    attrs = elb.modify_load_balancer_attributes(
        LoadBalancerArn=arns[0], Attributes=[{"Key": "idle_timeout.timeout_seconds", "Value": "120"}])
    assert {"Key": "idle_timeout.timeout_seconds", "Value": "120"} in attrs["Attributes"]
    with pytest.raises(elb.exceptions.ClientError) as e:
        elb.modify_load_balancer_attributes(
            LoadBalancerArn=arns[0], Attributes=[{"Key": "idle_timeout.timeout_seconds", "Value": "x"}])
    assert e.value.response["Error"]["Code"] == "ValidationError"
    elb.add_tags(ResourceArns=arns[:2], Tags=[{"Key": "owner", "Value": "alice"}])
    tags = elb.describe_tags(ResourceArns=arns[:2])["TagDescriptions"]
    assert [t["Tags"] for t in tags] == [[{"Key": "owner", "Value": "alice"}]] * 2
    elb.remove_tags(ResourceArns=arns[:1], TagKeys=["owner"])
    assert elb.describe_tags(ResourceArns=arns[:1])["TagDescriptions"][0]["Tags"] == []
    tg = make_tg(elb, name, 8080)
    a = elb.describe_target_group_attributes(TargetGroupArn=tg["TargetGroupArn"])["Attributes"]
    assert {"Key": "deregistration_delay.timeout_seconds", "Value": "300"} in a
    with pytest.raises(elb.exceptions.TargetGroupNotFoundException):
        elb.describe_target_groups(TargetGroupArns=[tg["TargetGroupArn"] + "0"])
    elb.delete_target_group(TargetGroupArn=tg["TargetGroupArn"] + "0")  # gone: succeeds, as AWS
    for arn in arns:
        elb.delete_load_balancer(LoadBalancerArn=arn)
    elb.delete_target_group(TargetGroupArn=tg["TargetGroupArn"])


def make_certificate(tmp_path, cn):
    import subprocess
    cert, key = tmp_path / f"{cn}.crt", tmp_path / f"{cn}.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", f"/CN={cn}", "-addext", f"subjectAltName=DNS:{cn}",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


@pytest.mark.parametrize("cli", CLIS)
def test_https_listener_with_an_acm_imported_certificate(server, backends, cli, name, tmp_path):
    import ssl
    cert, key = make_certificate(tmp_path, "secure.example.com")
    other_cert, other_key = make_certificate(tmp_path, "other.example.com")
    bad = server.aws("acm", "import-certificate", "--certificate", f"fileb://{cert}",
                     "--private-key", f"fileb://{other_key}", cli=cli, check=False)
    assert bad.returncode != 0 and "ValidationException" in bad.stderr
    cert_arn = server.aws("acm", "import-certificate", "--certificate", f"fileb://{cert}",
                          "--private-key", f"fileb://{key}", cli=cli)["CertificateArn"]
    assert cert_arn.startswith("arn:aws:acm:us-east-1:")
    desc = server.aws("acm", "describe-certificate", "--certificate-arn", cert_arn, cli=cli)
    assert desc["Certificate"]["DomainName"] == "secure.example.com"
    assert desc["Certificate"]["Type"] == "IMPORTED" and desc["Certificate"]["KeyAlgorithm"] == "RSA_2048"

    elb = server.boto3("elbv2")
    b = backends("tls-backend")
    lb = make_lb(elb, name)
    tg = make_tg(elb, name, b.port)
    elb.register_targets(TargetGroupArn=tg["TargetGroupArn"], Targets=[{"Id": "127.0.0.1"}])
    port = free_port()
    listener = elb.create_listener(
        LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTPS", Port=port,
        Certificates=[{"CertificateArn": cert_arn}],
        DefaultActions=[{"Type": "forward", "TargetGroupArn": tg["TargetGroupArn"]}])["Listeners"][0]
    assert listener["SslPolicy"] and listener["Certificates"][0]["CertificateArn"] == cert_arn
    wait_state(elb, tg["TargetGroupArn"], b.port, "healthy")
    ctx = ssl.create_default_context(cafile=str(cert))
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)
    ctx.check_hostname = False
    conn.request("GET", "/secure", headers={"Host": "secure.example.com"})
    r = conn.getresponse()
    seen = json.loads(r.read())
    conn.close()
    assert r.status == 200 and seen["backend"] == "tls-backend"
    assert {k.lower(): v for k, v in seen["headers"].items()}["x-forwarded-proto"] == "https"
    in_use = server.aws("acm", "delete-certificate", "--certificate-arn", cert_arn, cli=cli,
                        check=False)
    assert in_use.returncode != 0 and "ResourceInUseException" in in_use.stderr
    elb.delete_load_balancer(LoadBalancerArn=lb["LoadBalancerArn"])
    server.aws("acm", "delete-certificate", "--certificate-arn", cert_arn, cli=cli)
    del other_cert


def test_access_log_in_albs_format(server, backends, name):
    elb = server.boto3("elbv2")
    b = backends("logged")
    lb, tg, port = one_backend_lb(elb, name, b)
    elb.modify_load_balancer_attributes(
        LoadBalancerArn=lb["LoadBalancerArn"],
        Attributes=[{"Key": "access_logs.s3.enabled", "Value": "true"},
                    {"Key": "access_logs.s3.bucket", "Value": "logs-bucket"},
                    {"Key": "access_logs.s3.prefix", "Value": "web"}])
    assert get(port, "/logged/path?q=1", headers={"User-Agent": "berth-test/1.0"})[0] == 200
    path = f"{server.data_dir}/elb-access-logs/logs-bucket/web/{name}.log"
    line = wait_for(lambda: os.path.exists(path) and open(path).read().strip(), timeout=10,
                    what="access log line").splitlines()[-1]
    fields = shlex.split(line)
    assert fields[0] == "http"
    assert fields[2] == f"app/{name}/{lb['LoadBalancerArn'].rsplit('/', 1)[1]}"
    assert fields[4] == f"127.0.0.1:{b.port}"
    assert fields[8:10] == ["200", "200"]
    assert fields[12] == f"GET http://example.com:{port}/logged/path?q=1 HTTP/1.1"
    assert fields[13] == "berth-test/1.0"
    assert fields[16] == tg["TargetGroupArn"]


def test_listener_tag_tells_where_it_listens(server, backends, name):
    elb = server.boto3("elbv2")
    lb, tg, port = one_backend_lb(elb, name, backends("tagged"))
    listener = elb.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"][0]
    tags = elb.describe_tags(ResourceArns=[listener["ListenerArn"]])["TagDescriptions"][0]["Tags"]
    assert {"Key": "berth:address", "Value": f"127.0.0.1:{port}"} in tags
