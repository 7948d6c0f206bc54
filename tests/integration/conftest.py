"""Integration-test harness: a real `berth server` on a free port, driven by real clients.

Clients: Debian's aws CLI v2 (/usr/bin/aws), the machine's pip aws CLI v1 (first `aws` on PATH
that is not /usr/bin/aws), Debian's boto3 1.26 (this interpreter) and the pip boto3 1.43 (run as
a subprocess with the pip python, since pytest lives only in Debian's python).
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BERTH = os.environ.get("BERTH_BIN", os.path.join(ROOT, "build", "bin", "berth"))
AWS_V2 = "/usr/bin/aws"
REGION = "us-east-1"


def find_aws_v1():
    for d in os.environ.get("PATH", "").split(os.pathsep):
        p = os.path.join(d, "aws")
        if os.path.realpath(p) != os.path.realpath(AWS_V2) and os.access(p, os.X_OK):
            return p
    return None


def find_pip_python():
    """A python3 other than Debian's whose boto3 is >= 1.36 (the one that can speak CBOR)."""
    for d in os.environ.get("PATH", "").split(os.pathsep):
        p = os.path.join(d, "python3")
        if not os.access(p, os.X_OK) or os.path.realpath(p) == os.path.realpath("/usr/bin/python3"):
            continue
        r = subprocess.run([p, "-c", "import boto3;print(boto3.__version__)"],
                           capture_output=True, text=True)
        if r.returncode == 0:
            return p, r.stdout.strip()
    return None, None


class Berth:
    """One berth server process with its own data directory."""

    def __init__(self, data_dir):
        self.data_dir = data_dir
        self.proc = None
        self.port = 0
        self.log_path = os.path.join(data_dir, "server.log")

    def start(self, port=0):
        ready = os.path.join(self.data_dir, "ready")
        if os.path.exists(ready):
            os.unlink(ready)
        log = open(self.log_path, "a")
        self.proc = subprocess.Popen(
            [BERTH, "server", "--data-dir", self.data_dir, "--listen", f"127.0.0.1:{port}",
             "--ready-file", ready, "--log-level", "debug",
             # Load balancer health checks every 0.5 s for a 5 s interval: the API keeps AWS's
             # limits while the tests stay quick.
             "--health-check-time-scale", "0.1"],
            stdout=log, stderr=subprocess.STDOUT, env=self._server_env())
        deadline = time.time() + 15
        while time.time() < deadline:
            if os.path.exists(ready):
                self.port = int(open(ready).read().strip())
                return self
            if self.proc.poll() is not None:
                raise RuntimeError("berth exited: " + open(self.log_path).read()[-2000:])
            time.sleep(0.02)
        raise RuntimeError("berth did not become ready")

    @staticmethod
    def _server_env():
        env = dict(os.environ)
        env.pop("BERTH_ROOT_ACCESS_KEY_ID", None)
        env.pop("BERTH_ROOT_SECRET_ACCESS_KEY", None)
        return env

    def reap_tasks(self):
        """Ends every container this server started (berth server leaves tasks running when it
        stops, by design). Only this data directory's berth-shim processes, by PID."""
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
                    os.kill(int(pid), signal.SIGUSR1)  # the shim SIGKILLs its container
                except ProcessLookupError:
                    pass

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kill9(self):
        self.proc.kill()
        self.proc.wait()

    def alive(self):
        return self.proc.poll() is None

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def credentials(self):
        keys = {}
        for line in open(os.path.join(self.data_dir, "credentials")):
            if "=" in line and not line.startswith("#"):
                k, v = line.split("=", 1)
                keys[k.strip()] = v.strip()
        return keys["aws_access_key_id"], keys["aws_secret_access_key"]

    def client_env(self):
        env = dict(os.environ)
        for k in list(env):
            if k.startswith("AWS_"):
                del env[k]
        env.update(AWS_SHARED_CREDENTIALS_FILE=os.path.join(self.data_dir, "credentials"),
                   AWS_CONFIG_FILE="/dev/null", AWS_DEFAULT_REGION=REGION,
                   AWS_ENDPOINT_URL=self.endpoint, AWS_PAGER="")
        return env

    def aws(self, *args, cli=AWS_V2, check=True, timeout=60):
        """Runs an aws CLI command against this server; returns parsed JSON output (or None)."""
        cmd = [cli, "--endpoint-url", self.endpoint, "--output", "json"] + [str(a) for a in args]
        r = subprocess.run(cmd, env=self.client_env(), capture_output=True, text=True,
                           timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr}")
        if not check:
            return r
        return json.loads(r.stdout) if r.stdout.strip() else None

    def boto3(self, service):
        import boto3
        key, secret = self.credentials
        return boto3.client(service, endpoint_url=self.endpoint, region_name=REGION,
                            aws_access_key_id=key, aws_secret_access_key=secret)


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """One server shared by the tests that do not restart it."""
    b = Berth(str(tmp_path_factory.mktemp("berth"))).start()
    b.aws("ecs", "create-cluster", "--cluster-name", "default")
    yield b
    b.stop()
    b.reap_tasks()


@pytest.fixture
def own_server(tmp_path):
    """A server of the test's own, for tests that kill or restart it."""
    b = Berth(str(tmp_path)).start()
    b.aws("ecs", "create-cluster", "--cluster-name", "default")
    yield b
    b.stop()
    b.reap_tasks()


@pytest.fixture
def name():
    return "t" + uuid.uuid4().hex[:10]


AWS_V1 = find_aws_v1()
CLIS = [pytest.param(AWS_V2, id="awscli-v2")] + (
    [pytest.param(AWS_V1, id="awscli-v1")] if AWS_V1 else
    [pytest.param(None, id="awscli-v1", marks=pytest.mark.skip(reason="no pip aws CLI v1 on PATH"))])


def free_port():
    """A TCP port free on 127.0.0.1 right now (for listeners, whose API takes a fixed port)."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout=20, interval=0.1, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = predicate()
        if v:
            return v
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")
