"""The Bot API as production sees it at its worst: down, answering 5xx, or in a 429 storm.

`FaultyTelegram` is the fake Bot API with an outage switch and a flood-control storm, and it
notes when each bot message appeared. `Gate` stands between runall and the fake: closed, the
Bot API's port refuses connections, as an unreachable host does.
"""

import contextlib
import random
import socket
import threading
import time

from tests.fakes.telegram import ApiError, FakeTelegram

# Calls Telegram's flood control never answers with 429: a poll is no message.
STORM_EXEMPT = {"getupdates"}


class FaultyTelegram(FakeTelegram):
    """The fake Bot API, with a switch for 5xx answers and one for a storm of 429s."""

    def __init__(self, latency=0.05):
        super().__init__(latency=latency)
        self.appeared_at = {}  # (chat_id, message_id) → time.monotonic() the bot's message showed
        self.storm_answers = 0  # 429s given in storms so far
        self._server_errors = False
        self._storm = None  # (random.Random, retry_after range) while a storm blows
        self._storm_calls = 0

    def answer_server_errors(self, on=True):
        """Answer every call 502 Bad Gateway, as Telegram's front does when its back is down."""
        self._server_errors = on

    def start_storm(self, retry_after=(1, 5), seed=7):
        """Answer every second call 429, asking to wait a whole number of seconds in the range."""
        with self._lock:
            self._storm = (random.Random(seed), retry_after)
            self._storm_calls = 0

    def stop_storm(self):
        with self._lock:
            self._storm = None

    def bot_messages(self, chat_id):
        """The bot's messages in the chat as the user sees them, each with when it appeared."""
        with self._lock:
            return [
                (message, self.appeared_at.get((chat_id, message["message_id"])))
                for message in self.messages(chat_id)
            ]

    def _raise_injected_failure(self, method, chat_id):
        if self._server_errors:
            raise ApiError(502, "Bad Gateway")
        self._raise_storm(method)
        super()._raise_injected_failure(method, chat_id)

    def _raise_storm(self, method):
        with self._lock:
            if self._storm is None or method in STORM_EXEMPT:
                return
            self._storm_calls += 1
            if self._storm_calls % 2:
                return
            rng, (shortest, longest) = self._storm
            seconds = rng.randint(shortest, longest)
            self.storm_answers += 1
        raise ApiError(429, f"Too Many Requests: retry after {seconds}", retry_after=seconds)

    def _new_message(self, chat_id, sender, **content):
        message = super()._new_message(chat_id, sender, **content)
        if sender["id"] == self.bot_user["id"]:
            self.appeared_at[(message["chat"]["id"], message["message_id"])] = time.monotonic()
        return message


class Gate:
    """A TCP relay on 127.0.0.1 to a server on another port; closing it cuts every connection
    and refuses new ones until it opens again on the same port."""

    def __init__(self, target_port):
        self.target_port = target_port
        self.port = None
        self._listener = None
        self._sockets = set()
        self._lock = threading.Lock()

    @property
    def is_open(self):
        return self._listener is not None

    def open(self):
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # The same port again after closing, although cut connections linger in TIME_WAIT.
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port or 0))
        listener.listen(128)
        listener.settimeout(0.1)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def close(self):
        """Refuse connections from now on and cut those open, as a host that went away."""
        listener, self._listener = self._listener, None
        if listener is not None:
            # Shut down first: a bare close waits for the accepting thread's call to return,
            # and meanwhile the kernel still completes connections it then resets.
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        with self._lock:
            sockets, self._sockets = list(self._sockets), set()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self, listener):
        while self._listener is listener:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # closed
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            client.settimeout(None)
            with self._lock:
                self._sockets.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source, sink):
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        # One side finished or failed: finish the other, so neither end waits forever.
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        with self._lock:
            self._sockets.discard(source)
        source.close()  # only this thread reads it; the other one's writes to it now fail
