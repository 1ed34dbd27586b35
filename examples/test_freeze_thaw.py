"""Freeze and thaw: a timer the handler did not await fires in the *next* invocation.

Python port of the Node.js case in "Lambda and the Node.js event loop": the handler starts a
5-second timer and returns without awaiting it. Lambda freezes the environment with the timer
pending; when the next request lands in the same (warm) environment, the overdue timer fires
first, and its message appears in that next request's log.
"""

import asyncio

import pytest


def timeout(ms):
    print("timeout start")
    loop = asyncio.get_running_loop()
    done = loop.create_future()

    def fired():
        print(f"timeout cb fired after {ms} ms")
        done.set_result(None)

    loop.call_later(ms / 1000, fired)
    return done


async def main(event, context):
    print("main start")
    timeout(5000)  # the bug: not awaited
    print("main end")


async def main_fixed(event, context):
    print("main start")
    await timeout(5000)
    print("main end")


def lines(log_result):
    platform = ("START", "END", "REPORT", "INIT")
    return [line for line in log_result.splitlines() if not line.startswith(platform)]


# This test demonstrates what Lambda does with the leaked timer, so the leak detector is
# switched off for it; examples/test_leaks_examples.py shows the detector catching it.
@pytest.mark.lambda_leaks(mode="off")
@pytest.mark.lambda_warm_start
def test_unawaited_timer_fires_at_the_start_of_the_next_invocation(lambda_invoker, lambda_clock):
    fn = lambda_invoker.deploy(main, name="timeout-demo")

    first = fn.invoke({})
    print("first run: ", lines(first.log_result))
    assert lines(first.log_result) == ["main start", "timeout start", "main end"]

    lambda_clock.advance(6)  # the environment is frozen: nothing runs while time passes
    second = fn.invoke({})
    print("second run:", lines(second.log_result))
    assert lines(second.log_result) == [
        "timeout cb fired after 5000 ms",  # the first request's timer, thawed
        "main start", "timeout start", "main end",
    ]


def test_awaiting_the_timer_keeps_each_request_to_itself(lambda_invoker):
    fn = lambda_invoker.deploy(main_fixed, name="timeout-fixed", timeout=10)
    result = fn.invoke({})
    assert lines(result.log_result) == [
        "main start", "timeout start", "timeout cb fired after 5000 ms", "main end",
    ]
    assert result.duration == 5.0
