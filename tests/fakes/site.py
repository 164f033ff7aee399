"""A listing site on 127.0.0.1: serves the saved pages under a folder, with overridable answers."""

import email.utils
import hashlib
import mimetypes
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import unquote, urlsplit

from tests.fakes.loopback import LoopbackServer

CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".json": "application/json"}


@dataclass
class Route:
    status: int
    body: bytes
    headers: dict
    delay: float
    times: int | None  # None: until the site stops


class FakeSite:
    """Files under root at /<relative path>, unless a route overrides the path."""

    def __init__(self, root: Path):
        self.root = Path(root).resolve()
        self.requests = []  # (method, path with query, headers)
        self._routes = {}  # path → routes, newest last
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = None

    def start(self):
        self._server = LoopbackServer(_SiteHandler, self).start_serving()
        return self

    def stop(self):
        self._stopping.set()  # cuts short any delayed answer
        self._server.stop_serving()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def url(self, path):
        return self.base_url + "/" + str(path).lstrip("/")

    def route(self, path, *, status=200, body=b"", headers=None, delay=0.0, times=None):
        """Answer requests for path like this (the next `times` only, if given).

        A path with a query string matches only that query; one without matches any query.
        """
        body = body.encode() if isinstance(body, str) else body
        with self._lock:
            routes = self._routes.setdefault("/" + path.lstrip("/"), [])
            routes.append(Route(status, body, dict(headers or {}), delay, times))

    def hits(self, path):
        wanted = "/" + path.lstrip("/")
        with self._lock:
            paths = [requested for _, requested, _ in self.requests]
        return sum(1 for p in paths if p == wanted or p.split("?")[0] == wanted)

    def answer(self, method, raw_path, headers):
        """Status, headers and body for one request."""
        with self._lock:
            self.requests.append((method, raw_path, dict(headers)))
            route = self._take_route(raw_path)

        if route is None:
            return self._file(unquote(urlsplit(raw_path).path), headers)
        self._stopping.wait(route.delay)
        content_type = CONTENT_TYPES.get(
            Path(urlsplit(raw_path).path).suffix, CONTENT_TYPES[".html"]
        )
        return route.status, {"Content-Type": content_type, **route.headers}, route.body

    def _take_route(self, raw_path):
        for key in (raw_path, urlsplit(raw_path).path):
            routes = self._routes.get(key) or []
            if routes:
                route = routes[-1]
                if route.times is not None:
                    route.times -= 1
                    if route.times <= 0:
                        routes.pop()
                return route
        return None

    def _file(self, path, request_headers):
        file = (self.root / path.lstrip("/")).resolve()
        if not file.is_relative_to(self.root) or not file.is_file():
            return 404, {"Content-Type": "text/html; charset=utf-8"}, b"<h1>Not Found</h1>"

        body = file.read_bytes()
        headers = {
            "Content-Type": CONTENT_TYPES.get(file.suffix)
            or mimetypes.guess_type(file.name)[0]
            or "application/octet-stream",
            "ETag": f'"{hashlib.sha1(body).hexdigest()[:20]}"',
            "Last-Modified": email.utils.formatdate(int(file.stat().st_mtime), usegmt=True),
        }
        if is_fresh(request_headers, headers["ETag"], int(file.stat().st_mtime)):
            return 304, {k: v for k, v in headers.items() if k != "Content-Type"}, b""
        return 200, headers, body


def is_fresh(request_headers, etag, modified_at):
    """Whether the client's cached copy is current; If-None-Match wins over If-Modified-Since."""
    if_none_match = request_headers.get("If-None-Match")
    if if_none_match:
        tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
        return "*" in tags or etag in tags

    if_modified_since = request_headers.get("If-Modified-Since")
    if not if_modified_since:
        return False
    try:
        since = email.utils.parsedate_to_datetime(if_modified_since).timestamp()
    except (TypeError, ValueError):
        return False  # an unreadable date means a full answer, as HTTP says
    return modified_at <= since


class _SiteHandler(BaseHTTPRequestHandler):
    # Headers and body go out in separate writes; without this the client's delayed ACK
    # holds the body back about 40 ms.
    disable_nagle_algorithm = True
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        self._respond(with_body=True)

    def do_HEAD(self):
        self._respond(with_body=False)

    def _respond(self, with_body):
        status, headers, body = self.server.owner.answer(self.command, self.path, self.headers)
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            if status != 304:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if with_body and status != 304:
                self.wfile.write(body)
        except OSError:
            self.close_connection = True  # the client gave up waiting

    def log_message(self, format, *args):
        pass  # the test's own output is what matters
