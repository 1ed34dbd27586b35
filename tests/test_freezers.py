"""The plugin's freezer and a test's own `freeze_time` compose in any order."""

from __future__ import annotations

import asyncio
import datetime
import time
from typing import Any

import freezegun
import freezegun.api

from pytest_lambda_async import Invoker, VirtualClock

START = 1_700_000_000.0


async def sleeps_600(event: Any, context: Any) -> list[float]:
    before = time.time()
    await asyncio.sleep(600)
    return [before, time.time()]


def reads_now(event: Any, context: Any) -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat()


def test_after_the_tests_freeze_time_ends_handler_code_reads_simulated_time() -> None:
    invoker = Invoker(VirtualClock(start=START))
    fn = invoker.deploy(sleeps_600, timeout=900)
    now = invoker.deploy(reads_now)
    try:
        with freezegun.freeze_time("2020-01-01"):
            assert now.invoke({}).payload.startswith("2020-01-01T00:00:00")
        before, after = fn.invoke({}).payload
        assert after - before == 600.0  # simulated, not the real microseconds that passed
        assert before >= START
        assert now.invoke({}).payload.startswith("2023-11-14T22:")  # the simulated clock
    finally:
        invoker.close()
    assert datetime.datetime is freezegun.api.real_datetime


def test_a_freezer_started_after_the_plugins_and_stopped_after_it() -> None:
    invoker = Invoker(VirtualClock(start=START))
    now = invoker.deploy(reads_now)
    assert now.invoke({}).payload.startswith("2023-11-14T22:")  # the plugin's freezer runs
    freezer = freezegun.freeze_time("2021-06-01")
    freezer.start()
    try:
        assert now.invoke({}).payload.startswith("2021-06-01T00:00:00")  # the test's freezer
        invoker.close()  # the plugin's freezer stops first (a fixture torn down earlier)
        assert datetime.datetime.now().year == 2021  # the test's freezer still stands
        assert time.time() == datetime.datetime(2021, 6, 1, tzinfo=datetime.timezone.utc).timestamp()
    finally:
        freezer.stop()
    # Everything is undone: a later test sees the real classes and a working freezegun.
    assert datetime.datetime is freezegun.api.real_datetime
    assert freezegun.api.freeze_factories == []
    assert freezegun.api._freeze_time.stop is freezegun.api._freeze_time.__dict__["stop"]
    with freezegun.freeze_time("2019-01-01"):
        assert datetime.datetime.now().year == 2019
    assert datetime.datetime is freezegun.api.real_datetime
    assert abs(time.time() - time.monotonic()) > 0  # real functions back


def test_a_freezer_started_after_the_plugins_and_stopped_in_order() -> None:
    invoker = Invoker(VirtualClock(start=START))
    now = invoker.deploy(reads_now)
    now.invoke({})
    with freezegun.freeze_time("2022-02-02"):
        assert now.invoke({}).payload.startswith("2022-02-02")
    assert now.invoke({}).payload.startswith("2023-11-14T22:")
    invoker.close()
    assert datetime.datetime is freezegun.api.real_datetime
    assert freezegun.api.freeze_factories == []
