"""Shared helpers for berth's benchmark scripts: start a server, sign requests, summarise."""
import json
import os
import signal
import statistics
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BERTH = os.environ.get("BERTH_BIN", os.path.join(ROOT, "build", "bin", "berth"))


class Server:
    def __init__(self, data_dir=None, extra_args=()):
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="berth-bench-")
        ready = os.path.join(self.data_dir, "ready")
        self.proc = subprocess.Popen(
            [BERTH, "server", "--data-dir", self.data_dir, "--listen", "127.0.0.1:0",
             "--ready-file", ready, "--log-level", "warn", *extra_args],
            stdout=open(os.path.join(self.data_dir, "server.log"), "w"), stderr=subprocess.STDOUT)
        for _ in range(300):
            if os.path.exists(ready):
                break
            time.sleep(0.01)
        self.port = int(open(ready).read())
        self.endpoint = f"http://127.0.0.1:{self.port}"
        keys = dict(l.split(" = ") for l in open(os.path.join(self.data_dir, "credentials")).read().split("\n")
                    if " = " in l)
        self.key, self.secret = keys["aws_access_key_id"], keys["aws_secret_access_key"]

    def client(self, service):
        import boto3
        from botocore.config import Config
        return boto3.client(service, endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id=self.key, aws_secret_access_key=self.secret,
                            config=Config(retries={"max_attempts": 0}))

    def sleeper_cluster(self, seconds):
        """The default cluster and a task definition `sleeper` whose container sleeps."""
        ecs = self.client("ecs")
        ecs.create_cluster(clusterName="default")
        ecs.register_task_definition(family="sleeper", containerDefinitions=[
            {"name": "app", "image": "busybox", "command": ["sleep", str(seconds)],
             "stopTimeout": 1, "memory": 64}])
        return ecs

    def rss_kib(self):
        for line in open(f"/proc/{self.proc.pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def cpu_seconds(self):
        """The server's user + system CPU time so far."""
        fields = open(f"/proc/{self.proc.pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(10)

    def reap_tasks(self):
        """Ends the containers this server started (they outlive it by design): this data
        directory's berth-shim processes, by PID."""
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                cmd = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
            except OSError:
                continue
            if len(cmd) > 1 and cmd[0].endswith(b"berth-shim") and \
                    cmd[1].startswith(self.data_dir.encode() + b"/"):
                try:
                    os.kill(int(pid), signal.SIGUSR1)
                except ProcessLookupError:
                    pass


def percentile(values, p):
    s = sorted(values)
    if not s:
        return float("nan")
    k = (len(s) - 1) * p / 100.0
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def summary(values):
    return {"n": len(values), "p50": round(percentile(values, 50), 3),
            "p99": round(percentile(values, 99), 3), "mean": round(statistics.mean(values), 3)}


def machine():
    cpu = "unknown"
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    return {"cpu": cpu, "cores": os.cpu_count(), "commit": commit}
