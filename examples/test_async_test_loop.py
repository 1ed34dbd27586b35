"""Async tests: the test's own event loop keeps running while handlers wait on it.

A server started on the test's loop (`asyncio.start_server`, an aiohttp test server, a
fixture's task) answers the handler, and gathered `ainvoke`s are concurrent requests, as on
AWS: each gets its own environment, reserved concurrency throttles the rest, and their
simulated durations overlap.
"""

import asyncio
import urllib.request

import pytest
import pytest_asyncio

from pytest_lambda_async import TooManyRequestsException


@pytest_asyncio.fixture
async def prices_url():
    async def answer(reader, writer):
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.0 200 OK\r\nContent-Length: 4\r\n\r\n9.90")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
    server.close()
    await server.wait_closed()


def get(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode()


async def quote(event, context):
    price = await asyncio.get_running_loop().run_in_executor(None, get, event["url"])
    return {"price": price}


@pytest.mark.asyncio
async def test_a_server_on_the_tests_loop_answers_the_handler(lambda_invoker, prices_url):
    result = await lambda_invoker.deploy(quote).ainvoke({"url": prices_url})
    assert result.payload == {"price": "9.90"}


async def checkout(event, context):
    await asyncio.sleep(2)  # a 2-second call to a payment provider
    return event["order"]


@pytest.mark.asyncio
async def test_gathered_requests_run_concurrently(lambda_invoker, lambda_clock):
    fn = lambda_invoker.deploy(checkout, reserved_concurrent_executions=3)
    started = lambda_clock.time()
    results = await asyncio.gather(
        *(fn.ainvoke({"order": n}) for n in range(5)), return_exceptions=True
    )
    served = [r.payload for r in results if not isinstance(r, Exception)]
    throttled = [r for r in results if isinstance(r, TooManyRequestsException)]
    assert (served, len(throttled)) == ([0, 1, 2], 2)
    assert lambda_clock.time() - started == 2.0  # three 2-second requests side by side
