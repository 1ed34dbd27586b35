"""Invoking from several threads at once: each invocation runs with the process to itself
(the simulation is entered by one thread at a time), the process is restored afterwards, and
what counts as handler code (simulated time, log routing) is decided per thread."""

from __future__ import annotations

import pytest

THREADS_SUITE = """
import asyncio
import os
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

BEFORE = {}


def environ():
    return {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}


def test_remember_the_process():
    BEFORE.update(environ=environ(), stdout=sys.stdout, tmp=tempfile.gettempdir())


async def async_handler(event, context):
    await asyncio.sleep(0.5)
    print("handled", event)
    return [os.environ["AWS_LAMBDA_FUNCTION_NAME"], tempfile.gettempdir()]


def sync_handler(event, context):
    time.sleep(0.5)
    print("handled", event)
    return [os.environ["AWS_LAMBDA_FUNCTION_NAME"], tempfile.gettempdir()]


@pytest.mark.parametrize("handler", [async_handler, sync_handler])
def test_invokes_from_four_threads(lambda_invoker, handler):
    fn = lambda_invoker.deploy(handler, name="worker")

    def five(n):
        return [fn.invoke({"thread": n, "i": i}) for i in range(5)]

    with ThreadPoolExecutor(4) as pool:
        results = [r for batch in pool.map(five, range(4)) for r in batch]
    assert len(results) == 20
    assert all(r.function_error is None and r.payload[0] == "worker" for r in results)
    assert all(r.payload[1] != BEFORE["tmp"] for r in results)  # each had its own /tmp
    # Each invocation's log holds its own line only.
    for r in results:
        lines = [line for line in r.log_result.splitlines() if line.startswith("handled")]
        assert len(lines) == 1
    # Nothing of Lambda's is left in the process while the test goes on.
    assert "AWS_LAMBDA_FUNCTION_NAME" not in os.environ
    assert sys.stdout is BEFORE["stdout"]
    assert tempfile.gettempdir() == BEFORE["tmp"]


def test_the_calling_threads_time_is_untouched(lambda_invoker):
    inside = threading.Event()
    release = threading.Event()

    def handler(event, context):
        time.sleep(600)  # ten minutes of simulated time
        inside.set()
        release.wait(10)  # a real wait, inside handler code, on the worker thread
        return "ok"

    fn = lambda_invoker.deploy(handler, timeout=900)
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(fn.invoke, {})
        assert inside.wait(10)
        try:
            first = time.monotonic()
            # Real time on this thread, while handler code on the worker sees simulated time.
            assert time.time() < lambda_invoker.clock.time() - 500
            deadline = first + 5
            while time.monotonic() == first and time.monotonic() < deadline:
                pass
            assert time.monotonic() > first
            print("test's own line")
        finally:
            release.set()
        result = future.result()
    assert result.payload == "ok"
    assert "test's own line" not in result.log_result


def test_the_process_is_restored(lambda_invoker):
    assert environ() == BEFORE["environ"]
    assert sys.stdout is BEFORE["stdout"]
    assert tempfile.gettempdir() == BEFORE["tmp"]
    # A later test still gets working environments.
    assert lambda_invoker.deploy(lambda event, context: 1).invoke({}).payload == 1
"""


def test_invoking_from_several_threads(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(THREADS_SUITE)
    for _ in range(3):  # the failures this guards against came in about half of the runs
        result = pytester.runpytest_subprocess("-p", "no:randomly", timeout=120)
        result.assert_outcomes(passed=5)


# -- requests made from threads while another thread runs the simulation ----------------------
import asyncio  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import urllib.request  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer  # noqa: E402
from typing import Any  # noqa: E402

from pytest_lambda_async import Invoker  # noqa: E402


async def doubles(event: Any, context: Any) -> Any:
    await asyncio.sleep(1)
    return event * 2


def test_a_def_handler_fanning_out_over_a_thread_pool(lambda_invoker: Invoker) -> None:
    leaf = lambda_invoker.deploy(doubles, name="leaf")

    def fan_out(event: Any, context: Any) -> Any:
        with ThreadPoolExecutor(4) as pool:
            return list(pool.map(lambda n: leaf.invoke(n).payload, range(4)))

    started = time.monotonic()
    result = lambda_invoker.deploy(fan_out, name="fan").invoke({})
    assert result.payload == [0, 2, 4, 6]
    assert 1.0 <= result.duration < 1.5  # the four overlapped
    assert time.monotonic() - started < 5


def test_an_async_handler_fanning_out_over_executor_threads(lambda_invoker: Invoker) -> None:
    leaf = lambda_invoker.deploy(doubles, name="leaf")

    async def fan_out(event: Any, context: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await asyncio.gather(*(
            loop.run_in_executor(None, lambda n=n: leaf.invoke(n).payload) for n in range(4)
        ))

    result = lambda_invoker.deploy(fan_out, name="fan").invoke({})
    assert result.payload == [0, 2, 4, 6]
    assert 1.0 <= result.duration < 1.5  # the four overlapped (plus the threads' real time)


def test_a_server_thread_invoking_while_the_handler_waits_for_it(lambda_invoker: Invoker) -> None:
    # As moto's ThreadedMotoServer does when a handler calls Lambda's Invoke API through it.
    leaf = lambda_invoker.deploy(doubles, name="leaf")

    class Invoking(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = str(leaf.invoke(21).payload).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Invoking)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"

    def get() -> str:
        with urllib.request.urlopen(url, timeout=10) as response:
            return str(response.read().decode())

    async def calls_the_server(event: Any, context: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(None, get)

    try:
        result = lambda_invoker.deploy(calls_the_server, name="caller").invoke({})
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert (result.payload, result.function_error) == ("42", None)
    assert [r.payload for r in leaf.invocations] == [42]
