#!/usr/bin/python3
"""Proxy: berth's ALB data plane vs nginx and HAProxy as reverse proxies, in one run (issue: ALB).

What it measures
  One fixed small backend (nginx, one process, `return 200 "hello from backend\\n"`) and, in
  front of it, each proxy on its own free 127.0.0.1 port:
    direct   wrk straight to the backend (the ceiling)
    nginx    nginx reverse proxy, one process, `upstream { keepalive 64; }`, HTTP/1.1 upstream
    haproxy  HAProxy, `nbthread 1`, mode http, `http-reuse always`
    berth    `berth server --proxy-threads 1`; an ALB made through the ELBv2 API (boto3):
             load balancer, ip target group with the backend as its one target, HTTP listener
  Backend and proxies are pinned to CPU 1 (`taskset -c 1`), the load generator to CPU 0:
    taskset -c 0 wrk -t1 -c<C> -d<D>s --latency http://127.0.0.1:<port>/
  Every target is run R times, interleaved (the order rotates each repetition so drift is shared),
  after one unrecorded warm-up run each; the table shows medians of req/s, p50 and p99 over the
  valid runs (a run with socket errors or non-2xx answers is reported and left out).
  Then (unless --idle 0) the idle test: N keep-alive client connections to berth's listener,
  each sends one GET, reads the answer and stays open; berth's VmRSS (/proc/PID/status) is read
  with all of them open and compared with 200 MB (200,000,000 bytes).
  Config templates: bench/proxy/{nginx-backend.conf,nginx-proxy.conf,haproxy.cfg}.

Reproduce (the 2-core reference VM, nothing else running; Debian nginx, haproxy and wrk):
  apt-get install -y nginx haproxy wrk
  /usr/bin/python3 bench/proxy_bench.py --json /tmp/proxy_bench.json
  defaults: --connections 50 --duration 10 --reps 3 --idle 10000; quick look:
  /usr/bin/python3 bench/proxy_bench.py --duration 3 --reps 1 --idle 1000 --only berth,haproxy

How to read the result
  req/s: higher is better; p50/p99: wrk's latency percentiles in ms, lower is better. The
  "berth/haproxy" and "berth/nginx" ratios are of median req/s. Goals (one verdict line each):
    1. berth req/s >= 1.0x HAProxy's and >= 1.0x nginx's
    2. berth p99 <= HAProxy's p99
    3. berth RSS < 200 MB with N (10,000) idle keep-alive client connections open
  "direct" is what the backend does alone on the same core split; a proxy can't beat it. All
  processes share CPU 1 with the backend, so a proxy's req/s also reflects how little CPU it
  needs per request. Numbers are noisy on a shared machine; trust ratios within one run.

Exit status: 0 everything selected was measured (goals met or not), 1 a part failed (e.g.
berth's ELBv2 API not there yet; the other targets are still measured), 2 tools missing.
Every process started here is stopped by PID in a finally block; temp dirs are removed.
"""
import argparse
import http.client
import json
import os
import re
import resource
import selectors
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

from berth_bench import BERTH, Server, machine

HERE = os.path.dirname(os.path.abspath(__file__))
TEMPLATES = os.path.join(HERE, "proxy")
TARGETS = ["direct", "nginx", "haproxy", "berth"]
BODY = b"hello from backend\n"
RSS_LIMIT_BYTES = 200 * 1000 * 1000
SBIN_PATH = os.environ.get("PATH", "") + ":/usr/sbin:/sbin:/usr/local/sbin"


class SetupError(Exception):
    pass


def log(msg):
    print(msg, flush=True)


def which(name):
    return shutil.which(name, path=SBIN_PATH)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def render(template, path, **values):
    text = open(os.path.join(TEMPLATES, template)).read()
    for k, v in values.items():
        text = text.replace(f"@{k}@", str(v))
    with open(path, "w") as f:
        f.write(text)
    return path


def get(port, timeout=2.0):
    """One GET / on a fresh connection: (status, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", "/")
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def wait_serving(port, proc, name, timeout=10.0):
    """Bounded wait until GET / answers 200 with the backend's body."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise SetupError(f"{name} exited with status {proc.returncode} while starting")
        try:
            status, body = get(port, timeout=1.0)
            if status == 200 and body == BODY:
                return
            last = f"status {status}, body {body[:80]!r}"
        except OSError as e:
            last = str(e)
        time.sleep(0.05)
    raise SetupError(f"{name} not answering 200 {BODY!r} on port {port} after {timeout:.0f} s "
                     f"(last: {last})")


def stop(proc, name, grace=10.0):
    """SIGTERM by PID, then SIGKILL by PID if it doesn't exit in time."""
    if proc is None or proc.poll() is not None:
        return
    try:
        proc.send_signal(signal.SIGTERM)
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        log(f"  {name} (pid {proc.pid}) ignored SIGTERM for {grace:.0f} s; SIGKILL")
        proc.kill()
        proc.wait(5)


def threads_of(pid):
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("Threads:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def rss_bytes(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


class Bench:
    def __init__(self, args):
        self.args = args
        self.work = tempfile.mkdtemp(prefix="berth-proxy-bench-")
        self.procs = []  # (name, Popen), stopped in reverse order
        self.ports = {}
        self.notes = []
        self.errors = {}
        self.berth = None
        self.pin = ["taskset", "-c", str(args.server_cpu)]

    # ---- processes -------------------------------------------------------------------------

    def spawn(self, name, cmd):
        out = open(os.path.join(self.work, f"{name}.log"), "w")
        proc = subprocess.Popen(self.pin + cmd, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
        out.close()
        self.procs.append((name, proc))
        return proc

    def log_tail(self, name, n=15):
        try:
            return "".join(open(os.path.join(self.work, f"{name}.log")).readlines()[-n:]).strip()
        except OSError:
            return ""

    def nginx_dir(self, name):
        d = os.path.join(self.work, name)
        for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            os.makedirs(os.path.join(d, "tmp", sub), exist_ok=True)
        return d

    def start_nginx(self, name, template, **values):
        d = self.nginx_dir(name)
        port = free_port()
        conf = render(template, os.path.join(d, "nginx.conf"), DIR=d, PORT=port, **values)
        proc = self.spawn(name, [which("nginx"), "-p", d + "/", "-c", conf,
                                 "-e", os.path.join(d, "error.log")])
        try:
            wait_serving(port, proc, name)
        except SetupError as e:
            err_log = os.path.join(d, "error.log")
            extra = open(err_log).read()[-2000:] if os.path.exists(err_log) else ""
            raise SetupError(f"{e}\n{self.log_tail(name)}\n{extra}".strip())
        return proc, port

    def start_backend(self):
        proc, port = self.start_nginx("backend", "nginx-backend.conf")
        self.ports["direct"] = port
        log(f"  backend  nginx pid {proc.pid} on 127.0.0.1:{port} (threads: {threads_of(proc.pid)})")

    def start_nginx_proxy(self):
        proc, port = self.start_nginx("nginx-proxy", "nginx-proxy.conf",
                                      BACKEND_PORT=self.ports["direct"])
        self.ports["nginx"] = port
        log(f"  nginx    pid {proc.pid} on 127.0.0.1:{port} (threads: {threads_of(proc.pid)})")

    def start_haproxy(self):
        port = free_port()
        conf = render("haproxy.cfg", os.path.join(self.work, "haproxy.cfg"), PORT=port,
                      BACKEND_PORT=self.ports["direct"])
        check = subprocess.run([which("haproxy"), "-c", "-q", "-f", conf], capture_output=True,
                               text=True, timeout=20)
        if check.returncode != 0:
            raise SetupError(f"haproxy rejects its config: {check.stdout}{check.stderr}")
        proc = self.spawn("haproxy", [which("haproxy"), "-db", "-f", conf])
        try:
            wait_serving(port, proc, "haproxy")
        except SetupError as e:
            raise SetupError(f"{e}\n{self.log_tail('haproxy')}")
        self.ports["haproxy"] = port
        log(f"  haproxy  pid {proc.pid} on 127.0.0.1:{port} (threads: {threads_of(proc.pid)})")

    def start_berth_server(self, proxy_threads_flag):
        """Like berth_bench.Server, plus pinning and --proxy-threads 1; returns a Server."""
        data = os.path.join(self.work, "berth" + ("" if proxy_threads_flag else "-noflag"))
        os.makedirs(data)
        ready = os.path.join(data, "ready")
        cmd = [BERTH, "server", "--data-dir", data, "--listen", "127.0.0.1:0",
               "--ready-file", ready, "--log-level", "warn"]
        if proxy_threads_flag:
            cmd += ["--proxy-threads", "1"]
        name = "berth" if proxy_threads_flag else "berth-noflag"
        proc = self.spawn(name, cmd)
        deadline = time.monotonic() + 15
        port = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                port = int(open(ready).read())
                if os.path.exists(os.path.join(data, "credentials")):
                    break
            except (OSError, ValueError):
                pass
            time.sleep(0.02)
        if proc.poll() is not None:
            return None, self.log_tail(name)
        if port is None:
            stop(proc, name)
            raise SetupError(f"berth server wrote no ready file within 15 s\n{self.log_tail(name)}")
        srv = Server.__new__(Server)  # reuse the helper's client()/rss_kib()/stop()
        srv.data_dir, srv.proc, srv.port = data, proc, port
        srv.endpoint = f"http://127.0.0.1:{port}"
        keys = dict(l.split(" = ") for l in open(os.path.join(data, "credentials")).read()
                    .split("\n") if " = " in l)
        srv.key, srv.secret = keys["aws_access_key_id"], keys["aws_secret_access_key"]
        return srv, None

    def start_berth(self):
        if not os.access(BERTH, os.X_OK):
            raise SetupError(f"{BERTH} not found; build it: ninja -C build berth")
        srv, err = self.start_berth_server(True)
        if srv is None:
            if "proxy-threads" not in err:
                raise SetupError(f"berth server exited at start:\n{err}")
            note = ("berth server does not accept --proxy-threads yet; ran without it "
                    "(its proxy may use more than one thread)")
            self.notes.append(note)
            log(f"  NOTE: {note}")
            srv, err = self.start_berth_server(False)
            if srv is None:
                raise SetupError(f"berth server exited at start:\n{err}")
        self.berth = srv
        import botocore.exceptions
        elb = srv.client("elbv2")
        try:
            elb.describe_load_balancers()
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            raise SetupError("berth does not answer the ELBv2 API yet (DescribeLoadBalancers "
                             f"failed: {e}); the berth part needs berth's ELBv2 API and proxy")
        backend_port = self.ports["direct"]
        try:
            lb = elb.create_load_balancer(Name="bench", Type="application",
                                          Subnets=["subnet-1", "subnet-2"])["LoadBalancers"][0]
            tg = elb.create_target_group(
                Name="bench", Protocol="HTTP", Port=backend_port, VpcId="vpc-1",
                TargetType="ip", HealthCheckPath="/", HealthCheckIntervalSeconds=5, HealthCheckTimeoutSeconds=2,
                HealthyThresholdCount=2)["TargetGroups"][0]
            elb.register_targets(TargetGroupArn=tg["TargetGroupArn"],
                                 Targets=[{"Id": "127.0.0.1", "Port": backend_port}])
            port = free_port()
            elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP",
                                Port=port, DefaultActions=[
                                    {"Type": "forward", "TargetGroupArn": tg["TargetGroupArn"]}])
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            raise SetupError(f"berth ELBv2 setup failed: {e}")
        if self.args.idle:
            # ALB's default idle timeout is 60 s; keep the idle test's connections from
            # being closed under it while it is still opening them.
            try:
                elb.modify_load_balancer_attributes(
                    LoadBalancerArn=lb["LoadBalancerArn"],
                    Attributes=[{"Key": "idle_timeout.timeout_seconds", "Value": "600"}])
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
                self.notes.append(f"could not raise berth's idle timeout to 600 s ({e}); the "
                                  "idle test relies on the default (60 s)")
        deadline = time.monotonic() + 30
        state, last = None, None
        while time.monotonic() < deadline:
            if srv.proc.poll() is not None:
                raise SetupError(f"berth server exited (status {srv.proc.returncode})\n"
                                 f"{self.log_tail('berth')}")
            try:
                desc = elb.describe_target_health(TargetGroupArn=tg["TargetGroupArn"])
                hs = desc["TargetHealthDescriptions"]
                state = hs[0]["TargetHealth"]["State"] if hs else "no targets"
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
                state = f"DescribeTargetHealth failed: {e}"
            if state == "healthy":
                try:
                    status, body = get(port, timeout=2.0)
                    if status == 200 and body == BODY:
                        break
                    last = f"status {status}, body {body[:80]!r}"
                except OSError as e:
                    last = str(e)
            time.sleep(0.2)
        else:
            raise SetupError(f"berth listener 127.0.0.1:{port} not serving the backend within "
                             f"30 s (target health: {state}; last GET: {last})")
        self.ports["berth"] = port
        log(f"  berth    pid {srv.proc.pid}, API {srv.endpoint}, listener 127.0.0.1:{port} "
            f"(threads: {threads_of(srv.proc.pid)})")

    def close(self):
        for name, proc in reversed(self.procs):
            try:
                stop(proc, name)
            except Exception as e:  # keep stopping the others
                log(f"  could not stop {name} (pid {proc.pid}): {e}")
        if self.args.keep:
            log(f"  kept {self.work}")
        else:
            shutil.rmtree(self.work, ignore_errors=True)

    # ---- load --------------------------------------------------------------------------------

    def wrk(self, target, duration):
        a = self.args
        cmd = ["taskset", "-c", str(a.load_cpu), "wrk", "-t1", f"-c{a.connections}",
               f"-d{duration}s", "--latency", f"http://127.0.0.1:{self.ports[target]}/"]
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 30)
        except subprocess.TimeoutExpired:
            return {"error": f"wrk did not finish within {duration + 30} s (killed)"}
        return parse_wrk(r.stdout, r.stderr)

    def idle_test(self, n, timeout):
        """n keep-alive connections to berth's listener, each after one GET; VmRSS with all open."""
        port, pid = self.ports["berth"], self.berth.proc.pid
        rss_before = rss_bytes(pid)
        socks, failed, first_error = [], 0, None
        req = f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
        deadline = time.monotonic() + timeout
        t0 = time.monotonic()
        try:
            batch = 200
            while len(socks) + failed < n and time.monotonic() < deadline:
                fresh = []
                for _ in range(min(batch, n - len(socks) - failed)):
                    s = socket.socket()
                    s.settimeout(max(0.5, min(10.0, deadline - time.monotonic())))
                    try:
                        s.connect(("127.0.0.1", port))
                        s.sendall(req)
                        fresh.append(s)
                    except OSError as e:
                        s.close()
                        failed += 1
                        first_error = first_error or f"connect/send: {e}"
                for s in fresh:
                    try:
                        read_response(s)
                        socks.append(s)
                    except (OSError, ValueError) as e:
                        s.close()
                        failed += 1
                        first_error = first_error or f"response: {e}"
                if failed > max(100, n // 100):
                    break
            opened_s = time.monotonic() - t0
            time.sleep(2.0)  # let berth settle (buffers released, allocator quiet)
            sel = selectors.DefaultSelector()
            for s in socks:
                sel.register(s, selectors.EVENT_READ)
            closed = len(sel.select(timeout=0))  # readable = closed by berth (or stray data)
            sel.close()
            rss = rss_bytes(pid)
            berth_alive = self.berth.proc.poll() is None
            # one more request through the proxy while all of them are open
            try:
                status, body = get(port, timeout=5.0)
                still_serving = status == 200 and body == BODY
            except OSError:
                still_serving = False
        finally:
            for s in socks:
                s.close()
        return {"requested": n, "opened": len(socks), "failed": failed,
                "first_error": first_error, "closed_by_server_before_rss": closed,
                "seconds_to_open": round(opened_s, 2), "rss_before_bytes": rss_before,
                "rss_bytes": rss, "berth_alive": berth_alive,
                "serving_while_open": still_serving,
                "threads": threads_of(pid)}


def read_response(s):
    """Read one HTTP/1.1 response (Content-Length or chunked); 200 and keep-alive required."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(4096)
        if not chunk:
            raise ValueError("connection closed before the response headers")
        buf += chunk
        if len(buf) > 65536:
            raise ValueError("response headers too large")
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip().lower()
    if status != 200:
        raise ValueError(f"status {status}")
    if headers.get("connection") == "close":
        raise ValueError("server answered Connection: close")
    if "content-length" in headers:
        need = int(headers["content-length"])
        while len(rest) < need:
            chunk = s.recv(4096)
            if not chunk:
                raise ValueError("connection closed in the body")
            rest += chunk
    elif "chunked" in headers.get("transfer-encoding", ""):
        while not rest.endswith(b"0\r\n\r\n"):
            chunk = s.recv(4096)
            if not chunk:
                raise ValueError("connection closed in the chunked body")
            rest += chunk
    else:
        raise ValueError("response has neither Content-Length nor chunked encoding")


UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0, "h": 3600000.0}


def to_ms(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    return float(m.group(1)) * UNITS_MS[m.group(2)]


def parse_wrk(out, err=""):
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not rps:
        return {"error": f"wrk printed no Requests/sec: {out.strip()[-300:]} {err.strip()[-300:]}"}
    lat = dict(re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+\w+)\s*$", out, re.M))
    total = re.search(r"(\d+) requests in ([\d.]+\w+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    r = {"rps": float(rps.group(1)),
         "p50_ms": to_ms(lat["50"]) if "50" in lat else None,
         "p99_ms": to_ms(lat["99"]) if "99" in lat else None,
         "requests": int(total.group(1)) if total else None,
         "socket_errors": sum(map(int, sock.groups())) if sock else 0,
         "non_2xx": int(non2xx.group(1)) if non2xx else 0}
    r["valid"] = (r["socket_errors"] == 0 and r["non_2xx"] == 0 and r["p99_ms"] is not None
                  and bool(r["requests"]))
    return r


def median(xs):
    return statistics.median(xs) if xs else None


def fmt(x, spec):
    if x is not None:
        return format(x, spec)
    width = re.match(r"\d*", spec).group(0)
    return "—".rjust(int(width)) if width else "—"


def raise_nofile(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = n + 4096
    if hard != resource.RLIM_INFINITY and hard < want:
        try:  # root may raise the hard limit (up to fs.nr_open)
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))
            return want
        except (ValueError, OSError):
            pass
    new = hard if hard != resource.RLIM_INFINITY else max(soft, want)
    resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
    return new


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--connections", type=int, default=50, help="wrk -c (default 50)")
    ap.add_argument("--duration", type=int, default=10, help="seconds per wrk run (default 10)")
    ap.add_argument("--reps", type=int, default=3, help="interleaved repetitions (default 3)")
    ap.add_argument("--warmup", type=int, default=2,
                    help="seconds of unrecorded wrk per target before the reps (default 2; 0: none)")
    ap.add_argument("--only", default=",".join(TARGETS),
                    help="comma list of direct,nginx,haproxy,berth (default: all)")
    ap.add_argument("--idle", type=int, default=10000,
                    help="idle keep-alive connections to berth for the RSS test (0: skip)")
    ap.add_argument("--idle-timeout", type=int, default=120,
                    help="seconds allowed to open the idle connections (default 120)")
    ap.add_argument("--load-cpu", type=int, default=0, help="CPU for wrk (default 0)")
    ap.add_argument("--server-cpu", type=int, default=1,
                    help="CPU for the backend and the proxies (default 1)")
    ap.add_argument("--json", metavar="PATH", help="also write the results here")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (configs, logs)")
    args = ap.parse_args()
    only = [t.strip() for t in args.only.split(",") if t.strip()]
    bad = [t for t in only if t not in TARGETS]
    if bad or not only:
        ap.error(f"--only takes a comma list of {','.join(TARGETS)}; got {args.only!r}")
    targets = [t for t in TARGETS if t in only]
    if args.reps < 1 or args.duration < 1 or args.connections < 1:
        ap.error("--reps, --duration and --connections must be >= 1")

    missing = [p for p, need in (("nginx", True), ("haproxy", "haproxy" in targets))
               if need and not which(p)]
    if missing:
        print(f"{', '.join(missing)} not found; install the Debian packages first:\n"
              "  apt-get install -y nginx haproxy", file=sys.stderr)
        return 2
    for tool, pkg in (("wrk", "wrk"), ("taskset", "util-linux")):
        if not which(tool):
            print(f"{tool} not found:\n  apt-get install -y {pkg}", file=sys.stderr)
            return 2
    cpus = os.sched_getaffinity(0)
    if args.load_cpu not in cpus or args.server_cpu not in cpus:
        print(f"CPUs {args.load_cpu} and {args.server_cpu} must be usable here (have {sorted(cpus)})",
              file=sys.stderr)
        return 2
    if "berth" not in targets:
        args.idle = 0
    nofile = raise_nofile(args.idle)  # berth inherits it too
    if args.idle and nofile < args.idle + 200:
        print(f"RLIMIT_NOFILE is {nofile}; --idle {args.idle} needs about {args.idle + 200}",
              file=sys.stderr)
        return 2

    def on_signal(signum, frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    results = {"machine": machine(), "config": {
        "connections": args.connections, "duration_s": args.duration, "reps": args.reps,
        "warmup_s": args.warmup, "targets": targets, "idle": args.idle,
        "load_cpu": args.load_cpu, "server_cpu": args.server_cpu,
        "nginx": subprocess.run([which("nginx"), "-v"], capture_output=True, text=True)
        .stderr.strip(),
        "haproxy": (subprocess.run([which("haproxy"), "-v"], capture_output=True, text=True)
                    .stdout.split("\n")[0].strip() if which("haproxy") else None),
        "wrk": subprocess.run(["wrk", "-v"], capture_output=True, text=True)
        .stdout.split("\n")[0].strip()}}
    bench = Bench(args)
    runs = {t: [] for t in targets}
    failed = False
    idle = None
    try:
        log(f"setup (work dir {bench.work})")
        bench.start_backend()
        starters = {"nginx": bench.start_nginx_proxy, "haproxy": bench.start_haproxy,
                    "berth": bench.start_berth}
        for t in targets:
            if t in starters:
                try:
                    starters[t]()
                except SetupError as e:
                    failed = True
                    bench.errors[t] = str(e)
                    log(f"  {t}: FAILED: {e}")
        measured = [t for t in targets if t in bench.ports]
        if not measured:
            raise SetupError("nothing to measure")

        if args.warmup:
            log(f"warm-up: {args.warmup} s per target, not recorded")
            for t in measured:
                bench.wrk(t, args.warmup)
        log(f"load: taskset -c {args.load_cpu} wrk -t1 -c{args.connections} -d{args.duration}s "
            f"--latency, {args.reps} interleaved repetitions")
        for rep in range(args.reps):
            order = measured[rep % len(measured):] + measured[:rep % len(measured)]
            for t in order:
                r = bench.wrk(t, args.duration)
                r["rep"] = rep
                runs[t].append(r)
                if "error" in r:
                    log(f"  rep {rep + 1} {t:8s} ERROR {r['error']}")
                else:
                    flag = "" if r["valid"] else (f"  INVALID: {r['socket_errors']} socket "
                                                  f"errors, {r['non_2xx']} non-2xx")
                    log(f"  rep {rep + 1} {t:8s} {r['rps']:10.0f} req/s  p50 {r['p50_ms']:.3f} ms"
                        f"  p99 {r['p99_ms']:.3f} ms{flag}")

        if args.idle and "berth" in bench.ports:
            log(f"idle: {args.idle} keep-alive connections to berth's listener")
            idle = bench.idle_test(args.idle, args.idle_timeout)
            results["berth_rss_after_load_bytes"] = idle["rss_before_bytes"]
    except SetupError as e:
        failed = True
        log(f"FAILED: {e}")
    finally:
        bench.close()

    # ---- report ----------------------------------------------------------------------------
    med = {}
    for t in targets:
        ok = [r for r in runs[t] if r.get("valid")]
        med[t] = {"rps": median([r["rps"] for r in ok]),
                  "p50_ms": median([r["p50_ms"] for r in ok]),
                  "p99_ms": median([r["p99_ms"] for r in ok]),
                  "valid_runs": len(ok), "runs": len(runs[t])}
        if runs[t] and len(ok) < len(runs[t]):
            failed = True
    results["runs"], results["medians"] = runs, med
    results["notes"], results["errors"] = bench.notes, bench.errors

    print()
    print(f"medians over valid runs (wrk -t1 -c{args.connections} -d{args.duration}s, "
          f"{args.reps} reps; commit {results['machine']['commit']})")
    print(f"{'target':9s} {'req/s':>10s} {'p50 ms':>8s} {'p99 ms':>8s}  runs  vs direct")
    direct = med.get("direct", {}).get("rps")
    for t in targets:
        m = med[t]
        rel = f"{m['rps'] / direct:.2f}×" if direct and m["rps"] else ""
        status = "" if t not in bench.errors else "  (not measured: setup failed)"
        print(f"{t:9s} {fmt(m['rps'], '10.0f')} {fmt(m['p50_ms'], '8.3f')} "
              f"{fmt(m['p99_ms'], '8.3f')}  {m['valid_runs']}/{m['runs']}  {rel:>9s}{status}")

    def ratio(a, b):
        ra, rb = med.get(a, {}).get("rps"), med.get(b, {}).get("rps")
        return ra / rb if ra and rb else None
    b_h, b_n = ratio("berth", "haproxy"), ratio("berth", "nginx")
    results["ratios"] = {"berth/haproxy": b_h, "berth/nginx": b_n,
                         "nginx/haproxy": ratio("nginx", "haproxy")}
    print()
    print(f"req/s ratios: berth/haproxy {fmt(b_h, '.2f')}×  berth/nginx {fmt(b_n, '.2f')}×  "
          f"nginx/haproxy {fmt(ratio('nginx', 'haproxy'), '.2f')}×")
    bp99, hp99 = med.get("berth", {}).get("p99_ms"), med.get("haproxy", {}).get("p99_ms")
    if bp99 is not None and hp99 is not None:
        print(f"p99: berth {bp99:.3f} ms vs haproxy {hp99:.3f} ms ({bp99 / hp99:.2f}×)")

    verdicts = {}
    if b_h is not None and b_n is not None:
        verdicts["throughput"] = "MET" if b_h >= 1.0 and b_n >= 1.0 else "NOT MET"
        v = f"{verdicts['throughput']} (berth/haproxy {b_h:.2f}×, berth/nginx {b_n:.2f}×)"
    else:
        verdicts["throughput"] = "NOT MEASURED"
        v = "NOT MEASURED (needs berth, haproxy and nginx)"
    print(f"goal 1, berth req/s >= 1.0× HAProxy and nginx: {v}")
    if bp99 is not None and hp99 is not None:
        verdicts["p99"] = "MET" if bp99 <= hp99 else "NOT MET"
        v = f"{verdicts['p99']} ({bp99:.3f} ms vs {hp99:.3f} ms)"
    else:
        verdicts["p99"] = "NOT MEASURED"
        v = "NOT MEASURED (needs berth and haproxy)"
    print(f"goal 2, berth p99 <= HAProxy p99: {v}")
    if idle:
        results["idle"] = idle
        rss = idle["rss_bytes"]
        complete = (idle["opened"] == idle["requested"] and idle["berth_alive"]
                    and idle["closed_by_server_before_rss"] == 0)
        per_conn = ((rss - idle["rss_before_bytes"]) / idle["opened"] if idle["opened"] else 0)
        print(f"idle: {idle['opened']}/{idle['requested']} connections open in "
              f"{idle['seconds_to_open']} s, {idle['closed_by_server_before_rss']} closed by berth "
              f"before the reading; berth RSS {rss / 2**20:.1f} MiB ({rss / 1e6:.1f} MB), "
              f"{idle['rss_before_bytes'] / 2**20:.1f} MiB before (~{per_conn / 1024:.1f} KiB per "
              f"connection); still serving: {idle['serving_while_open']}")
        if idle["first_error"]:
            print(f"  first error: {idle['first_error']}")
        if not complete:
            failed = True
            verdicts["idle_rss"] = "NOT MEASURED"
            v = "NOT MEASURED (not all connections were open when RSS was read)"
        else:
            verdicts["idle_rss"] = "MET" if rss < RSS_LIMIT_BYTES else "NOT MET"
            v = f"{verdicts['idle_rss']} ({rss / 1e6:.1f} MB)"
    else:
        verdicts["idle_rss"] = "NOT MEASURED"
        v = "NOT MEASURED" + (" (--idle 0 or no berth)" if not args.idle else "")
    print(f"goal 3, berth RSS < 200 MB with {args.idle or 10000} idle keep-alive connections: {v}")
    results["verdicts"] = verdicts
    for n in bench.notes:
        print(f"note: {n}")
    for t, e in bench.errors.items():
        print(f"error ({t}): {e.splitlines()[0]}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
        print(f"results written to {args.json}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
