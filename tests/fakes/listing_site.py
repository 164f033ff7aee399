"""A listing site on 127.0.0.1 serving the real saved pages, with answers a test can override."""

import email.utils
import hashlib
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".json": "application/json",
}


@dataclass
class Route:
    status: int
    body: bytes
    headers: dict
    delay: float
    times: int | None


class FakeSite:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.requests = []
        self._routes = {}
        self._lock = threading.Lock()
        self._server = None

    def start(self):
        handler = type("Handler", (_Handler,), {"site": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    @property
    def base_url(self):
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path):
        return f"{self.base_url}/{path.lstrip('/')}"

    def route(self, path, *, status=200, body=b"", headers=None, delay=0.0, times=None):
        """Answer `path` this way instead (for the next `times` requests, or for good)."""
        body = body.encode() if isinstance(body, str) else body
        with self._lock:
            self._routes["/" + path.lstrip("/")] = Route(
                status, body, dict(headers or {}), delay, times
            )

    def hits(self, path):
        path = "/" + path.lstrip("/")
        with self._lock:
            return sum(1 for _, requested, _ in self.requests if urlsplit(requested).path == path)

    def answer(self, method, raw_path, headers):
        """(status, headers, body) for one request."""
        with self._lock:
            self.requests.append((method, raw_path, headers))
            path = urlsplit(raw_path).path
            route = self._routes.get(path)
            if route and route.times is not None:
                route.times -= 1
                if route.times <= 0:
                    del self._routes[path]
        if route:
            time.sleep(route.delay)
            return route.status, route.headers, route.body
        return self._file(path, headers)

    def _file(self, path, request_headers):
        file = (self.root / path.lstrip("/")).resolve()
        if self.root.resolve() not in file.parents or not file.is_file():
            return 404, {"Content-Type": "text/plain"}, b"not found"

        body = file.read_bytes()
        etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
        modified = email.utils.formatdate(file.stat().st_mtime, usegmt=True)
        headers = {
            "Content-Type": CONTENT_TYPES.get(file.suffix, "application/octet-stream"),
            "ETag": etag,
            "Last-Modified": modified,
        }
        if request_headers.get("If-None-Match") == etag or (
            request_headers.get("If-Modified-Since") == modified
        ):
            return 304, headers, b""
        return 200, headers, body


class _Handler(BaseHTTPRequestHandler):
    site: FakeSite

    def do_GET(self):
        self._respond(with_body=True)

    def do_HEAD(self):
        self._respond(with_body=False)

    def _respond(self, with_body):
        status, headers, body = self.site.answer(self.command, self.path, dict(self.headers))
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if with_body:
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, format, *args):
        pass
