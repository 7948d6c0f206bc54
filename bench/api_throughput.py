#!/usr/bin/python3
"""API throughput: berth vs moto's server on the same calls, driven by wrk replaying a request
signed within the last 15 minutes (a Python client tops out near 1,400 calls/s here).

  /usr/bin/python3 bench/api_throughput.py [--seconds 8] [--connections 16]

Calls: DescribeClusters, RegisterTaskDefinition (a new revision per call), DescribeTasks with
100 tasks per call. moto runs under the machine's pip python (`python3 -m moto.server`).
Any non-2xx answer invalidates a run (reported, not hidden).
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import boto3
import botocore.auth
import botocore.awsrequest
import botocore.credentials

from berth_bench import Server, machine

TARGET = "AmazonEC2ContainerServiceV20141113"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_moto():
    py = None
    for d in os.environ["PATH"].split(os.pathsep):
        p = os.path.join(d, "python3")
        if os.access(p, os.X_OK) and os.path.realpath(p) != os.path.realpath("/usr/bin/python3"):
            if subprocess.run([p, "-c", "import moto.server"], capture_output=True).returncode == 0:
                py = p
                break
    if py is None:
        return None, None
    port = free_port()
    proc = subprocess.Popen([py, "-m", "moto.server", "-p", str(port)],
                            stdout=subprocess.DEVNULL,
                            stderr=open(os.path.join(tempfile.gettempdir(), "moto-bench.log"), "w"))
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    return None, None


def setup(ecs, is_moto, kw):
    """100 running tasks to describe. moto's Fargate path is broken (5.2.1), so it gets the EC2
    launch type with one registered container instance; berth runs the tasks for real."""
    ecs.create_cluster(clusterName="default")
    if is_moto:
        ec2 = boto3.client("ec2", **kw)
        inst = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)["Instances"][0]
        ecs.register_container_instance(cluster="default", instanceIdentityDocument=json.dumps(
            {"instanceId": inst["InstanceId"]}))
    ecs.register_task_definition(family="bench", networkMode="bridge", containerDefinitions=[
        {"name": "app", "image": "busybox", "command": ["sleep", "600"], "cpu": 1, "memory": 1,
         "stopTimeout": 1}])
    arns = []
    for _ in range(10):
        arns += [t["taskArn"] for t in ecs.run_task(taskDefinition="bench", count=10)["tasks"]]
    return arns


def wrk_script(path, port, key, secret, op, body, target=TARGET, service="ecs"):
    """A wrk Lua script replaying one awsJson1.1 call signed now (valid for 15 minutes)."""
    creds = botocore.credentials.Credentials(key, secret)
    req = botocore.awsrequest.AWSRequest(
        method="POST", url=f"http://127.0.0.1:{port}/", data=body.encode(),
        headers={"X-Amz-Target": f"{target}.{op}", "Content-Type": "application/x-amz-json-1.1"})
    botocore.auth.SigV4Auth(creds, service, "us-east-1").add_auth(req)
    lines = ['wrk.method = "POST"', f"wrk.body = {json.dumps(body)}"]
    for k, v in req.headers.items():
        lines.append(f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}")
    lines.append(f'wrk.headers["Host"] = "127.0.0.1:{port}"')
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def run_wrk(port, script, seconds, connections):
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency",
                          "-s", script, f"http://127.0.0.1:{port}/"],
                         capture_output=True, text=True, timeout=seconds + 60).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    p99 = re.search(r"99%\s+([\d.]+\w+)", out)
    return {"calls_per_s": round(rps), "non_2xx": int(bad.group(1)) if bad else 0,
            "p99": p99.group(1) if p99 else None}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=8)
    ap.add_argument("--connections", type=int, default=16)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="berth-api-bench-")
    berth = Server()
    moto, moto_port = start_moto()
    results = {"machine": machine(), "seconds": args.seconds, "connections": args.connections}
    try:
        targets = {"berth": (berth.port, berth.key, berth.secret)}
        if moto:
            targets["moto"] = (moto_port, "test", "test")
        arns = {}
        for name, (port, key, secret) in targets.items():
            ecs = boto3.client("ecs", endpoint_url=f"http://127.0.0.1:{port}",
                               region_name="us-east-1", aws_access_key_id=key,
                               aws_secret_access_key=secret)
            arns[name] = setup(ecs, name == "moto", dict(
                endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                aws_access_key_id=key, aws_secret_access_key=secret))
        calls = {
            "DescribeClusters": lambda n: json.dumps({"clusters": ["default"]}),
            "RegisterTaskDefinition": lambda n: json.dumps(
                {"family": "wrk", "containerDefinitions": [
                    {"name": "app", "image": "busybox", "command": ["sleep", "1"], "memory": 64,
                     "environment": [{"name": "K", "value": "v"}]}]}),
            "DescribeTasks": lambda n: json.dumps({"cluster": "default", "tasks": arns[n]}),
        }
        for op, body in calls.items():
            results[op] = {}
            for name, (port, key, secret) in targets.items():
                script = os.path.join(work, f"{name}-{op}.lua")
                wrk_script(script, port, key, secret, op, body(name))
                results[op][name] = run_wrk(port, script, args.seconds, args.connections)
            if "moto" in results[op]:
                results[op]["ratio"] = round(results[op]["berth"]["calls_per_s"] /
                                             max(1, results[op]["moto"]["calls_per_s"]), 1)
        print(json.dumps(results, indent=2))
    finally:
        berth.client("ecs")  # keep boto3 import warm; tasks die with their shims below
        ecs = berth.client("ecs")
        for arn in arns.get("berth", []):
            ecs.stop_task(task=arn)
        berth.stop()
        if moto:
            moto.send_signal(signal.SIGTERM)
            moto.wait(10)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
