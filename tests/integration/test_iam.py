"""IAM and STS through real clients: users and keys, policies evaluated on every call made with
non-root credentials (Deny over Allow, wildcards), AWS's denial messages, roles assumed with
sts:AssumeRole and the temporary credentials they give."""
import json
import os

import pytest

from conftest import CLIS, REGION


def as_user(server, key, secret, token=None):
    """An environment for the aws CLI that signs with the given credentials."""
    env = server.client_env()
    env.pop("AWS_SHARED_CREDENTIALS_FILE", None)
    env.update(AWS_ACCESS_KEY_ID=key, AWS_SECRET_ACCESS_KEY=secret,
               AWS_SHARED_CREDENTIALS_FILE="/dev/null")
    if token:
        env["AWS_SESSION_TOKEN"] = token
    return env


def run(server, env, cli, *args):
    import subprocess
    cmd = [cli, "--endpoint-url", server.endpoint, "--output", "json"] + [str(a) for a in args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)


def client(server, service, key, secret, token=None):
    import boto3
    return boto3.client(service, endpoint_url=server.endpoint, region_name=REGION,
                        aws_access_key_id=key, aws_secret_access_key=secret,
                        aws_session_token=token)


def policy(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


@pytest.mark.parametrize("cli", CLIS)
def test_user_policies_allow_deny_and_the_denial_message(server, cli, name):
    iam = server.boto3("iam")
    user = iam.create_user(UserName=name)["User"]
    assert user["Arn"] == f"arn:aws:iam::000000000000:user/{name}"
    key = iam.create_access_key(UserName=name)["AccessKey"]
    env = as_user(server, key["AccessKeyId"], key["SecretAccessKey"])
    who = json.loads(run(server, env, cli, "sts", "get-caller-identity").stdout)
    assert who["Arn"] == user["Arn"] and who["UserId"] == user["UserId"]

    denied = run(server, env, cli, "ecs", "list-clusters")
    assert denied.returncode != 0 and "AccessDeniedException" in denied.stderr
    assert (f"User: {user['Arn']} is not authorized to perform: ecs:ListClusters"
            in denied.stderr)

    iam.put_user_policy(UserName=name, PolicyName="ecs-read", PolicyDocument=policy(
        {"Effect": "Allow", "Action": ["ecs:List*", "ecs:Describe*"], "Resource": "*"}))
    allowed = run(server, env, cli, "ecs", "list-clusters")
    assert allowed.returncode == 0, allowed.stderr
    # An explicit Deny wins over the Allow.
    iam.put_user_policy(UserName=name, PolicyName="no-list", PolicyDocument=policy(
        {"Sid": "NoList", "Effect": "Deny", "Action": "ecs:ListClusters", "Resource": "*"}))
    again = run(server, env, cli, "ecs", "list-clusters")
    assert again.returncode != 0 and "explicit deny" in again.stderr
    assert run(server, env, cli, "ecs", "describe-clusters").returncode == 0
    # The policy reads back as the JSON that was put (IAM URL-encodes it on the wire).
    got = iam.get_user_policy(UserName=name, PolicyName="no-list")["PolicyDocument"]
    assert got["Statement"][0]["Sid"] == "NoList"
    # IAM itself is authorized too: the user may not create users.
    cannot = run(server, env, cli, "iam", "create-user", "--user-name", name + "x")
    assert cannot.returncode != 0 and "AccessDenied" in cannot.stderr
    # A deleted key is refused outright.
    iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
    gone = run(server, env, cli, "ecs", "describe-clusters")
    assert gone.returncode != 0 and "UnrecognizedClientException" in gone.stderr
    for p in ("ecs-read", "no-list"):
        iam.delete_user_policy(UserName=name, PolicyName=p)
    iam.delete_user(UserName=name)


def test_managed_policies_and_inactive_keys(server, name):
    iam = server.boto3("iam")
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    arn = iam.create_policy(PolicyName=name, PolicyDocument=policy(
        {"Effect": "Allow", "Action": "logs:Describe*", "Resource": "*"}))["Policy"]["Arn"]
    iam.attach_user_policy(UserName=name, PolicyArn=arn)
    logs = client(server, "logs", key["AccessKeyId"], key["SecretAccessKey"])
    logs.describe_log_groups()
    with pytest.raises(logs.exceptions.ClientError) as e:
        logs.create_log_group(logGroupName="/denied/" + name)
    assert e.value.response["Error"]["Code"] == "AccessDeniedException"
    attached = iam.list_attached_user_policies(UserName=name)["AttachedPolicies"]
    assert attached == [{"PolicyName": name, "PolicyArn": arn}]
    with pytest.raises(iam.exceptions.DeleteConflictException):
        iam.delete_policy(PolicyArn=arn)
    # AWS's well-known managed policies exist and attach.
    iam.attach_user_policy(UserName=name,
                           PolicyArn="arn:aws:iam::aws:policy/CloudWatchLogsFullAccess")
    logs.create_log_group(logGroupName="/allowed/" + name)
    iam.update_access_key(UserName=name, AccessKeyId=key["AccessKeyId"], Status="Inactive")
    with pytest.raises(logs.exceptions.ClientError) as e:
        logs.describe_log_groups()
    assert e.value.response["Error"]["Code"] == "UnrecognizedClientException"
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_user(UserName=name + "-nobody")
    with pytest.raises(iam.exceptions.EntityAlreadyExistsException):
        iam.create_user(UserName=name)
    with pytest.raises(iam.exceptions.MalformedPolicyDocumentException):
        iam.put_user_policy(UserName=name, PolicyName="bad", PolicyDocument='{"Statement": [')


@pytest.mark.parametrize("cli", CLIS)
def test_assume_role_gives_temporary_credentials_bound_by_the_role(server, cli, name):
    iam = server.boto3("iam")
    user = iam.create_user(UserName=name)["User"]
    key = iam.create_access_key(UserName=name)["AccessKey"]
    trust = policy({"Effect": "Allow", "Principal": {"AWS": user["Arn"]},
                    "Action": "sts:AssumeRole"})
    role = iam.create_role(RoleName="app-" + name, AssumeRolePolicyDocument=trust)["Role"]
    other = iam.create_role(RoleName="other-" + name, AssumeRolePolicyDocument=trust)["Role"]
    assert iam.get_role(RoleName="app-" + name)["Role"]["AssumeRolePolicyDocument"] == json.loads(trust)
    iam.put_role_policy(RoleName="app-" + name, PolicyName="logs", PolicyDocument=policy(
        {"Effect": "Allow", "Action": "logs:DescribeLogGroups", "Resource": "*"}))
    # The user may assume roles named app-* only (a wildcard resource).
    iam.put_user_policy(UserName=name, PolicyName="assume", PolicyDocument=policy(
        {"Effect": "Allow", "Action": "sts:AssumeRole",
         "Resource": "arn:aws:iam::*:role/app-*"}))
    env = as_user(server, key["AccessKeyId"], key["SecretAccessKey"])
    r = run(server, env, cli, "sts", "assume-role", "--role-arn", role["Arn"],
            "--role-session-name", "deploy")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    creds = out["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA") and creds["SessionToken"]
    assert out["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::000000000000:assumed-role/app-{name}/deploy"
    no = run(server, env, cli, "sts", "assume-role", "--role-arn", other["Arn"],
             "--role-session-name", "deploy")
    assert no.returncode != 0 and "AccessDenied" in no.stderr

    session = as_user(server, creds["AccessKeyId"], creds["SecretAccessKey"],
                      creds["SessionToken"])
    who = json.loads(run(server, session, cli, "sts", "get-caller-identity").stdout)
    assert who["Arn"] == out["AssumedRoleUser"]["Arn"]
    assert who["UserId"] == out["AssumedRoleUser"]["AssumedRoleId"]
    assert run(server, session, cli, "logs", "describe-log-groups").returncode == 0
    denied = run(server, session, cli, "ecs", "list-clusters")
    assert denied.returncode != 0
    assert f"User: {out['AssumedRoleUser']['Arn']} is not authorized" in denied.stderr
    # A session token that is not the session's is refused.
    forged = as_user(server, creds["AccessKeyId"], creds["SecretAccessKey"], "forged-token")
    bad = run(server, forged, cli, "logs", "describe-log-groups")
    assert bad.returncode != 0 and "UnrecognizedClientException" in bad.stderr


def test_trust_policy_is_enforced(server, name):
    iam = server.boto3("iam")
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    iam.put_user_policy(UserName=name, PolicyName="assume", PolicyDocument=policy(
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}))
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=policy(
        {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"},
         "Action": "sts:AssumeRole"}))["Role"]
    sts = client(server, "sts", key["AccessKeyId"], key["SecretAccessKey"])
    with pytest.raises(sts.exceptions.ClientError) as e:
        sts.assume_role(RoleArn=role["Arn"], RoleSessionName="x1")
    assert e.value.response["Error"]["Code"] == "AccessDenied"
    with pytest.raises(iam.exceptions.MalformedPolicyDocumentException):
        iam.create_role(RoleName=name + "b", AssumeRolePolicyDocument=policy(
            {"Effect": "Allow", "Action": "sts:AssumeRole"}))  # no Principal


def test_resource_level_permissions_for_ecs_and_logs(server, name):
    iam = server.boto3("iam")
    server.aws("ecs", "create-cluster", "--cluster-name", "dev-" + name)
    logs_root = server.boto3("logs")
    logs_root.create_log_group(logGroupName=f"/ecs/app-{name}")
    logs_root.create_log_group(logGroupName=f"/ecs/other-{name}")
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    iam.put_user_policy(UserName=name, PolicyName="scoped", PolicyDocument=policy(
        {"Effect": "Allow", "Action": "ecs:DescribeClusters",
         "Resource": f"arn:aws:ecs:*:*:cluster/dev-{name}"},
        {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": f"arn:aws:logs:*:*:log-group:/ecs/app-{name}:*"}))
    ecs = client(server, "ecs", key["AccessKeyId"], key["SecretAccessKey"])
    assert ecs.describe_clusters(clusters=["dev-" + name])["clusters"][0]["status"] == "ACTIVE"
    with pytest.raises(ecs.exceptions.ClientError) as e:
        ecs.describe_clusters(clusters=["default"])
    assert "on resource: arn:aws:ecs:us-east-1:000000000000:cluster/default" in \
        e.value.response["Error"]["Message"]
    logs = client(server, "logs", key["AccessKeyId"], key["SecretAccessKey"])
    logs.create_log_stream(logGroupName=f"/ecs/app-{name}", logStreamName="web/1")
    with pytest.raises(logs.exceptions.ClientError) as e:
        logs.create_log_stream(logGroupName=f"/ecs/other-{name}", logStreamName="web/1")
    assert e.value.response["Error"]["Code"] == "AccessDeniedException"
    assert f"log-group:/ecs/other-{name}:log-stream:web/1" in e.value.response["Error"]["Message"]


def test_resource_level_permissions_for_elb_and_iam(server, name):
    iam, elb = server.boto3("iam"), server.boto3("elbv2")
    mine = elb.create_target_group(Name=name + "-a", Protocol="HTTP", Port=80,
                                   VpcId="vpc-1")["TargetGroups"][0]["TargetGroupArn"]
    other = elb.create_target_group(Name=name + "-b", Protocol="HTTP", Port=80,
                                    VpcId="vpc-1")["TargetGroups"][0]["TargetGroupArn"]
    user = iam.create_user(UserName=name)["User"]
    iam.create_user(UserName=name + "-other")
    key = iam.create_access_key(UserName=name)["AccessKey"]
    iam.put_user_policy(UserName=name, PolicyName="scoped", PolicyDocument=policy(
        {"Effect": "Allow", "Action": "elasticloadbalancing:DescribeTargetHealth",
         "Resource": mine},
        {"Effect": "Allow", "Action": "iam:GetUser",
         "Resource": "arn:aws:iam::*:user/${aws:username}"}))
    user_elb = client(server, "elbv2", key["AccessKeyId"], key["SecretAccessKey"])
    user_elb.describe_target_health(TargetGroupArn=mine)
    with pytest.raises(user_elb.exceptions.ClientError) as e:
        user_elb.describe_target_health(TargetGroupArn=other)
    assert e.value.response["Error"]["Code"] == "AccessDenied"
    assert other in e.value.response["Error"]["Message"]
    user_iam = client(server, "iam", key["AccessKeyId"], key["SecretAccessKey"])
    assert user_iam.get_user(UserName=name)["User"]["Arn"] == user["Arn"]
    with pytest.raises(user_iam.exceptions.ClientError) as e:
        user_iam.get_user(UserName=name + "-other")
    assert e.value.response["Error"]["Code"] == "AccessDenied"


def test_iam_resources_carry_the_path_of_users_and_roles(server, name):
    """A request names a role or user without its path; IAM checks the stored ARN (path
    included), so a policy on `role/team/*` covers the team's roles and nothing else."""
    iam = server.boto3("iam")
    trust = policy({"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                    "Action": "sts:AssumeRole"})
    team = iam.create_role(RoleName=name + "-t", Path="/team/",
                           AssumeRolePolicyDocument=trust)["Role"]
    assert team["Arn"] == f"arn:aws:iam::000000000000:role/team/{name}-t"
    iam.create_role(RoleName=name + "-o", AssumeRolePolicyDocument=trust)
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    iam.put_user_policy(UserName=name, PolicyName="team", PolicyDocument=policy(
        {"Effect": "Allow", "Action": ["iam:GetRole", "iam:CreateRole"],
         "Resource": "arn:aws:iam::*:role/team/*"}))
    user_iam = client(server, "iam", key["AccessKeyId"], key["SecretAccessKey"])
    assert user_iam.get_role(RoleName=name + "-t")["Role"]["Arn"] == team["Arn"]
    with pytest.raises(user_iam.exceptions.ClientError) as e:
        user_iam.get_role(RoleName=name + "-o")
    assert e.value.response["Error"]["Code"] == "AccessDenied"
    assert f"role/{name}-o" in e.value.response["Error"]["Message"]
    # A role being created is checked on the ARN it will have: its Path decides.
    user_iam.create_role(RoleName=name + "-n", Path="/team/", AssumeRolePolicyDocument=trust)
    with pytest.raises(user_iam.exceptions.ClientError) as e:
        user_iam.create_role(RoleName=name + "-x", AssumeRolePolicyDocument=trust)
    assert e.value.response["Error"]["Code"] == "AccessDenied"


@pytest.mark.parametrize("cli", CLIS)
def test_an_expired_session_token_is_refused_as_expired(own_server, cli, name):
    """Temporary credentials stop working when they expire, with the error SDKs recognise
    (ExpiredTokenException; ExpiredToken in the query protocol). The shortest session AWS allows
    is 15 minutes, so the test moves the session's expiry into the past while the server is
    stopped, as the clock would."""
    import sqlite3
    server = own_server
    iam, sts = server.boto3("iam"), server.boto3("sts")
    trust = policy({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::000000000000:root"},
                    "Action": "sts:AssumeRole"})
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)["Role"]
    iam.put_role_policy(RoleName=name, PolicyName="all", PolicyDocument=policy(
        {"Effect": "Allow", "Action": "*", "Resource": "*"}))
    creds = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="short",
                            DurationSeconds=900)["Credentials"]
    session = as_user(server, creds["AccessKeyId"], creds["SecretAccessKey"],
                      creds["SessionToken"])
    assert run(server, session, cli, "logs", "describe-log-groups").returncode == 0
    port = server.port
    server.stop()
    db = sqlite3.connect(os.path.join(server.data_dir, "berth.db"))
    doc = json.loads(db.execute("SELECT doc FROM iam_entities WHERE kind = 'session' AND key = ?",
                                (creds["AccessKeyId"],)).fetchone()[0])
    doc["expires_ms"] -= 901 * 1000  # the 15 minutes have passed
    db.execute("UPDATE iam_entities SET doc = ? WHERE kind = 'session' AND key = ?",
               (json.dumps(doc), creds["AccessKeyId"]))
    db.commit()
    db.close()
    server.start(port=port)
    expired = run(server, session, cli, "logs", "describe-log-groups")
    assert expired.returncode != 0
    assert "ExpiredTokenException" in expired.stderr
    assert "The security token included in the request is expired" in expired.stderr
    query = run(server, session, cli, "sts", "get-caller-identity")  # query protocol
    assert query.returncode != 0 and "ExpiredToken" in query.stderr
    import boto3
    with pytest.raises(Exception) as e:
        boto3.client("ecs", endpoint_url=server.endpoint, region_name=REGION,
                     aws_access_key_id=creds["AccessKeyId"],
                     aws_secret_access_key=creds["SecretAccessKey"],
                     aws_session_token=creds["SessionToken"]).list_clusters()
    assert e.value.response["Error"]["Code"] == "ExpiredTokenException"
