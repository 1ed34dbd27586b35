"""The leak detector blames only handler code: threads of servers the test runs are not leaks.

A test's `ThreadingHTTPServer` and moto's `ThreadedMotoServer` start a thread per request,
while handler code waits for the answer; those threads are the servers' work, not the
handler's. Threads that handler code starts, and threads those start, still are its own.
"""

from __future__ import annotations

import pytest

SERVERS = """
import asyncio
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest
from moto.server import ThreadedMotoServer


class Hello(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"hi")

    def log_message(self, *args):
        pass


def serve(server):
    server.serve_forever(poll_interval=0.01)


@pytest.fixture
def url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hello)
    thread = threading.Thread(target=serve, args=(server,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def moto_url():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def get(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode()


def sync_get(event, context):
    return get(event["url"])


async def async_get(event, context):
    return await asyncio.get_running_loop().run_in_executor(None, get, event["url"])


def queue_names(event, context):
    sqs = boto3.client("sqs", endpoint_url=event["url"], region_name="us-east-1")
    sqs.create_queue(QueueName=f"q{event['n']}")
    return sorted(u.rsplit("/", 1)[-1] for u in sqs.list_queues()["QueueUrls"])


@pytest.mark.parametrize("handler", [sync_get, async_get])
def test_a_test_servers_request_threads_are_not_the_handlers(lambda_invoker, url, handler):
    fn = lambda_invoker.deploy(handler)
    for _ in range(5):
        assert fn.invoke({"url": url}).payload == "hi"


def test_moto_servers_threads_are_not_the_handlers(lambda_invoker, moto_url):
    fn = lambda_invoker.deploy(queue_names, timeout=30)
    for n in range(3):
        result = fn.invoke({"url": moto_url, "n": n})
        assert result.function_error is None, result.payload
    assert result.payload == ["q0", "q1", "q2"]
"""


def test_servers_threads_are_not_reported_as_leaks(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(SERVERS)
    result = pytester.runpytest_subprocess("--lambda-leaks=fail", "-p", "no:randomly", timeout=120)
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["leaks: 0"])


def test_threads_started_by_the_handlers_threads_are_still_its_leaks(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import threading

        stop = threading.Event()

        def linger():
            stop.wait(30)

        def starter():
            threading.Thread(target=linger, name="grandchild").start()

        def handler(event, context):
            child = threading.Thread(target=starter, name="child")
            child.start()
            child.join()  # the child is done; the thread it started is not
            return "ok"

        def test_leaky(lambda_invoker):
            try:
                assert lambda_invoker.deploy(handler).invoke({}).payload == "ok"
            finally:
                stop.set()
    """)
    result = pytester.runpytest_subprocess("--lambda-leaks=fail", "-p", "no:randomly", timeout=120)
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*[[]thread[]] thread 'grandchild' running linger() still alive*"])
