"""Async tests: `ainvoke`/`arun_until_idle` let the test's loop run, and gathered `ainvoke`s are
concurrent requests (own environments, throttling, overlapping simulated durations)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from pytest_lambda_async import Invoker, TooManyRequestsException, VirtualClock

# A module for pytester: a server on the test's own loop, and handlers that reach it.
SERVER_SUITE = """
import asyncio
import time
import urllib.request

import pytest
import pytest_asyncio

from pytest_lambda_async import TooManyRequestsException

pytestmark = pytest.mark.asyncio(loop_scope=LOOP_SCOPE)


@pytest_asyncio.fixture(loop_scope=LOOP_SCOPE)
async def port():
    async def answer(reader, writer):
        await reader.readuntil(b"\\r\\n\\r\\n")
        await asyncio.sleep(0.2)  # real latency, on the test's loop
        writer.write(b"HTTP/1.0 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\nhi")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()


def fetch(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as response:
        return response.read().decode()


async def calls_the_server(event, context):
    return await asyncio.get_running_loop().run_in_executor(None, fetch, event["port"])


async def one_second(event, context):
    await asyncio.sleep(1)
    return event


async def test_ainvoke_reaches_a_server_on_the_tests_loop(lambda_invoker, lambda_clock, port):
    fn = lambda_invoker.deploy(calls_the_server)
    started = lambda_clock.time()
    result = await fn.ainvoke({"port": port})
    assert (result.payload, result.function_error) == ("hi", None)
    # Simulated time followed the real wait for the server.
    assert 0.15 <= result.duration < 3.0
    assert lambda_clock.time() - started >= 0.15


async def test_arun_until_idle_reaches_a_server_on_the_tests_loop(lambda_invoker, port):
    fn = lambda_invoker.deploy(calls_the_server)
    await fn.ainvoke_async({"port": port})
    (outcome,) = await lambda_invoker.arun_until_idle()
    assert (outcome.status, outcome.payload) == ("succeeded", "hi")


async def test_gathered_ainvokes_overlap_and_the_loop_ticks(lambda_invoker, lambda_clock):
    fn = lambda_invoker.deploy(one_second)
    ticks = 0

    async def count_ticks():
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    ticker = asyncio.ensure_future(count_ticks())
    started = lambda_clock.time()
    results = await asyncio.gather(*(fn.ainvoke(n) for n in range(3)))
    ticker.cancel()
    assert [r.payload for r in results] == [0, 1, 2]
    assert lambda_clock.time() - started == 1.0
    assert len({r.environment_id for r in results}) == 3
    assert ticks > 0


async def test_gathered_ainvokes_are_throttled_past_reserved_concurrency(lambda_invoker):
    fn = lambda_invoker.deploy(one_second, reserved_concurrent_executions=2)
    results = await asyncio.gather(*(fn.ainvoke(n) for n in range(5)), return_exceptions=True)
    assert [r.payload for r in results if not isinstance(r, BaseException)] == [0, 1]
    throttled = [r for r in results if isinstance(r, BaseException)]
    assert len(throttled) == 3
    assert all(isinstance(r, TooManyRequestsException) for r in throttled)
    assert "ReservedFunctionConcurrentInvocationLimitExceeded" in str(throttled[0])
"""


@pytest.mark.parametrize("mode", ["strict", "auto"])
@pytest.mark.parametrize("loop_scope", ["function", "module"])
def test_the_tests_loop_runs_while_the_simulation_waits(
    pytester: pytest.Pytester, mode: str, loop_scope: str
) -> None:
    pytester.makepyfile(SERVER_SUITE.replace("LOOP_SCOPE", repr(loop_scope)))
    result = pytester.runpytest_subprocess(f"--asyncio-mode={mode}", "-p", "no:randomly", timeout=120)
    result.assert_outcomes(passed=4)


# -- the core, without pytest-asyncio -------------------------------------------------------------
async def one_second(event: Any, context: Any) -> Any:
    await asyncio.sleep(1)
    return event


def sleeps_one_second(event: Any, context: Any) -> Any:
    time.sleep(1)
    return event


@pytest.mark.parametrize("handler", [one_second, sleeps_one_second])
def test_gathered_ainvokes_each_take_an_environment_and_overlap(handler: Any) -> None:
    clock = VirtualClock()
    invoker = Invoker(clock)
    fn = invoker.deploy(handler)

    async def main() -> list[Any]:
        return await asyncio.gather(*(fn.ainvoke(n) for n in range(3)))

    started = clock.time()
    results = asyncio.run(main())
    invoker.close()
    assert [r.payload for r in results] == [0, 1, 2]
    assert clock.time() - started == 1.0
    assert [r.environment_id for r in results] == [f"{fn.name}#{n}" for n in (1, 2, 3)]


def test_gathered_ainvokes_inside_a_handler_overlap() -> None:
    clock = VirtualClock()
    invoker = Invoker(clock)
    inner = invoker.deploy(one_second, name="inner")

    async def outer(event: Any, context: Any) -> Any:
        started = time.time()
        results = await asyncio.gather(*(inner.ainvoke(n) for n in range(3)))
        return [time.time() - started, [r.payload for r in results]]

    result = invoker.deploy(outer, name="outer").invoke({})
    invoker.close()
    assert result.payload == [1.0, [0, 1, 2]]
    assert len({r.environment_id for r in inner.invocations}) == 3


def test_ainvoke_throttles_at_once_with_reserved_concurrency() -> None:
    clock = VirtualClock()
    invoker = Invoker(clock)
    fn = invoker.deploy(one_second, reserved_concurrent_executions=1)

    async def main() -> list[Any]:
        return await asyncio.gather(fn.ainvoke(1), fn.ainvoke(2), return_exceptions=True)

    first, second = asyncio.run(main())
    invoker.close()
    assert first.payload == 1
    assert isinstance(second, TooManyRequestsException)


def test_a_cancelled_ainvoke_leaves_the_others_running() -> None:
    clock = VirtualClock()
    invoker = Invoker(clock)
    fn = invoker.deploy(one_second)

    async def main() -> Any:
        doomed = asyncio.ensure_future(fn.ainvoke("doomed"))
        kept = asyncio.ensure_future(fn.ainvoke("kept"))
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        doomed.cancel()
        return await kept

    assert asyncio.run(main()).payload == "kept"
    invoker.close()


def test_gathered_ainvokes_inside_a_handler_are_not_leaks(lambda_invoker: Invoker) -> None:
    # The futures that the inner requests' ends resolve belong to the outer handler's awaits.
    inner = lambda_invoker.deploy(one_second, name="inner")

    async def outer(event: Any, context: Any) -> Any:
        results = await asyncio.gather(*(inner.ainvoke(n) for n in range(3)))
        return [r.payload for r in results]

    assert lambda_invoker.deploy(outer, name="outer").invoke({}).payload == [0, 1, 2]


def test_ainvoke_inside_asyncio_run_in_a_def_handler(lambda_invoker: Invoker) -> None:
    inner = lambda_invoker.deploy(one_second, name="inner")

    def outer(event: Any, context: Any) -> Any:
        async def main() -> Any:
            return [(await inner.ainvoke(n)).payload for n in range(2)]

        return asyncio.run(main())

    result = lambda_invoker.deploy(outer, name="outer").invoke({})
    assert (result.payload, result.duration) == ([0, 1], 2.0)


async def talks_to(event: Any, context: Any) -> Any:
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", event["port"]), 5)
    writer.write(b"ping\n")
    await writer.drain()
    line = await asyncio.wait_for(reader.readline(), 5)
    writer.close()
    await writer.wait_closed()
    return line.decode().strip()


def test_a_socket_to_a_server_on_the_awaiting_loop() -> None:
    # The handler's own socket (no thread): the test's loop answers it while ainvoke waits.
    clock = VirtualClock()
    invoker = Invoker(clock)
    fn = invoker.deploy(talks_to)

    async def main() -> Any:
        async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readline()
            await asyncio.sleep(0.3)
            writer.write(b"pong\n")
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(answer, "127.0.0.1", 0)
        try:
            return await fn.ainvoke({"port": server.sockets[0].getsockname()[1]})
        finally:
            server.close()
            await server.wait_closed()

    result = asyncio.run(main())
    invoker.close()
    assert (result.payload, result.function_error) == ("pong", None)
    assert 0.2 <= result.duration < 5
