#!/usr/bin/python3
"""500 tasks running at once (`sleep`): berth server's RSS, the shims' memory, and DescribeTasks
latency with 100 tasks per call.

  /usr/bin/python3 bench/many_tasks.py [--tasks 500] [--calls 200]
"""
import argparse
import json
import os
import time

from berth_bench import Server, machine, summary


def pss_kib(pid):
    try:
        for line in open(f"/proc/{pid}/smaps_rollup"):
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", type=int, default=500)
    ap.add_argument("--calls", type=int, default=200)
    args = ap.parse_args()
    s = Server()
    try:
        ecs = s.sleeper_cluster(600)
        rss_idle = s.rss_kib()
        arns = []
        t0 = time.perf_counter()
        while len(arns) < args.tasks:
            n = min(10, args.tasks - len(arns))
            arns += [t["taskArn"] for t in ecs.run_task(taskDefinition="sleeper", count=n)["tasks"]]
        launch_s = time.perf_counter() - t0
        deadline = time.time() + 120
        while time.time() < deadline:
            running = sum(1 for i in range(0, len(arns), 100)
                          for t in ecs.describe_tasks(tasks=arns[i:i + 100])["tasks"]
                          if t["lastStatus"] == "RUNNING")
            if running == len(arns):
                break
            time.sleep(0.2)
        all_running_s = time.perf_counter() - t0
        describe_ms = []
        for i in range(args.calls):
            batch = arns[(i * 100) % len(arns):][:100]
            t = time.perf_counter()
            ecs.describe_tasks(tasks=batch)
            describe_ms.append((time.perf_counter() - t) * 1000)
        shim_pids = []
        for p in os.listdir("/proc"):
            if p.isdigit():
                try:
                    cmd = open(f"/proc/{p}/cmdline", "rb").read().split(b"\0")
                except OSError:
                    continue
                if cmd and cmd[0].endswith(b"berth-shim") and s.data_dir.encode() in cmd[1]:
                    shim_pids.append(int(p))
        result = {
            "machine": machine(),
            "tasks": len(arns),
            "running": running,
            "seconds_to_launch": round(launch_s, 2),
            "seconds_until_all_running": round(all_running_s, 2),
            "server_rss_mib_idle": round(rss_idle / 1024, 1),
            "server_rss_mib_with_tasks": round(s.rss_kib() / 1024, 1),
            "shims": len(shim_pids),
            "shim_pss_kib_mean": round(sum(pss_kib(p) for p in shim_pids) / max(1, len(shim_pids)), 1),
            "describe_tasks_100_ms": summary(describe_ms),
        }
        t0 = time.perf_counter()
        for arn in arns:
            ecs.stop_task(task=arn)
        result["seconds_to_stop_all"] = round(time.perf_counter() - t0, 2)
        print(json.dumps(result, indent=2))
    finally:
        s.stop()


if __name__ == "__main__":
    main()
