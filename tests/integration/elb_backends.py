"""Small HTTP backends for the load balancer tests: each answers with its name and what it saw.

  GET /health_check   200, or the status set with `backend.health_status`
  GET /slow?ms=N      waits N ms, then answers
  GET /close          starts a response and closes the connection mid-body
  anything else       200 "NAME PATH" plus the forwarded headers as JSON, or `backend.status`
"""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


class Backend:
    def __init__(self, name):
        self.name = name
        self.status = 200
        self.health_status = 200
        self.hits = 0
        self.lock = threading.Lock()
        backend = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                url = urlparse(self.path)
                if url.path == "/health_check":
                    return self._send(backend.health_status, b"ok")
                with backend.lock:
                    backend.hits += 1
                if url.path == "/slow":
                    time.sleep(int(parse_qs(url.query).get("ms", ["1000"])[0]) / 1000)
                if url.path == "/close":
                    self.send_response(200)
                    self.send_header("Content-Length", "1000")
                    self.end_headers()
                    self.wfile.write(b"partial")
                    self.wfile.flush()
                    self.close_connection = True
                    return
                seen = {k: v for k, v in self.headers.items()
                        if k.lower().startswith("x-") or k.lower() == "host"}
                body = json.dumps({"backend": backend.name, "path": self.path,
                                   "headers": seen}).encode()
                self._send(backend.status, body, "application/json")

            do_POST = do_GET

            def _send(self, status, body, ctype="text/plain"):
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
