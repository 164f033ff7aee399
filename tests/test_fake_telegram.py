"""The fake Bot API answers the real python-telegram-bot client the way Telegram does."""

import asyncio
import threading
import time
from datetime import timedelta

import pytest
import telegram
from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, ChatMigrated, Forbidden, InvalidToken, RetryAfter, TimedOut
from telegram.ext import ApplicationBuilder, CommandHandler

from tests.fakes.telegram import NOT_MODIFIED, POLL_CONFLICT, FakeTelegram

CHAT = 5551001


@pytest.fixture
def api():
    with FakeTelegram() as server:
        yield server


def with_bot(api, work, **bot_options):
    """Run work(bot) with a real Bot pointed at the fake server."""

    async def run():
        async with telegram.Bot(api.token, base_url=api.base_url, **bot_options) as bot:
            return await work(bot)

    return asyncio.run(run())


def keyboard(*labels_and_data):
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data)] for label, data in labels_and_data]
    )


def test_get_me_answers_with_the_bot_user(api):
    me = with_bot(api, lambda bot: bot.get_me())

    assert me.id == api.bot_user["id"]
    assert me.username == api.bot_user["username"]
    assert me.is_bot


def test_a_sent_keyboard_shows_in_the_chat(api):
    markup = keyboard(("Pause", "p:1"), ("Delete", "d:1"))

    async def send_two(bot):
        await bot.send_message(CHAT, "First")
        return await bot.send_message(
            CHAT, "New flat: <b>2 rooms</b>", "HTML", reply_markup=markup
        )

    sent = with_bot(api, send_two)

    assert sent.message_id == 2
    assert sent.reply_markup == markup
    assert [m["text"] for m in api.messages(CHAT)] == ["First", "New flat: 2 rooms"]
    assert api.last_message(CHAT)["buttons"] == [("Pause", "p:1"), ("Delete", "d:1")]
    assert api.calls_to("sendMessage")[-1].params["reply_markup"] == markup.to_dict()


def test_editing_to_the_same_content_is_not_modified(api):
    async def edit_twice(bot):
        sent = await bot.send_message(CHAT, "Searching…", reply_markup=keyboard(("Stop", "s")))
        await bot.edit_message_text("Found 3", CHAT, sent.message_id)
        await bot.edit_message_text("Found 3", CHAT, sent.message_id)

    with pytest.raises(BadRequest, match="not modified") as raised:
        with_bot(api, edit_twice)

    assert "not modified" in raised.value.message
    assert api.calls_to("editMessageText")[-1].response["description"] == NOT_MODIFIED
    assert api.last_message(CHAT)["text"] == "Found 3"
    assert api.last_message(CHAT)["buttons"] == []  # an edit without markup drops the keyboard


@pytest.mark.parametrize(
    ("error", "raised", "check"),
    [
        (
            {"error_code": 429, "description": "Too Many Requests: retry after 3",
             "retry_after": 3},
            RetryAfter,
            lambda e: e.retry_after in (3, timedelta(seconds=3)),  # PTB_TIMEDELTA decides
        ),
        (
            {"error_code": 403, "description": "Forbidden: bot was blocked by the user"},
            Forbidden,
            lambda e: "blocked" in e.message,
        ),
        (
            {"error_code": 400, "description": "Bad Request: chat not found"},
            BadRequest,
            lambda e: e.message == "Chat not found",  # PTB tidies the prefix away
        ),
        (
            {"error_code": 400, "description": "Bad Request: group chat was upgraded to a "
             "supergroup chat", "migrate_to_chat_id": -1001234},
            ChatMigrated,
            lambda e: e.new_chat_id == -1001234,
        ),
    ],
)  # fmt: skip
def test_an_injected_error_reaches_ptb_as_its_exception(api, error, raised, check):
    api.fail_next("sendMessage", **error)

    with pytest.raises(raised) as caught:
        with_bot(api, lambda bot: bot.send_message(CHAT, "Hello"))

    assert check(caught.value)
    assert api.messages(CHAT) == []
    assert with_bot(api, lambda bot: bot.send_message(CHAT, "Hello")).text == "Hello"


def test_an_injected_error_can_target_one_chat(api):
    api.fail_next("sendMessage", error_code=403, description="Forbidden: user is deactivated",
                  chat_id=CHAT)  # fmt: skip

    async def send_to_both(bot):
        await bot.send_message(CHAT + 1, "to the other chat")
        with pytest.raises(Forbidden):
            await bot.send_message(CHAT, "to the deactivated one")

    with_bot(api, send_to_both)

    assert api.last_message(CHAT + 1)["text"] == "to the other chat"


def test_a_wrong_token_is_unauthorized(api):
    wrong = FakeTelegram(token="654321:WRONG-token-abcdefghij")

    with pytest.raises(InvalidToken):
        asyncio.run(telegram.Bot(wrong.token, base_url=api.base_url).get_me())


@pytest.mark.parametrize("text", ["Rent <1000 EUR", "<Balcony> & garden", "<b>Loft</i>"])
def test_unescaped_html_is_refused_like_telegram(api, text):
    with pytest.raises(BadRequest, match="parse entities"):
        with_bot(api, lambda bot: bot.send_message(CHAT, text, parse_mode="HTML"))

    assert api.messages(CHAT) == []


def test_a_photo_and_an_album_show_with_their_captions(api):
    async def send_photos(bot):
        await bot.send_photo(CHAT, b"\x89PNG fake bytes", caption="Ünïcode <i>caption</i>",
                             parse_mode="HTML")  # fmt: skip
        album = [
            telegram.InputMediaPhoto("http://127.0.0.1:9/a.jpg", caption="Two rooms"),
            telegram.InputMediaPhoto("http://127.0.0.1:9/b.jpg"),
        ]
        return await bot.send_media_group(CHAT, album)

    album = with_bot(api, send_photos)

    assert len(album) == 2 and album[0].media_group_id == album[1].media_group_id
    assert [m["text"] for m in api.messages(CHAT)] == ["Ünïcode caption", "Two rooms", ""]
    assert api.calls_to("sendPhoto")[0].params["photo"]["size"] == len(b"\x89PNG fake bytes")
    assert api.messages(CHAT)[0]["photo"][-1]["width"] == 800


def test_a_long_poll_wakes_when_a_user_writes(api):
    def write_soon():
        api.wait_for(lambda: api.calls_to("getUpdates"), message="the bot polls")
        api.send_message(CHAT, "hello", first_name="Ana")

    threading.Thread(target=write_soon).start()
    started = time.monotonic()
    updates = with_bot(api, lambda bot: bot.get_updates(timeout=5, read_timeout=10))

    assert time.monotonic() - started < 2
    assert [u.message.text for u in updates] == ["hello"]
    assert updates[0].message.from_user.first_name == "Ana"


def test_an_offset_confirms_the_updates_before_it(api):
    first = api.send_message(CHAT, "one")
    api.send_message(CHAT, "two")

    updates = with_bot(api, lambda bot: bot.get_updates(offset=first["update_id"] + 1))

    assert [u.message.text for u in updates] == ["two"]
    assert with_bot(api, lambda bot: bot.get_updates(limit=5))[0].message.text == "two"


def test_a_second_poller_gets_a_conflict(api):
    async def poll_from_two_bots(first_bot):
        first = asyncio.create_task(first_bot.get_updates(timeout=3, read_timeout=5))
        await asyncio.to_thread(api.wait_for, lambda: api.calls_to("getUpdates"))
        async with telegram.Bot(api.token, base_url=api.base_url) as second_bot:
            with pytest.raises(telegram.error.Conflict) as conflict:
                await second_bot.get_updates(timeout=3, read_timeout=5)
        api.send_message(CHAT, "wake the first poller")
        return conflict.value, await first

    conflict, first_updates = with_bot(api, poll_from_two_bots)

    assert conflict.message == POLL_CONFLICT
    assert len(first_updates) == 1


def test_a_held_call_that_times_out_never_takes_effect(api):
    api.hang_next("sendMessage", 0.5)

    with pytest.raises(TimedOut):
        with_bot(api, lambda bot: bot.send_message(CHAT, "lost", read_timeout=0.1))

    api.wait_for(lambda: api.calls_to("sendMessage")[0].abandoned, message="the hold ends")
    assert api.messages(CHAT) == []


def test_press_finds_the_button_by_its_label(api):
    markup = keyboard(("Set a filter", "f:new"), ("Help", "help"))
    with_bot(api, lambda bot: bot.send_message(CHAT, "Menu", reply_markup=markup))

    update = api.press(CHAT, "Set a")  # the label's first words

    assert update["callback_query"]["data"] == "f:new"
    assert update["callback_query"]["message"]["text"] == "Menu"
    query_id = update["callback_query"]["id"]
    assert with_bot(api, lambda bot: bot.answer_callback_query(query_id, text="OK"))
    assert api.answered_callbacks() == [{"callback_query_id": query_id, "data": "f:new",
                                         "text": "OK"}]  # fmt: skip
    with pytest.raises(AssertionError, match="Set a filter"):
        api.press(CHAT, "Unsubscribe", timeout=0.1)


def test_an_application_answers_start_and_stops_cleanly(api):
    async def start(update, context):
        await update.message.reply_text("hi")

    async def run_application():
        app = (
            ApplicationBuilder().token(api.token).base_url(api.base_url)
            .read_timeout(2).get_updates_read_timeout(3).build()
        )  # fmt: skip
        app.add_handler(CommandHandler("start", start))
        async with app:
            await app.start()
            await app.updater.start_polling(poll_interval=0, timeout=1)
            api.send_message(CHAT, "/start")
            await asyncio.to_thread(api.wait_for_message, CHAT, "hi")
            started = time.monotonic()
            await app.updater.stop()
            await app.stop()
        return time.monotonic() - started

    stopping_took = asyncio.run(run_application())

    assert api.last_message(CHAT)["text"] == "hi"
    assert stopping_took < 2
    polls = api.wait_for(
        lambda: all(c.response for c in api.calls_to("getUpdates")) and api.calls_to("getUpdates"),
        message="every long poll is answered",
    )
    assert all(poll.response["ok"] for poll in polls), "no poll ran into a conflict"


def test_stopping_does_not_wait_for_an_open_long_poll():
    api = FakeTelegram().start()
    outcome = []

    def poll():
        try:
            outcome.append(with_bot(api, lambda bot: bot.get_updates(timeout=30, read_timeout=40)))
        except telegram.error.NetworkError as error:  # the server went away mid-answer
            outcome.append(error)

    poller = threading.Thread(target=poll)
    poller.start()
    api.wait_for(lambda: api.calls_to("getUpdates"), message="the long poll opens")

    started = time.monotonic()
    api.stop()

    assert time.monotonic() - started < 2
    poller.join(5)
    assert not poller.is_alive()
    assert outcome in ([()], [[]]) or isinstance(outcome[0], telegram.error.NetworkError)
