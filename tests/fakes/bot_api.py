"""A fake Telegram Bot API server on 127.0.0.1 for the real python-telegram-bot client.

Tests play users through it (messages, button presses), read what the bot did (every call,
and each chat as the user would see it), and make the next calls fail the way Telegram does.
"""

import contextlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

BOT_USER = {
    "id": 999000,
    "is_bot": True,
    "first_name": "Rentwatch",
    "username": "rentwatch_test_bot",
    "can_join_groups": False,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
CONFLICT = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance "
    "is running"
)


@dataclass
class Call:
    method: str
    params: dict
    chat_id: int | None
    at: float
    response: dict | None = None


@dataclass
class Failure:
    method: str
    payload: dict
    times: int
    chat_id: int | None = None


@dataclass
class Chat:
    messages: dict = field(default_factory=dict)  # message_id → message dict, in send order
    next_message_id: int = 1


class TelegramApiError(Exception):
    def __init__(self, code, description, **parameters):
        super().__init__(description)
        self.payload = {"ok": False, "error_code": code, "description": description}
        if parameters:
            self.payload["parameters"] = parameters


class FakeTelegram:
    def __init__(self, token="123456:TEST-token-abcdefghij", latency=0.0):
        self.token = token
        self.latency = latency
        self.bot_user = dict(BOT_USER)
        self.calls = []
        self._lock = threading.RLock()
        self._updates_ready = threading.Condition(self._lock)
        self._updates = []
        self._next_update_id = 1
        self._chats = {}
        self._failures = []
        self._hangs = []
        self._answered = []
        self._presses = 0
        self._in_flight = 0  # answers being prepared, long polls aside
        self._poll_generation = 0
        self._server = None
        self._stopping = False

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self):
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        with self._lock:
            self._stopping = True
            self._updates_ready.notify_all()
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    @property
    def base_url(self):
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/bot"

    # -- playing a user ----------------------------------------------------------------------

    def send_message(
        self,
        chat_id,
        text,
        *,
        user_id=None,
        username="renter",
        first_name="Rita",
        language_code="en",
    ):
        """The user types `text` in their private chat with the bot."""
        user = self._user(chat_id, user_id, username, first_name, language_code)
        with self._lock:
            chat = self._chat(chat_id)
            message_id = chat.next_message_id
            chat.next_message_id += 1
            message = {
                "message_id": message_id,
                "from": user,
                "chat": self._chat_object(chat_id, first_name, username),
                "date": int(time.time()),
                "text": text,
            }
            if text.startswith("/"):
                command = text.split()[0]
                message["entities"] = [
                    {"type": "bot_command", "offset": 0, "length": len(command)}
                ]
            return self._queue_update({"message": message})

    def press_button(self, chat_id, callback_data, *, message_id=None, user_id=None):
        """The user presses the inline button carrying `callback_data`."""
        with self._lock:
            if message_id is None:
                message_id = self._message_with_button(chat_id, callback_data)["message_id"]
            message = self._chat(chat_id).messages[message_id]
            query = {
                "id": str(self._next_update_id * 1000 + message_id),
                "from": self._user(chat_id, user_id, "renter", "Rita", "en"),
                "message": message,
                "chat_instance": str(chat_id),
                "data": callback_data,
            }
            return self._queue_update({"callback_query": query})

    def press(self, chat_id, button_text, *, user_id=None, timeout=10.0):
        """The user presses the newest inline button labelled `button_text` (or labelled with
        an emoji and then those words), waiting up to `timeout` seconds for it to show."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                found = self._find_button(chat_id, button_text)
                if found:
                    message_id, data = found
                    return self.press_button(chat_id, data, message_id=message_id, user_id=user_id)
            if time.monotonic() > deadline:
                available = [b for m in self.messages(chat_id) for b in m["buttons"]]
                raise AssertionError(
                    f"no button {button_text!r} in chat {chat_id}; buttons: {available}"
                )
            time.sleep(0.02)

    def _find_button(self, chat_id, button_text):
        for matches in (lambda t: t == button_text, lambda t: same_words(t, button_text)):
            for message in reversed(list(self._chat(chat_id).messages.values())):
                for text, data in buttons_of(message):
                    if data is not None and matches(text):
                        return message["message_id"], data
        return None

    # -- what the bot did --------------------------------------------------------------------

    def calls_to(self, method):
        with self._lock:
            return [call for call in self.calls if call.method == method]

    def messages(self, chat_id):
        """The bot's messages in the chat as the user sees them now, oldest first."""
        with self._lock:
            chat = self._chats.get(chat_id)
            if chat is None:
                return []
            return [self._as_seen(m) for m in chat.messages.values() if m["from"]["is_bot"]]

    def last_message(self, chat_id):
        messages = self.messages(chat_id)
        assert messages, f"the bot sent nothing to chat {chat_id}"
        return messages[-1]

    def answered_callbacks(self):
        with self._lock:
            return list(self._answered)

    def pending_updates(self):
        """Updates the bot has not fetched and confirmed yet."""
        with self._lock:
            return len(self._updates)

    def wait_for(self, predicate, timeout=10.0, message=""):
        deadline = time.monotonic() + timeout
        while True:
            result = predicate()
            if result:
                return result
            if time.monotonic() > deadline:
                recent = [f"{c.method}({c.chat_id})" for c in self.calls[-15:]]
                raise AssertionError(f"timed out waiting: {message}; recent calls: {recent}")
            time.sleep(0.02)

    def wait_for_message(self, chat_id, contains, timeout=10.0):
        def find():
            return next((m for m in self.messages(chat_id) if contains in m["text"]), None)

        return self.wait_for(find, timeout, f"a message containing {contains!r} in {chat_id}")

    def wait_until_idle(self, timeout=10.0):
        """Wait until the bot has fetched every update and answered every button press."""

        def idle():
            with self._lock:
                answered = sum(1 for c in self.calls if c.method == "answerCallbackQuery")
                return not self._updates and answered >= self._presses and not self._in_flight

        return self.wait_for(idle, timeout, "the bot handles every update")

    # -- failure injection -------------------------------------------------------------------

    def fail_next(
        self,
        method,
        *,
        error_code,
        description,
        retry_after=None,
        migrate_to_chat_id=None,
        times=1,
        chat_id=None,
    ):
        payload = {"ok": False, "error_code": error_code, "description": description}
        parameters = {}
        if retry_after is not None:
            parameters["retry_after"] = retry_after
        if migrate_to_chat_id is not None:
            parameters["migrate_to_chat_id"] = migrate_to_chat_id
        if parameters:
            payload["parameters"] = parameters
        with self._lock:
            self._failures.append(Failure(method, payload, times, chat_id))

    def hang_next(self, method, seconds, *, times=1):
        with self._lock:
            self._hangs.append([method, seconds, times])

    # -- serving -----------------------------------------------------------------------------

    def handle(self, token, method, params):
        """Answer one Bot API call; returns the JSON payload and the HTTP status."""
        if token != self.token:
            return {"ok": False, "error_code": 401, "description": "Unauthorized"}, 401
        chat_id = _int_or_none(params.get("chat_id"))
        if method == "getUpdates":
            return self._answer_call(method, params, chat_id)
        with self._lock:
            self._in_flight += 1
        try:
            self._delay(method)
            return self._answer_call(method, params, chat_id)
        finally:
            with self._lock:
                self._in_flight -= 1

    def _answer_call(self, method, params, chat_id):

        call = Call(method, params, chat_id, time.monotonic())
        with self._lock:
            self.calls.append(call)
            failure = self._take_failure(method, chat_id)
        if failure:
            call.response = failure
            return failure, failure["error_code"]

        try:
            result = self._dispatch(method, params)
        except TelegramApiError as error:
            call.response = error.payload
            return error.payload, error.payload["error_code"]
        call.response = {"ok": True, "result": result}
        return call.response, 200

    def _delay(self, method):
        with self._lock:
            hang = next((h for h in self._hangs if h[0] == method and h[2] > 0), None)
            if hang:
                hang[2] -= 1
        if hang:
            time.sleep(hang[1])
        elif self.latency and method != "getUpdates":
            time.sleep(self.latency)

    def _take_failure(self, method, chat_id):
        for failure in self._failures:
            if failure.method == method and failure.chat_id in (None, chat_id):
                failure.times -= 1
                if failure.times <= 0:
                    self._failures.remove(failure)
                return failure.payload
        return None

    def _dispatch(self, method, params):
        handler = getattr(self, f"_api_{method.lower()}", None)
        if handler is None:
            raise TelegramApiError(404, "Not Found")
        return handler(params)

    # -- the Bot API methods -----------------------------------------------------------------

    def _api_getme(self, params):
        return self.bot_user

    def _api_deletewebhook(self, params):
        return True

    def _api_setwebhook(self, params):
        return True

    def _api_getwebhookinfo(self, params):
        return {"url": "", "has_custom_certificate": False, "pending_update_count": 0}

    def _api_setmycommands(self, params):
        self.commands = params.get("commands", [])
        return True

    def _api_getmycommands(self, params):
        return getattr(self, "commands", [])

    def _api_close(self, params):
        return True

    def _api_logout(self, params):
        return True

    def _api_sendchataction(self, params):
        return True

    def _api_answercallbackquery(self, params):
        with self._lock:
            self._answered.append(params)
        return True

    def _api_answerprecheckoutquery(self, params):
        return True

    def _api_getupdates(self, params):
        offset = _int_or_none(params.get("offset")) or 0
        timeout = float(params.get("timeout") or 0)
        limit = int(params.get("limit") or 100)
        deadline = time.monotonic() + timeout
        with self._lock:
            self._poll_generation += 1
            generation = self._poll_generation
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
            self._updates_ready.notify_all()  # an older poll still waiting is now superseded
            while not self._updates and not self._stopping:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._updates_ready.wait(remaining)
                if self._poll_generation != generation:
                    raise TelegramApiError(409, CONFLICT)
            updates = self._updates[:limit]
            return updates

    def _api_sendmessage(self, params):
        return self._new_bot_message(params, text=params["text"])

    def _api_sendphoto(self, params):
        photo = [{"file_id": "photo-1", "file_unique_id": "p1", "width": 800, "height": 600}]
        return self._new_bot_message(params, photo=photo, caption=params.get("caption", ""))

    def _api_sendmediagroup(self, params):
        media = params["media"]
        group_id = str(time.monotonic_ns())
        return [
            self._new_bot_message(
                params,
                photo=[
                    {
                        "file_id": f"photo-{n}",
                        "file_unique_id": f"p{n}",
                        "width": 800,
                        "height": 600,
                    }
                ],
                caption=item.get("caption", ""),
                media_group_id=group_id,
            )
            for n, item in enumerate(media)
        ]

    def _api_sendinvoice(self, params):
        return self._new_bot_message(params, invoice={"title": params.get("title", "")})

    def _api_editmessagetext(self, params):
        return self._edit(params, text=params["text"])

    def _api_editmessagecaption(self, params):
        return self._edit(params, caption=params.get("caption", ""))

    def _api_editmessagereplymarkup(self, params):
        return self._edit(params)

    def _api_deletemessage(self, params):
        with self._lock:
            chat = self._chat(int(params["chat_id"]))
            if chat.messages.pop(int(params["message_id"]), None) is None:
                raise TelegramApiError(400, "Bad Request: message to delete not found")
        return True

    # -- chat state --------------------------------------------------------------------------

    def _new_bot_message(self, params, **content):
        chat_id = int(params["chat_id"])
        with self._lock:
            chat = self._chat(chat_id)
            message = {
                "message_id": chat.next_message_id,
                "from": self.bot_user,
                "chat": self._chat_object(chat_id),
                "date": int(time.time()),
                **{k: v for k, v in content.items() if v is not None},
            }
            if params.get("reply_markup"):
                message["reply_markup"] = params["reply_markup"]
            chat.next_message_id += 1
            chat.messages[message["message_id"]] = message
            return message

    def _edit(self, params, **content):
        chat_id, message_id = int(params["chat_id"]), int(params["message_id"])
        with self._lock:
            message = self._chat(chat_id).messages.get(message_id)
            if message is None:
                raise TelegramApiError(400, "Bad Request: message to edit not found")
            markup = params.get("reply_markup")
            changed = {k: v for k, v in content.items() if message.get(k) != v}
            if not changed and markup == message.get("reply_markup"):
                raise TelegramApiError(400, NOT_MODIFIED)
            message.update(changed)
            if markup:
                message["reply_markup"] = markup
            else:
                message.pop("reply_markup", None)
            message["edit_date"] = int(time.time())
            return message

    def _chat(self, chat_id):
        return self._chats.setdefault(chat_id, Chat())

    def _chat_object(self, chat_id, first_name="Rita", username="renter"):
        if chat_id < 0:
            return {"id": chat_id, "type": "supergroup", "title": "Flat hunters"}
        return {"id": chat_id, "type": "private", "first_name": first_name, "username": username}

    def _user(self, chat_id, user_id, username, first_name, language_code):
        return {
            "id": user_id or chat_id,
            "is_bot": False,
            "first_name": first_name,
            "username": username,
            "language_code": language_code,
        }

    def _queue_update(self, content):
        with self._lock:
            update = {"update_id": self._next_update_id, **content}
            self._presses += "callback_query" in content
            self._next_update_id += 1
            self._updates.append(update)
            self._updates_ready.notify_all()
            return update

    def _message_with_button(self, chat_id, callback_data):
        for message in reversed(list(self._chat(chat_id).messages.values())):
            if any(data == callback_data for _, data in buttons_of(message)):
                return message
        raise AssertionError(f"no button with data {callback_data!r} in chat {chat_id}")

    def _as_seen(self, message):
        seen = dict(message)
        seen["text"] = message.get("text") or message.get("caption") or ""
        seen["buttons"] = [
            (button["text"], button.get("callback_data") or button.get("url"))
            for row in (message.get("reply_markup") or {}).get("inline_keyboard", [])
            for button in row
        ]
        return seen


def buttons_of(message):
    """(text, callback_data) of the message's inline buttons that act (not links)."""
    keyboard = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return [(b["text"], b.get("callback_data")) for row in keyboard for b in row]


def same_words(label, wanted):
    """True when the label, past a leading emoji, begins with the wanted words: "🔎 New search"
    for "New search", "🗑 Delete “Flat”" for "Delete" (but "10,000 AED" is not "1")."""
    start = next((i for i, char in enumerate(label) if char.isalnum()), len(label))
    wanted_words = wanted.split()
    return label[start:].split()[: len(wanted_words)] == wanted_words


def _int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class _Handler(BaseHTTPRequestHandler):
    fake: FakeTelegram

    def do_POST(self):
        self._answer()

    def do_GET(self):
        self._answer()

    def _answer(self):
        path = self.path.split("?", 1)[0]
        try:
            prefix, method = path.rsplit("/", 1)
            token = prefix.split("/bot", 1)[1]
        except (ValueError, IndexError):
            self._send({"ok": False, "error_code": 404, "description": "Not Found"}, 404)
            return
        payload, status = self.fake.handle(token, method, self._params())
        self._send(payload, status)

    def _params(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        content_type = self.headers.get("Content-Type", "")
        if "application/json" in content_type:
            return json.loads(body or b"{}")
        if "multipart/form-data" in content_type:
            return _decode_values(_parse_multipart(body, content_type))
        return _decode_values(dict(parse_qsl(body.decode())))

    def _send(self, payload, status):
        body = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (a timeout test): nothing to answer

    def log_message(self, format, *args):
        pass


def _decode_values(params):
    """PTB sends nested values (reply_markup, media, …) as JSON strings inside the form."""
    decoded = {}
    for key, value in params.items():
        if isinstance(value, str) and value[:1] in "[{":
            with contextlib.suppress(ValueError):
                value = json.loads(value)
        decoded[key] = value
    return decoded


def _parse_multipart(body, content_type):
    boundary = content_type.split("boundary=", 1)[1].strip('"').encode()
    fields = {}
    for part in body.split(b"--" + boundary):
        head, _, value = part.partition(b"\r\n\r\n")
        if b'name="' not in head:
            continue
        name = head.split(b'name="', 1)[1].split(b'"', 1)[0].decode()
        if b"filename=" not in head:
            fields[name] = value.rstrip(b"\r\n").decode(errors="replace")
    return fields
