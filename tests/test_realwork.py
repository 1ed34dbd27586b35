"""What counts as real work in flight (pytest_lambda_async/realwork.py), on a loop of its own."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections.abc import Iterator

import pytest

from pytest_lambda_async import VirtualClock
from pytest_lambda_async.deadline import RunningHandler
from pytest_lambda_async.loop import VirtualEventLoop
from pytest_lambda_async.realwork import busy_threads, thread_waits
from tests.real_servers import line_server


@pytest.fixture
def loop() -> Iterator[VirtualEventLoop]:
    loop = VirtualEventLoop(VirtualClock())
    yield loop
    loop.close()


def test_a_connection_is_in_flight_from_its_send_until_the_reply_and_idle_after(
    loop: VirtualEventLoop,
) -> None:
    seen: dict[str, object] = {}

    async def main(port: int) -> None:
        server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        seen["listening"] = loop.real_work()
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        seen["connected"] = loop.real_work()
        writer.write(b"ping\n")
        seen["sent"] = loop.real_work()
        assert await reader.readline() == b"pong ping\n"
        # The reply is read and nothing awaits the connection: at rest, as a pooled keep-alive
        # connection is between requests.
        seen["replied"] = loop.real_work()
        writer.write(b"again\n")
        waiting = asyncio.ensure_future(reader.readexactly(100))  # more than the reply holds
        while not reader._buffer:  # type: ignore[attr-defined]
            await asyncio.sleep(0.001)  # in real time: the connection awaits its reply
        # Part of a reply came, and a task awaits the rest.
        seen["rest awaited"] = loop.real_work()
        waiting.cancel()
        await asyncio.sleep(0)
        seen["only a sleep"] = loop.real_work()
        writer.close()
        await writer.wait_closed()
        server.close()
        await server.wait_closed()

    with line_server(0.0) as server:
        loop.run_until_complete(main(server.port))
    assert seen["listening"] is None
    assert seen["connected"] is None
    assert isinstance(seen["sent"], str)
    assert seen["sent"].startswith("a reply on a connection to 127.0.0.1:")
    assert seen["replied"] is None
    assert isinstance(seen["rest awaited"], str)
    assert seen["rest awaited"].startswith("the rest of a reply on a connection to 127.0.0.1:")
    assert seen["only a sleep"] is None


def spin(release: threading.Event) -> None:
    while not release.is_set():
        time.sleep(0.005)


def test_threads_handler_code_started_count_while_they_run_not_while_parked() -> None:
    thread_waits.install()
    clock = VirtualClock()
    release = threading.Event()
    with RunningHandler(clock, deadline=clock.time() + 60, real_budget=60):
        pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="handler-pool")
        job = pool.submit(spin, release)
        stranger_pool = None
    try:
        stranger_pool = concurrent.futures.ThreadPoolExecutor(1)
        stranger = stranger_pool.submit(spin, release)
        time.sleep(0.05)
        busy = busy_threads(clock)
        # Only the handler's thread, not one the test started (the stranger's).
        assert [thread.name for thread in busy] == ["handler-pool_0"]
    finally:
        release.set()
        job.result()
        stranger.result()
    deadline = time.monotonic() + 5
    while busy_threads(clock) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert busy_threads(clock) == []  # parked between jobs
    pool.shutdown()
    assert stranger_pool is not None
    stranger_pool.shutdown()
