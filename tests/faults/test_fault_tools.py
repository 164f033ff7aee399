"""The fault suite's own tools inject the faults they claim to: a closed gate refuses
connections, a storm answers every second call 429, a grown page shows more real records, and
the ledger sees a second copy of an alert."""

import json
import urllib.error
import urllib.request

import pytest

from tests.fakes.site import FakeSite
from tests.faults.bot_api import FaultyTelegram, Gate
from tests.faults.world import GrowingPage, Ledger
from tests.pages import FIXTURES_DIR


@pytest.fixture
def faulty_telegram():
    with FaultyTelegram(latency=0) as server:
        yield server


def call(base_url, token, method, **params):
    """One Bot API call as JSON; returns (HTTP status, decoded answer)."""
    request = urllib.request.Request(
        f"{base_url}{token}/{method}",
        data=json.dumps(params).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_a_closed_gate_refuses_connections_until_it_opens_again_on_its_port(faulty_telegram):
    gate = Gate(faulty_telegram._server.server_address[1]).open()
    base = f"http://127.0.0.1:{gate.port}/bot"
    try:
        assert call(base, faulty_telegram.token, "getMe")[0] == 200
        port = gate.port

        gate.close()
        with pytest.raises(urllib.error.URLError) as refused:
            call(base, faulty_telegram.token, "getMe")
        assert isinstance(refused.value.reason, ConnectionRefusedError)

        gate.open()
        assert gate.port == port
        assert call(base, faulty_telegram.token, "getMe")[0] == 200
    finally:
        gate.close()


def test_a_storm_answers_every_second_message_429_asking_one_to_five_seconds(faulty_telegram):
    faulty_telegram.start_storm(retry_after=(1, 5))
    answers = [
        call(faulty_telegram.base_url, faulty_telegram.token, "sendMessage", chat_id=5, text="hi")
        for _ in range(10)
    ]
    faulty_telegram.stop_storm()

    assert [status for status, _ in answers] == [200, 429] * 5
    waits = [answer["parameters"]["retry_after"] for status, answer in answers if status == 429]
    assert all(1 <= seconds <= 5 for seconds in waits)
    assert len(faulty_telegram.messages(5)) == 5


def test_server_errors_answer_every_call_502_until_switched_off(faulty_telegram):
    faulty_telegram.answer_server_errors()
    assert call(faulty_telegram.base_url, faulty_telegram.token, "getMe")[0] == 502
    faulty_telegram.answer_server_errors(False)
    assert call(faulty_telegram.base_url, faulty_telegram.token, "getMe")[0] == 200


def test_a_grown_page_serves_more_of_the_real_records():
    with FakeSite(FIXTURES_DIR) as site:
        page = GrowingPage(site, "Dubai")
        page.show(3)
        with urllib.request.urlopen(page.url, timeout=5) as answer:
            served = json.loads(answer.read())
        first = page.listing_urls()
        page.show(12)

        assert len(served["hits"]) == 3
        assert len(first) == 3
        assert first < page.listing_urls()
        assert len(page.listing_urls()) == 12


def test_the_ledger_counts_each_copy_of_an_alert_a_renter_received(faulty_telegram):
    link = '<a href="https://listings.example/1">Open the listing</a>'
    for _ in range(2):
        call(
            faulty_telegram.base_url, faulty_telegram.token, "sendMessage",
            chat_id=7, text=f"Flat\n{link}", parse_mode="HTML",
        )  # fmt: skip
    call(faulty_telegram.base_url, faulty_telegram.token, "sendMessage", chat_id=7, text="Hello")

    copies = Ledger(faulty_telegram, [7]).copies()

    assert list(copies) == [(7, "https://listings.example/1")]
    assert len(copies[(7, "https://listings.example/1")]) == 2
