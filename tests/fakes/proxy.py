"""A forward HTTP proxy on 127.0.0.1 that relays only to loopback, recording what it relayed."""

import http.client
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

from tests.fakes.loopback import LoopbackServer

HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding"}


class ForwardProxy:
    """Relays absolute-form requests (`GET http://127.0.0.1:port/path`) to their origin."""

    def __init__(self):
        self.relayed = []  # absolute URLs, in order
        self._server = None

    def __enter__(self):
        self._server = LoopbackServer(_ProxyHandler, self).start_serving()
        return self

    def __exit__(self, *exc_info):
        self._server.stop_serving()

    @property
    def url(self):
        return f"http://127.0.0.1:{self._server.server_address[1]}"


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        target = urlsplit(self.path)
        # Tests never leave the machine: anything but a loopback origin is refused.
        if target.hostname != "127.0.0.1" or target.scheme != "http":
            self.send_error(502, "this proxy relays to 127.0.0.1 only")
            return
        self.server.owner.relayed.append(self.path)

        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        origin = http.client.HTTPConnection(target.hostname, target.port, timeout=10)
        try:
            origin.request(
                "GET", target.path + (f"?{target.query}" if target.query else ""), headers=headers
            )
            answer = origin.getresponse()
            body = answer.read()
        finally:
            origin.close()

        self.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in HOP_BY_HOP | {"content-length"}:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        pass
