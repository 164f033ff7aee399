"""The supervisor: a crashing component restarts with backoff, a stop request is prompt."""

import logging
import threading
import time

import pytest

from runtime import components
from runtime.components import Component
from runtime.models import Heartbeat


class CrashesTwiceThenRuns(Component):
    name = "flaky"

    def __init__(self):
        super().__init__()
        self.runs = 0
        self.running = threading.Event()

    async def run(self):
        self.runs += 1
        if self.runs <= 2:
            raise RuntimeError(f"crash number {self.runs}")
        self.running.set()
        await self.beat()
        while not await self.wait(10):
            pass


class Idle(Component):
    name = "idle"

    async def run(self):
        while not await self.wait(10):
            pass


def start(component):
    thread = threading.Thread(target=component.run_in_this_thread, daemon=True)
    thread.start()
    return thread


@pytest.mark.django_db(transaction=True)
def test_a_crashed_component_is_logged_and_restarted_while_others_keep_running(
    monkeypatch, caplog
):
    monkeypatch.setattr(components, "FIRST_BACKOFF_SECONDS", 0.05)
    flaky, idle = CrashesTwiceThenRuns(), Idle()
    threads = [start(flaky), start(idle)]

    assert flaky.running.wait(10), "the component was not restarted"
    flaky.request_stop()
    idle.request_stop()
    for thread in threads:
        thread.join(5)

    assert not any(thread.is_alive() for thread in threads)
    assert flaky.runs == 3
    crashes = [r for r in caplog.records if r.levelno == logging.ERROR and "crashed" in r.message]
    assert len(crashes) == 2
    assert all(r.exc_info and "crash number" in str(r.exc_info[1]) for r in crashes)
    assert Heartbeat.objects.get(component="flaky").restarts == 2


@pytest.mark.django_db(transaction=True)
def test_a_stop_request_interrupts_a_long_wait_at_once():
    idle = Idle()
    thread = start(idle)
    time.sleep(0.2)  # let it enter its ten-second wait

    asked = time.monotonic()
    idle.request_stop()
    thread.join(5)

    assert not thread.is_alive()
    assert time.monotonic() - asked < 2
