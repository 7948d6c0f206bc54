#!/usr/bin/python3
"""Logs: ingest, FilterLogEvents vs ripgrep, bytes on disk — side by side in one run.

  /usr/bin/python3 bench/logs_bench.py [--events 5000000] [--seconds 10] [--ingest-only]

--ingest-only runs step 2 alone (on the first batch of the same lines), for quick A/B runs of
ingest: `BERTH_BIN=A ... --ingest-only --seconds 5; BERTH_BIN=B ...` minutes apart at most.

1. Generates N lograge lines (bench/gen_lograge.py, seed 42) into a raw file.
2. Ingest: wrk with ONE connection replays a signed PutLogEvents batch (as many of the lines as
   fit CloudWatch's 1 MiB batch limit), for --seconds; events/s = calls/s × batch size.
3. Loads the N lines into a second group with boto3 (chunks within the batch limits).
4. FilterLogEvents `{ $.status >= 500 }` and `"ERROR"` over the whole group, paging through every
   result with a signed client, vs `rg --no-mmap -c '"status":5'` and `rg --no-mmap -c ERROR`
   on the raw file (in the page cache; best of 3). Two clients, same signed requests:
   - `berth_seconds`: http.client + json.loads of every page (what a Python caller pays; parsing
     ~40 MB of JSON alone costs about as much as rg's whole run);
   - `berth_raw_seconds`: counts events by scanning the raw response bytes for `"eventId"` and
     takes nextToken with a regex, so the figure is the server's answer time (plus HTTP). The
     FilterLogEvents goals are judged on this one.
5. Bytes on disk of the group vs the raw file.
"""
import argparse
import http.client
import json
import os
import re
import shutil
import subprocess
import tempfile
import time

import botocore.auth
import botocore.awsrequest
import botocore.credentials

from berth_bench import Server, machine

HERE = os.path.dirname(os.path.abspath(__file__))


def signed_raw(server, conn, op, body):
    """One signed call; returns the response body as bytes."""
    creds = botocore.credentials.Credentials(server.key, server.secret)
    req = botocore.awsrequest.AWSRequest(
        method="POST", url=f"{server.endpoint}/", data=body,
        headers={"X-Amz-Target": f"Logs_20140328.{op}",
                 "Content-Type": "application/x-amz-json-1.1"})
    botocore.auth.SigV4Auth(creds, "logs", "us-east-1").add_auth(req)
    conn.request("POST", "/", body=req.body, headers=dict(req.headers))
    r = conn.getresponse()
    data = r.read()
    if r.status != 200:
        raise RuntimeError(f"{op}: {r.status} {data[:300]}")
    return data


def signed_call(server, conn, op, body):
    return json.loads(signed_raw(server, conn, op, body))


NEXT_TOKEN = re.compile(rb'"nextToken"\s*:\s*"([^"]*)"')


def next_token(data):
    """The page's nextToken match, found from its last occurrence: the regex tried at every quote
    of a 1 MB page costs the client ~1.3 ms, a sixth of a page's round trip, which is not the
    server's answer time. (Inside messages the key can only appear escaped, as \\"nextToken\\".)"""
    at = data.rfind(b'"nextToken"')
    return NEXT_TOKEN.match(data, at) if at >= 0 else None


def batches(lines, t0):
    batch, size = [], 0
    for i, line in enumerate(lines):
        if len(batch) == 10000 or size + len(line) + 26 > 1048576:
            yield batch
            batch, size = [], 0
        batch.append({"timestamp": t0 + i // 1000, "message": line})
        size += len(line) + 26
    if batch:
        yield batch


def best_of(n, fn):
    best = None
    for _ in range(n):
        t = time.perf_counter()
        out = fn()
        dt = time.perf_counter() - t
        best = dt if best is None or dt < best else best
    return best, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=5_000_000)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--ingest-only", action="store_true",
                    help="measure ingest alone (the generator is sequential: a batch's worth of "
                         "lines are the same lines as in a full run)")
    ap.add_argument("--perf", metavar="OUT",
                    help="record the server with `perf record -g` into OUT while wrk runs")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="berth-logs-bench-")
    raw = os.path.join(work, "lograge.log")
    n = min(args.events, 20_000) if args.ingest_only else args.events
    subprocess.run(["/usr/bin/python3", os.path.join(HERE, "gen_lograge.py"), str(n), raw],
                   check=True)
    lines = open(raw).read().splitlines()
    s = Server()
    result = {"machine": machine(), "events": len(lines), "raw_bytes": os.path.getsize(raw)}
    try:
        conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=600)
        now = int(time.time() * 1000)
        # --- ingest with one client (wrk, one connection) ---
        signed_call(s, conn, "CreateLogGroup", json.dumps({"logGroupName": "ingest"}))
        signed_call(s, conn, "CreateLogStream", json.dumps({"logGroupName": "ingest", "logStreamName": "s"}))
        first = next(batches(lines, now))
        body = json.dumps({"logGroupName": "ingest", "logStreamName": "s", "logEvents": first})
        creds = botocore.credentials.Credentials(s.key, s.secret)
        req = botocore.awsrequest.AWSRequest(
            method="POST", url=f"{s.endpoint}/", data=body.encode(),
            headers={"X-Amz-Target": "Logs_20140328.PutLogEvents",
                     "Content-Type": "application/x-amz-json-1.1"})
        botocore.auth.SigV4Auth(creds, "logs", "us-east-1").add_auth(req)
        body_file = os.path.join(work, "body.json")
        open(body_file, "w").write(body)
        lua = os.path.join(work, "put.lua")
        with open(lua, "w") as f:
            f.write('wrk.method = "POST"\n')
            f.write(f'local fh = io.open("{body_file}", "rb")\nwrk.body = fh:read("*a")\nfh:close()\n')
            for k, v in req.headers.items():
                f.write(f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}\n")
            f.write(f'wrk.headers["Host"] = "127.0.0.1:{s.port}"\n')
        perf = None
        if args.perf:
            # Skips wrk's first second (warm-up), ends before it does.
            perf = subprocess.Popen(["perf", "record", "-g", "-o", args.perf, "-p", str(s.proc.pid),
                                     "--", "sleep", str(max(1, args.seconds - 2))],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cpu0 = s.cpu_seconds()
        out = subprocess.run(["wrk", "-t1", "-c1", f"-d{args.seconds}s", "--latency", "-s", lua,
                              s.endpoint + "/"],
                             capture_output=True, text=True).stdout
        if perf is not None:
            perf.wait(30)
        rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
        bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        result["ingest"] = {"batch_events": len(first), "batch_bytes": len(body),
                            "calls_per_s": round(rps, 1),
                            "events_per_s": round(rps * len(first)),
                            "mb_per_s": round(rps * len(body) / 1e6, 1),
                            "non_2xx": int(bad.group(1)) if bad else 0}
        # The server's CPU time (all threads) per call: what a busy machine has to find for it.
        calls = rps * args.seconds
        if calls > 0:
            result["ingest"]["server_cpu_ms_per_call"] = round(
                (s.cpu_seconds() - cpu0) * 1000 / calls, 2)
        # The median call: less moved than the mean by whatever else briefly runs on the VM;
        # the 99th percentile: the long calls (a sync, a segment's rotation, a WAL checkpoint).
        for pct in ("50", "99"):
            m = re.search(r"^\s+" + pct + r"%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
            if m:
                ms = float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[m.group(2)]
                result["ingest"][f"p{pct}_ms"] = round(ms, 3)
        if "p50_ms" in result["ingest"]:
            result["ingest"]["events_per_s_at_p50"] = round(
                len(first) / result["ingest"]["p50_ms"] * 1000)
        if args.ingest_only:
            print(json.dumps(result, indent=2))
            return
        # --- load the data set ---
        signed_call(s, conn, "CreateLogGroup", json.dumps({"logGroupName": "app"}))
        signed_call(s, conn, "CreateLogStream", json.dumps({"logGroupName": "app", "logStreamName": "web"}))
        t = time.perf_counter()
        for b in batches(lines, now - 3600 * 1000):
            signed_call(s, conn, "PutLogEvents", json.dumps(
                {"logGroupName": "app", "logStreamName": "web", "logEvents": b}))
        result["load_seconds"] = round(time.perf_counter() - t, 1)

        def filter_all(pattern):
            n, token = 0, None
            while True:
                q = {"logGroupName": "app", "filterPattern": pattern}
                if token:
                    q["nextToken"] = token
                page = signed_call(s, conn, "FilterLogEvents", json.dumps(q))
                n += len(page["events"])
                token = page.get("nextToken")
                if not token:
                    return n

        def filter_all_raw(pattern):
            n, token = 0, None
            while True:
                q = {"logGroupName": "app", "filterPattern": pattern}
                if token:
                    q["nextToken"] = token
                data = signed_raw(s, conn, "FilterLogEvents", json.dumps(q))
                n += data.count(b'"eventId"')
                m = next_token(data)
                if not m:
                    return n
                token = m.group(1).decode()

        def rg(pattern):
            out = subprocess.run(["rg", "--no-mmap", "-c", pattern, raw], capture_output=True, text=True)
            return int(out.stdout.strip() or 0)

        for name, pattern, rg_pattern in (("json_status_5xx", "{ $.status >= 500 }", '"status":5'),
                                          ("term_ERROR", "ERROR", "ERROR")):
            bt, bn = best_of(3, lambda: filter_all(pattern))
            rawt, rawn = best_of(3, lambda: filter_all_raw(pattern))
            entry = {"berth_seconds": round(bt, 3), "berth_matches": bn,
                     "berth_raw_seconds": round(rawt, 3), "berth_raw_matches": rawn}
            if shutil.which("rg"):
                rt, rn = best_of(3, lambda: rg(rg_pattern))
                entry.update({"rg_seconds": round(rt, 3), "rg_matches": rn,
                              "berth_speed_vs_rg": round(rt / bt, 3),
                              "berth_raw_speed_vs_rg": round(rt / rawt, 3)})
            result[name] = entry
        # --- Logs Insights over the whole group ---
        for qname, q in (("insights_bin_5m", "stats count(*) by bin(5m)"),
                         ("insights_5xx_by_path", "filter status >= 500 | stats count(*) by path")):
            t = time.perf_counter()
            qid = signed_call(s, conn, "StartQuery", json.dumps(
                {"logGroupName": "app", "startTime": now // 1000 - 7200,
                 "endTime": now // 1000 + 7200, "queryString": q}))["queryId"]
            while True:
                r = signed_call(s, conn, "GetQueryResults", json.dumps({"queryId": qid}))
                if r["status"] != "Running":
                    break
                time.sleep(0.01)
            result[qname] = {"seconds": round(time.perf_counter() - t, 3), "status": r["status"],
                             "rows": len(r["results"]),
                             "records_scanned": r["statistics"]["recordsScanned"]}
        disk = 0
        # Group ids are given in creation order: "ingest" is 1, "app" (the data set) is 2.
        for root, _, files in os.walk(os.path.join(s.data_dir, "logs", "2")):
            disk += sum(os.path.getsize(os.path.join(root, f)) for f in files)
        result["bytes_on_disk"] = disk
        result["disk_vs_raw"] = round(disk / result["raw_bytes"], 3)
        print(json.dumps(result, indent=2))
    finally:
        s.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
