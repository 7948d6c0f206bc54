#!/usr/bin/python3
"""RunTask -> RUNNING latency of `sleep 60` tasks, beside the floor of a bare spawn.

  /usr/bin/python3 bench/runtask_latency.py [--tasks 200]

Measures, per task:
  server    berth's own createdAt -> startedAt (what DescribeTasks reports)
  client    RunTask sent -> DescribeTasks first shows RUNNING (polled every 1 ms)
and the floor: posix_spawn of /bin/sleep (returns once the child has exec'd) and
subprocess.Popen (fork+exec), each on the same machine in the same run.
"""
import argparse
import json
import os
import signal
import subprocess
import time

from berth_bench import Server, machine, summary


def floor(n):
    spawn, popen = [], []
    for _ in range(n):
        t0 = time.perf_counter()
        pid = os.posix_spawn("/bin/sleep", ["sleep", "60"], os.environ)
        spawn.append((time.perf_counter() - t0) * 1000)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        t0 = time.perf_counter()
        p = subprocess.Popen(["/bin/sleep", "60"])
        popen.append((time.perf_counter() - t0) * 1000)
        p.kill()
        p.wait()
    return spawn, popen


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", type=int, default=200)
    args = ap.parse_args()
    s = Server()
    try:
        ecs = s.sleeper_cluster(60)
        client_ms, arns = [], []
        for _ in range(args.tasks):
            t0 = time.perf_counter()
            arn = ecs.run_task(taskDefinition="sleeper")["tasks"][0]["taskArn"]
            while ecs.describe_tasks(tasks=[arn])["tasks"][0]["lastStatus"] != "RUNNING":
                time.sleep(0.001)
            client_ms.append((time.perf_counter() - t0) * 1000)
            arns.append(arn)
        server_ms = []
        for i in range(0, len(arns), 100):
            for t in ecs.describe_tasks(tasks=arns[i:i + 100])["tasks"]:
                server_ms.append((t["startedAt"].timestamp() - t["createdAt"].timestamp()) * 1000)
        rss = s.rss_kib()
        for arn in arns:
            ecs.stop_task(task=arn)
        spawn, popen = floor(args.tasks)
        result = {
            "machine": machine(),
            "tasks": args.tasks,
            "runtask_to_running_ms": {"server": summary(server_ms), "client": summary(client_ms)},
            "floor_ms": {"posix_spawn": summary(spawn), "fork_exec_popen": summary(popen)},
            "server_rss_mib_with_tasks": round(rss / 1024, 1),
        }
        print(json.dumps(result, indent=2))
    finally:
        s.stop()


if __name__ == "__main__":
    main()
