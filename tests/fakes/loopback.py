"""The small threaded HTTP server both fakes run on: 127.0.0.1 only, and a stop that does not
wait for clients holding keep-alive connections open."""

import contextlib
import socket
import threading
from http.server import ThreadingHTTPServer


class LoopbackServer(ThreadingHTTPServer):
    """A threaded server on 127.0.0.1 that can cut its open keep-alive connections on stop."""

    daemon_threads = True

    def __init__(self, handler_class, owner):
        super().__init__(("127.0.0.1", 0), handler_class)
        self.owner = owner
        self._connections = set()
        self._connections_lock = threading.Lock()
        self._thread = None

    def start_serving(self):
        """Serve from a thread of its own; returns self."""
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop_serving(self):
        """Stop, cutting keep-alive connections rather than waiting for their clients."""
        self.shutdown()
        self.close_connections()
        self.server_close()
        self._thread.join(5)

    def process_request(self, request, client_address):
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self):
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):  # the client closed it first
                connection.shutdown(socket.SHUT_RDWR)
