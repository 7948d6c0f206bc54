#!/usr/bin/python3
"""SSM Parameter Store and secrets at task start (issue 4).

1. GetParameters (10 SecureString names, WithDecryption) and PutParameter (a new version of a
   String each call) with ONE keep-alive client (wrk -t1 -c1 replaying a signed request), berth
   vs moto's server (pip python, `python3 -m moto.server`) on the same machine, in one run:
   --rounds rounds of --seconds-long runs, berth and moto back to back in each, ratio per round.
2. Task start with 10 secrets (SSM SecureString, resolved with the execution role's policy)
   vs none: server-side createdAt -> startedAt of 40 tasks each, p50 and p99.

  /usr/bin/python3 bench/ssm_bench.py [--rounds 7] [--seconds 3] [--json FILE]
"""
import argparse
import json
import os
import shutil
import signal
import statistics
import tempfile
import time

import boto3

from api_throughput import run_wrk, start_moto, wrk_script
from berth_bench import Server, machine


def make_parameters(ssm):
    names = [f"/bench/app/secret{i}" for i in range(10)]
    for n in names:
        ssm.put_parameter(Name=n, Value="s3cr3t-" + n, Type="SecureString", Overwrite=True)
    return names


def throughput(results, args, work, targets):
    """Rounds of (berth, moto) back to back for each operation: this VM's speed for a loopback
    round trip drifts by tens of percent within minutes, so each round's ratio compares two runs
    made seconds apart, and the summary gives the median and the lowest of those ratios."""
    ops = {
        "GetParameters": lambda names: json.dumps({"Names": names, "WithDecryption": True}),
        "PutParameter": lambda names: json.dumps({"Name": "/bench/counter", "Value": "v",
                                                  "Type": "String", "Overwrite": True}),
    }
    scripts = {}
    for op, body in ops.items():
        results[op] = {name: {"rounds": []} for name in targets}
        for name, (port, key, secret, names) in targets.items():
            scripts[op, name] = os.path.join(work, f"{name}-{op}.lua")
            wrk_script(scripts[op, name], port, key, secret, op, body(names), target="AmazonSSM",
                       service="ssm")
    for r in range(args.rounds):
        for op in ops:
            line = []
            for name, (port, _, _, _) in targets.items():
                run = run_wrk(port, scripts[op, name], args.seconds, 1)
                results[op][name]["rounds"].append(run)
                line.append(f"{name} {run['calls_per_s']:6d}/s (p99 {run['p99']}, non-2xx "
                            f"{run['non_2xx']})")
            print(f"  round {r + 1} {op:14s} " + "  ".join(line), flush=True)
    for op in ops:
        for name in targets:
            rounds = results[op][name]["rounds"]
            results[op][name]["calls_per_s"] = round(statistics.median(
                x["calls_per_s"] for x in rounds))
        if "moto" in targets:
            ratios = [b["calls_per_s"] / max(1, m["calls_per_s"]) for b, m in
                      zip(results[op]["berth"]["rounds"], results[op]["moto"]["rounds"])]
            results[op]["ratios"] = [round(x, 1) for x in ratios]
            results[op]["ratio"] = round(statistics.median(ratios), 1)
            results[op]["ratio_min"] = round(min(ratios), 1)
            print(f"  {op}: berth/moto per round {results[op]['ratios']}, median "
                  f"{results[op]['ratio']}x, lowest {results[op]['ratio_min']}x "
                  f"(berth median {results[op]['berth']['calls_per_s']}/s, moto "
                  f"{results[op]['moto']['calls_per_s']}/s)", flush=True)


def task_start(server, names, tasks=40):
    ecs, iam = server.client("ecs"), server.client("iam")
    ecs.create_cluster(clusterName="default")
    role = iam.create_role(RoleName="exec", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"Service": "ecs-tasks.amazonaws.com"}}]}))["Role"]
    iam.put_role_policy(RoleName="exec", PolicyName="secrets", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "ssm:GetParameters",
             "Resource": "arn:aws:ssm:*:*:parameter/bench/app/*"},
            {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}]}))
    base = {"name": "app", "image": "busybox", "command": ["sleep", "30"], "stopTimeout": 1}
    ecs.register_task_definition(family="plain", memory="64", containerDefinitions=[base])
    ecs.register_task_definition(family="secret", memory="64", executionRoleArn=role["Arn"],
                                 containerDefinitions=[dict(base, secrets=[
                                     {"name": f"S{i}", "valueFrom": n} for i, n in enumerate(names)])])
    out = {}
    for family in ("plain", "secret", "plain", "secret"):  # interleaved
        arns = []
        for _ in range(tasks // 2):
            arns.append(ecs.run_task(taskDefinition=family)["tasks"][0]["taskArn"])
            time.sleep(0.02)
        deadline = time.time() + 60
        while time.time() < deadline:
            got = []
            for k in range(0, len(arns), 100):
                got += ecs.describe_tasks(tasks=arns[k:k + 100])["tasks"]
            if all(t.get("startedAt") or t["lastStatus"] == "STOPPED" for t in got):
                break
            time.sleep(0.2)
        for t in got:
            if t.get("startedAt"):
                out.setdefault(family, []).append(
                    (t["startedAt"] - t["createdAt"]).total_seconds() * 1000)
        for arn in arns:
            ecs.stop_task(task=arn)
    summary = {}
    for family, ms in out.items():
        ms.sort()
        summary[family] = {"n": len(ms), "p50_ms": round(statistics.median(ms), 2),
                           "p99_ms": round(ms[min(len(ms) - 1, int(len(ms) * 0.99))], 2)}
        print(f"  start {family:6s} n={len(ms)} p50 {summary[family]['p50_ms']} ms "
              f"p99 {summary[family]['p99_ms']} ms", flush=True)
    if "plain" in summary and "secret" in summary:
        summary["added_p50_ms"] = round(summary["secret"]["p50_ms"] - summary["plain"]["p50_ms"], 2)
        print(f"  10 secrets add {summary['added_p50_ms']} ms at p50", flush=True)
    return summary


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=3, help="per run")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--json")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="berth-ssm-bench-")
    server = Server()
    moto, moto_port = start_moto()
    results = {"machine": machine()}
    try:
        targets = {"berth": (server.port, server.key, server.secret,
                             make_parameters(server.client("ssm")))}
        if moto:
            ssm = boto3.client("ssm", endpoint_url=f"http://127.0.0.1:{moto_port}",
                               region_name="us-east-1", aws_access_key_id="test",
                               aws_secret_access_key="test")
            targets["moto"] = (moto_port, "test", "test", make_parameters(ssm))
        print(f"one keep-alive client (wrk -t1 -c1), {args.rounds} rounds of {args.seconds} s "
              "runs, berth and moto back to back:", flush=True)
        throughput(results, args, work, targets)
        print("task start, 10 secrets vs none:", flush=True)
        results["task_start"] = task_start(server, targets["berth"][3])
    finally:
        server.stop()
        server.reap_tasks()
        if moto:
            moto.send_signal(signal.SIGTERM)
            moto.wait(10)
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
