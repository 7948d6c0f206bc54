"""A tiny web app run as a service task: listens on $PORT (the process driver's host port).

  GET /health_check  200 "ok", or 500 while the file named by $HEALTH_FAIL_FILE exists
  GET /pid           this process's pid (tests kill it to see the task replaced)
  GET anything else  "$APP_VERSION"
"""
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        status = 200
        if self.path == "/health_check":
            body = b"ok"
            flag = os.environ.get("HEALTH_FAIL_FILE")
            if flag and os.path.exists(flag):
                status, body = 500, b"failing"
        elif self.path == "/pid":
            body = str(os.getpid()).encode()
        else:
            body = os.environ.get("APP_VERSION", "v?").encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


server = ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler)
server.daemon_threads = True
server.serve_forever()
