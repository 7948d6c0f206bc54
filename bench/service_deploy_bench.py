#!/usr/bin/python3
"""Services: how long a rolling deploy takes, and what the scheduler costs when nothing happens.

1. UpdateService -> stable, for services of 4 and 20 tasks behind a berth load balancer
   (target group health check: interval 5 s, timeout 2 s, healthy/unhealthy thresholds 2;
   maximumPercent 200, minimumHealthyPercent 100). "Stable" is what `aws ecs wait
   services-stable` waits for, plus the deployment's rolloutState COMPLETED (every new task
   healthy in the target group, every old task drained and stopped). Polled every 100 ms.
   The floor those settings impose: a new target needs `healthy threshold` passing checks;
   berth checks a new target at once and then every interval, so the floor is
   (threshold - 1) x interval = 5 s (ALB checks only after a first interval: 10 s there).
   The ratio reported is measured time / 5 s.
2. Idle scheduler: 200 services x 5 tasks (`sleep`, no load balancer), all stable; berth's CPU
   time (utime + stime from /proc) over a 30 s window in which nothing changes.

Reproduce (2-core VM, nothing else running):
  /usr/bin/python3 bench/service_deploy_bench.py [--json FILE] [--skip-idle]
Every task started here is ended (its shim, by PID) before the script exits.
"""
import argparse
import json
import os
import sys
import time

from berth_bench import Server, machine

HERE = os.path.dirname(os.path.abspath(__file__))
APP = os.path.join(os.path.dirname(HERE), "tests", "integration", "service_app.py")


def app_def(ecs, family, version):
    return ecs.register_task_definition(family=family, memory="128", containerDefinitions=[{
        "name": "web", "image": "berth/service-app", "command": [sys.executable, APP],
        "environment": [{"name": "APP_VERSION", "value": version}],
        "portMappings": [{"containerPort": 8080}], "stopTimeout": 2}])["taskDefinition"]["taskDefinitionArn"]


def stable(ecs, name):
    s = ecs.describe_services(cluster="default", services=[name])["services"][0]
    return (len(s["deployments"]) == 1 and s["runningCount"] == s["desiredCount"]
            and s["deployments"][0]["rolloutState"] == "COMPLETED")


def wait(pred, timeout, step=0.1):
    start = time.time()
    while time.time() - start < timeout:
        if pred():
            return time.time() - start
        time.sleep(step)
    raise RuntimeError("timed out")


def deploy_times(server, counts):
    ecs, elb = server.client("ecs"), server.client("elbv2")
    lb = elb.create_load_balancer(Name="bench", Subnets=["subnet-a", "subnet-b"])["LoadBalancers"][0]
    out = {}
    for n in counts:
        name = f"web{n}"
        tg = elb.create_target_group(
            Name=name, Protocol="HTTP", Port=8080, VpcId="vpc-1", TargetType="ip",
            HealthCheckPath="/health_check", HealthCheckIntervalSeconds=5,
            HealthCheckTimeoutSeconds=2, HealthyThresholdCount=2,
            UnhealthyThresholdCount=2)["TargetGroups"][0]["TargetGroupArn"]
        elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP",
                            Port=20000 + n, DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}])
        v1, v2 = app_def(ecs, name, "v1"), app_def(ecs, name, "v2")
        ecs.create_service(cluster="default", serviceName=name, taskDefinition=v1, desiredCount=n,
                           loadBalancers=[{"targetGroupArn": tg, "containerName": "web",
                                           "containerPort": 8080}],
                           deploymentConfiguration={"maximumPercent": 200,
                                                    "minimumHealthyPercent": 100})
        created = wait(lambda: stable(ecs, name), 120)
        started = time.time()
        ecs.update_service(cluster="default", service=name, taskDefinition=v2)
        wait(lambda: stable(ecs, name), 300)
        took = time.time() - started
        out[n] = {"create_to_stable_s": round(created, 2), "update_to_stable_s": round(took, 2),
                  "floor_s": 5.0, "ratio_to_floor": round(took / 5.0, 2)}
        print(f"  {n:3d} tasks: UpdateService -> stable {took:6.2f} s  "
              f"(floor 5 s: {took / 5.0:.2f}x; first creation took {created:.2f} s)", flush=True)
        ecs.delete_service(cluster="default", service=name, force=True)
        wait(lambda: ecs.describe_services(cluster="default", services=[name])["services"][0]
             ["status"] == "INACTIVE", 120)
    return out


def idle_cpu(server, services=200, tasks=5, window=30):
    ecs = server.client("ecs")
    ecs.register_task_definition(family="idle", memory="64", containerDefinitions=[
        {"name": "app", "image": "busybox", "command": ["sleep", "3600"], "stopTimeout": 1}])
    for i in range(services):
        ecs.create_service(cluster="default", serviceName=f"idle{i}", taskDefinition="idle",
                           desiredCount=tasks)
    names = [f"idle{i}" for i in range(services)]

    def all_stable():
        for k in range(0, len(names), 10):
            for s in ecs.describe_services(cluster="default", services=names[k:k + 10])["services"]:
                if not (len(s["deployments"]) == 1 and s["runningCount"] == tasks and
                        s["deployments"][0]["rolloutState"] == "COMPLETED"):
                    return False
        return True
    settle = wait(all_stable, 300, step=1)
    time.sleep(2)
    cpu0, t0 = server.cpu_seconds(), time.time()
    time.sleep(window)
    cpu1, t1 = server.cpu_seconds(), time.time()
    per_s = (cpu1 - cpu0) / (t1 - t0)
    result = {"services": services, "tasks": services * tasks, "settle_s": round(settle, 1),
              "window_s": round(t1 - t0, 1), "cpu_ms_per_s": round(per_s * 1000, 2),
              "cpu_percent_of_one_core": round(per_s * 100, 2), "rss_mib": round(server.rss_kib() / 1024, 1)}
    print(f"  {services} services x {tasks} tasks idle: berth CPU {per_s * 1000:.2f} ms/s "
          f"({per_s * 100:.2f}% of a core), RSS {result['rss_mib']} MiB; all stable after {settle:.1f} s",
          flush=True)
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json")
    ap.add_argument("--skip-idle", action="store_true")
    args = ap.parse_args()
    results = {"machine": machine()}
    server = Server()
    try:
        server.client("ecs").create_cluster(clusterName="default")
        print("rolling deploys (health check interval 5 s, thresholds 2):", flush=True)
        results["deploy"] = deploy_times(server, [4, 20])
        if not args.skip_idle:
            print("idle scheduler:", flush=True)
            results["idle"] = idle_cpu(server)
    finally:
        server.stop()
        server.reap_tasks()
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
