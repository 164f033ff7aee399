"""A fake Telegram Bot API on 127.0.0.1 that the real python-telegram-bot client talks to.

Tests play users (messages, button presses), read each chat as the user sees it, and make
the next calls fail or hang the way Telegram does.
"""

import copy
import json
import re
import select
import socket
import threading
import time
from dataclasses import dataclass
from email import policy
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qsl, urlsplit

from tests.fakes.loopback import LoopbackServer
from tests.fakes.telegram_html import MarkupError, parse_html, utf16_len

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
POLL_CONFLICT = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance "
    "is running"
)
WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to "
    "delete the webhook first"
)
OLD_QUERY = "Bad Request: query is too old and response timeout expired or query ID is invalid"
WELL_FORMED_TOKEN = re.compile(r"^\d+:[\w-]+$")

# Form values stay strings for these, even when they look like JSON ("42", "[draft]").
FREE_TEXT_FIELDS = {
    "text", "caption", "title", "description", "payload", "currency", "start_parameter",
    "callback_query_id", "pre_checkout_query_id", "error_message", "url", "parse_mode",
    "photo", "secret_token", "language_code", "action", "inline_message_id", "provider_token",
}  # fmt: skip
INTEGER_FIELDS = {"chat_id", "message_id", "offset", "limit", "timeout", "user_id"}


@dataclass
class Call:
    method: str
    params: dict
    chat_id: int | str | None
    at: float
    response: dict | None = None  # None while open, and for a call that never took effect
    abandoned: bool = False  # the client hung up before the answer


class ApiError(Exception):
    """An answer Telegram gives instead of a result."""

    def __init__(self, error_code, description, **parameters):
        super().__init__(description)
        self.payload = {"ok": False, "error_code": error_code, "description": description}
        parameters = {name: value for name, value in parameters.items() if value is not None}
        if parameters:
            self.payload["parameters"] = parameters


class FakeTelegram:
    """The Bot API for one bot token, with the chats its users see."""

    def __init__(self, token="123456:TEST-token-abcdefghij", latency=0.0):
        self.token = token
        self.latency = latency
        bot_id = token.split(":")[0]
        self.bot_user = {
            "id": int(bot_id) if bot_id.isdigit() else 123456,
            "is_bot": True,
            "first_name": "Rentwatch",
            "username": "rentwatch_test_bot",
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self.calls = []
        self.webhook = {}
        self._lock = threading.RLock()
        self._update_queued = threading.Condition(self._lock)
        self._updates = []
        self._next_update_id = 1
        self._chats = {}  # chat_id → {"next_id": int, "messages": {message_id: message}}
        self._users = {}  # user_id → User dict, as they last introduced themselves
        self._open_callbacks = {}  # callback_query_id → callback_data
        self._next_query_id = 4_000_000
        self._answered = []
        self._charges = {}  # telegram_payment_charge_id → {"user_id": int, "refunded": bool}
        self._commands = {}
        self._failures = []
        self._hangs = []
        self._open_poll = None  # the client_gone check of the long poll now waiting
        self._stopping = False
        self._server = None

    # -- lifecycle

    def start(self):
        self._server = LoopbackServer(_BotApiHandler, self).start_serving()
        return self

    def stop(self):
        # Wake long polls first, so that no handler thread outlives the server.
        with self._lock:
            self._stopping = True
            self._update_queued.notify_all()

        self._server.stop_serving()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self._server.server_address[1]}/bot"

    # -- playing a user

    def send_message(
        self, chat_id, text, *, user_id=None, username="renter", first_name="Rita",
        language_code="en",
    ):  # fmt: skip
        """The user writes `text` in the chat; returns the queued update."""
        with self._lock:
            user = self._introduce(user_id or chat_id, username, first_name, language_code)
            message = self._new_message(chat_id, user, text=text)
            command = re.match(r"/[A-Za-z0-9_]+(@\w+)?", text)
            if command:
                # PTB's CommandHandler only sees a command through this entity.
                message["entities"] = [
                    {"type": "bot_command", "offset": 0, "length": utf16_len(command[0])}
                ]
            return self._queue_update({"message": message})

    def press_button(self, chat_id, callback_data, *, message_id=None, user_id=None, timeout=10.0):
        """The user presses the inline button carrying `callback_data`; returns the update."""
        if message_id is None:
            message = self.wait_for(
                lambda: self._latest_with_button(
                    chat_id, lambda button: button.get("callback_data") == callback_data
                ),
                timeout,
                lambda: (
                    f"no message in chat {chat_id} has a button for {callback_data!r}\n"
                    + self._buttons_summary(chat_id)
                ),
            )
            message_id = message["message_id"]
        return self._press(chat_id, message_id, callback_data, user_id or chat_id)

    def press(self, chat_id, button_text, *, user_id=None, timeout=10.0):
        """The user presses the newest button labelled with the text (or with an emoji and then
        the text's words), waiting for the bot to show it."""

        def equals(button):
            return button.get("text") == button_text

        def begins_with_the_words(button):
            # "🔎 New search" is "New search", "🗑 Delete “Flat”" is "Delete"; "10,000" is not "1".
            label = button.get("text", "")
            start = next((i for i, char in enumerate(label) if char.isalnum()), len(label))
            wanted = button_text.split()
            return label[start:].split()[: len(wanted)] == wanted

        def find():
            for matches in (equals, begins_with_the_words):
                message = self._latest_with_button(chat_id, matches)
                if message:
                    return message, next(filter(matches, inline_buttons(message)))
            return None

        message, button = self.wait_for(
            find,
            timeout,
            lambda: (
                f"no button {button_text!r} in chat {chat_id}\n" + self._buttons_summary(chat_id)
            ),
        )
        assert "callback_data" in button, f"{button_text!r} is not a callback button: {button}"
        return self._press(
            chat_id, message["message_id"], button["callback_data"], user_id or chat_id
        )

    # -- playing a payer (Telegram Stars)

    def pre_checkout(self, user_id, payload, total_amount, *, currency="XTR"):
        """The user presses Pay on an invoice and Telegram asks the bot first; returns the
        query's id (answerPreCheckoutQuery carries the verdict)."""
        with self._lock:
            self._next_query_id += 1
            query_id = str(self._next_query_id)
            user = self._users.get(user_id) or self._introduce(user_id, "renter", "Rita", "en")
            query = {"id": query_id, "from": user, "currency": currency}
            query.update(total_amount=total_amount, invoice_payload=payload)
            self._queue_update({"pre_checkout_query": query})
            return query_id

    def checkout_answer(self, query_id, timeout=10.0):
        """The bot's answer to a pre-checkout query: {"ok": …, "error_message": …}."""

        def find():
            for call in self.calls_to("answerPreCheckoutQuery"):
                if call.params.get("pre_checkout_query_id") == query_id:
                    return call.params
            return None

        return self.wait_for(find, timeout, f"the bot answers pre-checkout query {query_id}")

    def successful_payment(self, chat_id, payload, total_amount, charge_id, *, user_id=None):
        """Telegram took the user's Stars and tells the bot in the chat; returns the update."""
        with self._lock:
            user_id = user_id or chat_id
            user = self._users.get(user_id) or self._introduce(user_id, "renter", "Rita", "en")
            self._charges[charge_id] = {"user_id": user_id, "refunded": False}
            paid = {"currency": "XTR", "total_amount": total_amount, "invoice_payload": payload}
            paid.update(telegram_payment_charge_id=charge_id, provider_payment_charge_id="")
            message = self._new_message(chat_id, user, successful_payment=paid)
            return self._queue_update({"message": message})

    # -- reading what the bot did

    def calls_to(self, method):
        with self._lock:
            return [call for call in self.calls if call.method.lower() == method.lower()]

    def messages(self, chat_id):
        """The bot's messages in the chat as the user now sees them, oldest first."""
        with self._lock:
            chat = self._chats.get(_as_chat_id(chat_id), {"messages": {}})
            return [
                as_seen(message)
                for message in chat["messages"].values()
                if message["from"]["id"] == self.bot_user["id"]
            ]

    def last_message(self, chat_id):
        messages = self.messages(chat_id)
        assert messages, f"the bot has sent nothing to chat {chat_id}"
        return messages[-1]

    def answered_callbacks(self):
        with self._lock:
            return copy.deepcopy(self._answered)

    def wait_for(self, predicate, timeout=10.0, message=""):
        """Polls predicate() until it is truthy and returns its value."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                what = message() if callable(message) else message
                raise AssertionError(f"{what}\nrecent calls:\n{self._recent_calls()}")
            time.sleep(0.02)

    def wait_until_idle(self, timeout=10.0):
        """Wait until the bot has fetched every update, answered every button press and had
        every call it started answered."""

        def idle():
            with self._lock:
                busy = [
                    c
                    for c in self.calls
                    if c.response is None and not c.abandoned and c.method != "getUpdates"
                ]
                return not self._updates and not self._open_callbacks and not busy

        return self.wait_for(idle, timeout, "the bot handles every update")

    def wait_for_message(self, chat_id, contains, timeout=10.0):
        def find():
            matching = [m for m in self.messages(chat_id) if contains in m["text"]]
            return matching[-1] if matching else None

        return self.wait_for(
            find, timeout, f"no bot message in chat {chat_id} contains {contains!r}"
        )

    # -- failure injection

    def fail_next(
        self, method, *, error_code, description, retry_after=None, migrate_to_chat_id=None,
        times=1, chat_id=None,
    ):  # fmt: skip
        """The next `times` calls of method (to chat_id, if given) get this error instead."""
        error = ApiError(
            error_code, description, retry_after=retry_after, migrate_to_chat_id=migrate_to_chat_id
        )
        with self._lock:
            self._failures.append([method.lower(), _as_chat_id(chat_id), times, error])

    def hang_next(self, method, seconds, *, times=1):
        """Hold the next calls of method before they take effect, to provoke client timeouts.

        A held call whose client has given up by then never takes effect, as if it was lost.
        """
        with self._lock:
            self._hangs.append([method.lower(), times, seconds])

    # -- answering calls (server threads)

    def answer(self, path, params, client_gone):
        """The HTTP status and JSON body for one request, or None if its client left."""
        token, _, method = path.removeprefix("/bot").partition("/")
        handler = self._handlers().get(method.lower())
        canonical = handler.__name__.removeprefix("_api_") if handler else method
        call = Call(canonical, params, _as_chat_id(params.get("chat_id")), time.monotonic())
        with self._lock:
            self.calls.append(call)

        if method.lower() != "getupdates":
            time.sleep(self.latency)
        self._hold(method.lower())
        if client_gone():
            call.abandoned = True
            return None

        try:
            self._check_token(path, token)
            if handler is None:
                raise ApiError(404, "Not Found")
            self._raise_injected_failure(method.lower(), call.chat_id)
            payload = {"ok": True, "result": handler(params, client_gone)}
        except ApiError as error:
            payload = error.payload
        except Exception as error:
            # A bug in the fake must show in the test, not as a hung or dropped request.
            payload = {"ok": False, "error_code": 500, "description": f"fake failed: {error!r}"}
        with self._lock:
            call.response = payload
            call.abandoned = client_gone()
        return payload

    def _check_token(self, path, token):
        if not path.startswith("/bot") or not WELL_FORMED_TOKEN.match(token):
            raise ApiError(404, "Not Found")
        if token != self.token:
            raise ApiError(401, "Unauthorized")

    def _hold(self, method):
        with self._lock:
            hang = next((h for h in self._hangs if h[0] == method), None)
            if hang:
                hang[1] -= 1
                if hang[1] <= 0:
                    self._hangs.remove(hang)
        if hang:
            time.sleep(hang[2])

    def _raise_injected_failure(self, method, chat_id):
        with self._lock:
            for failure in self._failures:
                if failure[0] == method and failure[1] in (None, chat_id):
                    failure[2] -= 1
                    if failure[2] <= 0:
                        self._failures.remove(failure)
                    raise failure[3]

    def _handlers(self):
        handlers = [
            self._api_getMe, self._api_getUpdates, self._api_setWebhook,
            self._api_deleteWebhook, self._api_getWebhookInfo, self._api_logOut,
            self._api_close, self._api_setMyCommands, self._api_getMyCommands,
            self._api_sendMessage, self._api_sendPhoto, self._api_sendMediaGroup,
            self._api_editMessageText, self._api_editMessageCaption,
            self._api_editMessageReplyMarkup, self._api_deleteMessage,
            self._api_answerCallbackQuery, self._api_sendChatAction, self._api_sendInvoice,
            self._api_answerPreCheckoutQuery, self._api_refundStarPayment,
        ]  # fmt: skip
        return {h.__name__.removeprefix("_api_").lower(): h for h in handlers}

    # -- the methods

    def _api_getMe(self, params, client_gone):
        return dict(self.bot_user)

    def _api_getUpdates(self, params, client_gone):
        """Long polling: wait until an update is queued, the timeout passes or the client goes."""
        deadline = time.monotonic() + float(params.get("timeout") or 0)
        with self._lock:
            if self.webhook:
                raise ApiError(409, WEBHOOK_CONFLICT)
            if self._open_poll and not self._open_poll():
                raise ApiError(409, POLL_CONFLICT)

            self._confirm_updates(int(params.get("offset") or 0))
            self._open_poll = client_gone
            try:
                while not self._deliverable(params) and not self._stopping and not client_gone():
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    # Wake now and then to notice a client that hung up.
                    self._update_queued.wait(min(remaining, 0.1))
            finally:
                self._open_poll = None
            return copy.deepcopy(self._deliverable(params)[: int(params.get("limit") or 100)])

    def _api_setWebhook(self, params, client_gone):
        with self._lock:
            self.webhook = {key: value for key, value in params.items() if key != "certificate"}
            if params.get("drop_pending_updates"):
                self._updates.clear()
        return True

    def _api_deleteWebhook(self, params, client_gone):
        with self._lock:
            self.webhook = {}
            if params.get("drop_pending_updates"):
                self._updates.clear()
        return True

    def _api_getWebhookInfo(self, params, client_gone):
        with self._lock:
            info = {"url": self.webhook.get("url", ""), "has_custom_certificate": False}
            info["pending_update_count"] = len(self._updates)
            if self.webhook:
                info["max_connections"] = self.webhook.get("max_connections", 40)
            return info

    def _api_logOut(self, params, client_gone):
        return True

    def _api_close(self, params, client_gone):
        return True

    def _api_setMyCommands(self, params, client_gone):
        commands = params.get("commands") or []
        for command in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", command.get("command", "")):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
        with self._lock:
            self._commands[self._commands_key(params)] = commands
        return True

    def _api_getMyCommands(self, params, client_gone):
        with self._lock:
            return copy.deepcopy(self._commands.get(self._commands_key(params), []))

    def _api_sendMessage(self, params, client_gone):
        text, entities = self._formatted(params, "text", limit=4096)
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        return self._bot_message(params, text=text, entities=entities)

    def _api_sendPhoto(self, params, client_gone):
        caption, entities = self._formatted(params, "caption", limit=1024)
        return self._bot_message(
            params, photo=photo_sizes(params.get("photo")), caption=caption,
            caption_entities=entities,
        )  # fmt: skip

    def _api_sendMediaGroup(self, params, client_gone):
        media = params.get("media")
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            raise ApiError(400, "Bad Request: wrong number of media in the album")

        group_id = str(int(time.time() * 1000))
        messages = []
        for item in media:
            caption, entities = self._formatted(item, "caption", limit=1024)
            content = {"photo": photo_sizes(item.get("media")), "caption": caption}
            content.update(caption_entities=entities, media_group_id=group_id)
            messages.append(self._bot_message({"chat_id": params["chat_id"]}, **content))
        return messages

    def _api_editMessageText(self, params, client_gone):
        text, entities = self._formatted(params, "text", limit=4096)
        return self._edit(params, "text", text=text, entities=entities)

    def _api_editMessageCaption(self, params, client_gone):
        caption, entities = self._formatted(params, "caption", limit=1024)
        return self._edit(params, "caption", caption=caption, caption_entities=entities)

    def _api_editMessageReplyMarkup(self, params, client_gone):
        return self._edit(params, None)

    def _api_deleteMessage(self, params, client_gone):
        with self._lock:
            chat = self._chat(params.get("chat_id"))
            if chat["messages"].pop(params.get("message_id"), None) is None:
                raise ApiError(400, "Bad Request: message to delete not found")
        return True

    def _api_answerCallbackQuery(self, params, client_gone):
        with self._lock:
            query_id = str(params.get("callback_query_id"))
            if query_id not in self._open_callbacks:
                raise ApiError(400, OLD_QUERY)

            data = self._open_callbacks.pop(query_id)
            answer = {"callback_query_id": query_id, "data": data}
            answer.update({k: params[k] for k in ("text", "show_alert", "url") if k in params})
            self._answered.append(answer)
        return True

    def _api_sendChatAction(self, params, client_gone):
        return True

    def _api_sendInvoice(self, params, client_gone):
        invoice = {key: params.get(key) for key in ("title", "description", "currency")}
        invoice["start_parameter"] = params.get("start_parameter") or ""
        invoice["total_amount"] = sum(price["amount"] for price in params.get("prices") or [])
        return self._bot_message(params, invoice=invoice)

    def _api_answerPreCheckoutQuery(self, params, client_gone):
        return True

    def _api_refundStarPayment(self, params, client_gone):
        with self._lock:
            charge = self._charges.get(params.get("telegram_payment_charge_id"))
            if charge is None or charge["user_id"] != params.get("user_id"):
                raise ApiError(400, "Bad Request: CHARGE_NOT_FOUND")
            if charge["refunded"]:
                raise ApiError(400, "Bad Request: CHARGE_ALREADY_REFUNDED")
            charge["refunded"] = True
        return True

    # -- chats and updates (callers hold the lock)

    def _bot_message(self, params, **content):
        markup = params.get("reply_markup")
        check_markup(markup)
        with self._lock:
            message = self._new_message(params.get("chat_id"), self.bot_user, **content)
            # Telegram echoes inline keyboards only; a reply keyboard lives on the client.
            if markup and "inline_keyboard" in markup:
                message["reply_markup"] = markup
            return copy.deepcopy(message)

    def _new_message(self, chat_id, sender, **content):
        chat = self._chat(chat_id)
        message_id = chat["next_id"]
        chat["next_id"] += 1
        message = {"message_id": message_id, "from": dict(sender), "date": int(time.time())}
        message["chat"] = self._chat_object(_as_chat_id(chat_id))
        message.update({key: value for key, value in content.items() if value})
        chat["messages"][message_id] = message
        return message

    def _edit(self, params, field, **content):
        if params.get("inline_message_id"):
            return True
        markup = params.get("reply_markup")
        check_markup(markup)

        with self._lock:
            message = self._chat(params.get("chat_id"))["messages"].get(params.get("message_id"))
            if message is None:
                raise ApiError(400, "Bad Request: message to edit not found")
            if field and field not in message:
                raise ApiError(400, f"Bad Request: there is no {field} in the message to edit")

            kept = {k: v for k, v in message.items() if k not in content and k != "reply_markup"}
            edited = {**kept, **{key: value for key, value in content.items() if value}}
            if markup and "inline_keyboard" in markup:
                edited["reply_markup"] = markup
            if _content(edited) == _content(message):
                raise ApiError(400, NOT_MODIFIED)

            edited["edit_date"] = int(time.time())
            message.clear()
            message.update(edited)
            return copy.deepcopy(message)

    def _chat(self, chat_id):
        return self._chats.setdefault(_as_chat_id(chat_id), {"next_id": 1, "messages": {}})

    def _chat_object(self, chat_id):
        if isinstance(chat_id, int) and chat_id < 0:
            kind = "supergroup" if str(chat_id).startswith("-100") else "group"
            return {"id": chat_id, "type": kind, "title": "Flat hunters"}
        user = self._users.get(chat_id, {"first_name": "Rita", "username": "renter"})
        names = {key: user[key] for key in ("first_name", "username") if key in user}
        return {"id": chat_id, "type": "private", **names}

    def _introduce(self, user_id, username, first_name, language_code):
        user = {"id": user_id, "is_bot": False, "first_name": first_name}
        user.update(username=username, language_code=language_code)
        self._users[user_id] = user
        return user

    def _press(self, chat_id, message_id, callback_data, user_id):
        with self._lock:
            message = self._chat(chat_id)["messages"].get(message_id)
            assert message is not None, f"chat {chat_id} has no message {message_id}"

            self._next_query_id += 1
            query_id = str(self._next_query_id)
            self._open_callbacks[query_id] = callback_data
            user = self._users.get(user_id) or self._introduce(user_id, "renter", "Rita", "en")
            query = {"id": query_id, "from": user, "message": copy.deepcopy(message)}
            query.update(chat_instance=str(abs(hash(chat_id))), data=callback_data)
            return self._queue_update({"callback_query": query})

    def _queue_update(self, content):
        with self._lock:
            update = {"update_id": self._next_update_id, **copy.deepcopy(content)}
            self._next_update_id += 1
            self._updates.append(update)
            self._update_queued.notify_all()
            return copy.deepcopy(update)

    def _confirm_updates(self, offset):
        if offset < 0:
            del self._updates[:offset]
        elif offset:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]

    def _deliverable(self, params):
        allowed = params.get("allowed_updates")
        return [u for u in self._updates if not allowed or _update_type(u) in allowed]

    def _latest_with_button(self, chat_id, matches):
        for message in reversed(self.messages(chat_id)):
            if any(map(matches, inline_buttons(message))):
                return message
        return None

    def _formatted(self, params, field, *, limit):
        """The text as the user sees it and its entities, or Telegram's 400 for bad input."""
        raw = params.get(field) or ""
        if (params.get("parse_mode") or "").upper() == "HTML":
            try:
                text, entities = parse_html(raw)
            except MarkupError as error:
                raise ApiError(400, "Bad Request: can't parse entities: " + str(error)) from None
        else:
            text, entities = (
                raw,
                params.get("caption_entities" if field == "caption" else "entities"),
            )

        if utf16_len(text) > limit:
            too_long = (
                "message caption is too long" if field == "caption" else "message is too long"
            )
            raise ApiError(400, "Bad Request: " + too_long)
        return text, entities or None

    def _commands_key(self, params):
        return json.dumps([params.get("scope"), params.get("language_code")], sort_keys=True)

    def _buttons_summary(self, chat_id):
        lines = [f"{m['text'][:40]!r}: {m['buttons']}" for m in self.messages(chat_id)]
        return "buttons in the chat:\n  " + ("\n  ".join(lines) or "(no bot messages)")

    def _recent_calls(self):
        with self._lock:
            recent = self.calls[-12:]
        return "\n".join("  " + describe(call) for call in recent) or "  (none)"


# -- message helpers


def inline_buttons(message):
    rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
    return [button for row in rows for button in row]


def buttons_of(message):
    """Every inline button as (text, callback_data or url), row by row."""
    return [
        (button.get("text", ""), button.get("callback_data") or button.get("url"))
        for button in inline_buttons(message)
    ]


def as_seen(message):
    seen = copy.deepcopy(message)
    seen["text"] = message.get("text") or message.get("caption") or ""
    seen["buttons"] = buttons_of(message)
    return seen


def check_markup(markup):
    for row in (markup or {}).get("inline_keyboard") or []:
        for button in row:
            data = button.get("callback_data")
            if data is not None and not 1 <= len(data.encode()) <= 64:
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")


def photo_sizes(photo):
    seed = abs(hash(json.dumps(photo, sort_keys=True, default=str))) % 10**8
    return [
        {"file_id": f"AgAC{seed}-{width}", "file_unique_id": f"AQAD{seed}{width}",
         "width": width, "height": width * 3 // 4, "file_size": width * 90}
        for width in (90, 320, 800)
    ]  # fmt: skip


def describe(call):
    text = call.params.get("text") or call.params.get("caption") or ""
    outcome = "open" if call.response is None else "ok"
    if call.response and not call.response["ok"]:
        outcome = f"{call.response['error_code']} {call.response['description']}"
    return f"{call.method} chat={call.chat_id} {str(text)[:50]!r} → {outcome}"


def _content(message):
    keys = ("text", "caption", "entities", "caption_entities", "reply_markup")
    return {key: message.get(key) for key in keys}


def _update_type(update):
    return next(key for key in update if key != "update_id")


def _as_chat_id(value):
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
        return int(value)
    return value


# -- HTTP


class _BotApiHandler(BaseHTTPRequestHandler):
    # Headers and body go out in separate writes; without this the client's delayed ACK
    # holds the body back about 40 ms.
    disable_nagle_algorithm = True
    protocol_version = "HTTP/1.1"  # keep-alive, as PTB's connection pool expects

    def do_POST(self):
        self._answer()

    def do_GET(self):
        self._answer()

    def _answer(self):
        url = urlsplit(self.path)
        try:
            params = dict(_decoded(parse_qsl(url.query)))
            params.update(self._body_params())
        except ValueError:
            return self._send({"ok": False, "error_code": 400, "description": "Bad Request"})
        payload = self.server.owner.answer(url.path, params, self._client_gone)
        if payload is None:
            self.close_connection = True
        else:
            self._send(payload)

    def _body_params(self):
        body = _read_body(self)
        content_type = self.headers.get("Content-Type", "")
        if not body:
            return {}
        if content_type.startswith("application/json"):
            return json.loads(body)
        if content_type.startswith("multipart/form-data"):
            return dict(_multipart_fields(body, content_type))
        return dict(_decoded(parse_qsl(body.decode(), keep_blank_values=True)))

    def _send(self, payload):
        body = json.dumps(payload, ensure_ascii=False).encode()
        try:
            self.send_response(200 if payload["ok"] else payload["error_code"])
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            self.close_connection = True  # the client gave up waiting

    def _client_gone(self):
        """Whether the client hung up while we held its request."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and not self.connection.recv(1, socket.MSG_PEEK)
        except (OSError, ValueError):
            return True

    def log_message(self, format, *args):
        pass  # request lines carry the bot token


def _read_body(handler):
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        chunks = []
        while size := int(handler.rfile.readline().split(b";")[0], 16):
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
        handler.rfile.readline()
        return b"".join(chunks)
    return handler.rfile.read(int(handler.headers.get("Content-Length") or 0))


def _multipart_fields(body, content_type):
    """Form fields decoded like urlencoded ones; uploaded files as a short description."""
    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    form = BytesParser(policy=policy.HTTP).parsebytes(head + body)
    for part in form.iter_parts():
        name = part.get_param("name", header="content-disposition")
        data = part.get_payload(decode=True) or b""
        if part.get_filename() is None:
            yield from _decoded([(name, data.decode())])
        else:
            yield name, {"filename": part.get_filename(), "size": len(data),
                         "content_type": part.get_content_type()}  # fmt: skip


def _decoded(pairs):
    """Form values as Telegram reads them: JSON for objects, lists and flags, ints for ids."""
    for name, value in pairs:
        yield name, _decoded_value(name, value)


def _decoded_value(name, value):
    if name in FREE_TEXT_FIELDS:
        return value
    if name in INTEGER_FIELDS and re.fullmatch(r"-?\d+", value):
        return int(value)
    if value[:1] in ("{", "[") or value in ("true", "false", "null"):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value
