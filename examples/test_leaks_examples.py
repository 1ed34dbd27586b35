"""Leaked work caught: each article's bug, the detector's message, and the fixed handler passing.

The tests marked `lambda_leaks(mode="warn")` show the leak as a `LambdaLeakWarning` (and in the
"lambda" summary section) so the demo run stays green; without the marker, in the default
`fail` mode, each of them fails at teardown with the same message.
"""

import leaky_handlers
import pytest

pytestmark = pytest.mark.filterwarnings("always::pytest_lambda_async.LambdaLeakWarning")


@pytest.mark.lambda_leaks(mode="warn")
def test_returning_an_unawaited_coroutine_is_caught(lambda_invoker, lambda_leaks):
    result = lambda_invoker.deploy(leaky_handlers.buckets_handler).invoke({})
    assert result.payload["errorType"] == "Runtime.MarshalError"
    [finding] = lambda_leaks.findings
    assert finding.kind == "awaitable-returned"
    assert finding.site.endswith("leaky_handlers.py:25")


def test_returning_the_awaited_result_passes(lambda_invoker):
    result = lambda_invoker.deploy(leaky_handlers.buckets_handler_fixed).invoke({})
    assert result.payload == ["invoices", "thumbnails"]


@pytest.mark.lambda_leaks(mode="warn")
def test_firing_a_log_call_without_await_is_caught(lambda_invoker, lambda_leaks):
    result = lambda_invoker.deploy(leaky_handlers.upload_handler).invoke({"key": "cat.png"})
    assert result.payload == {"uploaded": "cat.png"}  # looks fine; the log was never written
    [finding] = lambda_leaks.findings
    assert finding.kind == "never-awaited" and finding.name == "log_upload_to_dynamodb"
    assert finding.site.endswith("leaky_handlers.py:35")


def test_awaiting_the_log_call_passes(lambda_invoker):
    result = lambda_invoker.deploy(leaky_handlers.upload_handler_fixed).invoke({"key": "cat.png"})
    assert result.payload == {"uploaded": "cat.png"}


@pytest.mark.lambda_leaks(mode="warn")
def test_a_five_second_timer_left_behind_is_caught(lambda_invoker, lambda_leaks):
    result = lambda_invoker.deploy(leaky_handlers.timer_handler).invoke({})
    assert result.payload == "done" and "heartbeat sent" not in result.log_result
    [finding] = lambda_leaks.findings
    assert finding.kind == "callback" and "due in 5 s" in finding.what
    assert finding.site.endswith("leaky_handlers.py:47")


def test_awaiting_the_five_seconds_passes(lambda_invoker):
    result = lambda_invoker.deploy(leaky_handlers.timer_handler_fixed, timeout=10).invoke({})
    assert result.payload == "done" and "heartbeat sent" in result.log_result


@pytest.mark.lambda_leaks(mode="warn")
def test_a_create_task_left_pending_is_caught(lambda_invoker, lambda_leaks, lambda_clock):
    fn = lambda_invoker.deploy(leaky_handlers.order_handler)
    result = fn.invoke({"order": "o-1"})
    assert result.payload == {"accepted": "o-1"} and "metrics sent" not in result.log_result
    [finding] = lambda_leaks.findings
    assert finding.kind == "pending-task" and finding.name == "send_metrics"
    assert finding.site.endswith("leaky_handlers.py:64")
    # Frozen with the environment: it finishes during the next invocation that lands there.
    lambda_clock.advance(60)
    assert "metrics sent for o-1" in fn.invoke({"order": "o-2"}).log_result


def test_awaiting_the_task_passes(lambda_invoker):
    result = lambda_invoker.deploy(leaky_handlers.order_handler_fixed).invoke({"order": "o-1"})
    assert "metrics sent for o-1" in result.log_result


@pytest.mark.asyncio
async def test_an_async_test_awaits_the_invocation(lambda_invoker):
    # In an async test, `ainvoke` lets the test's own loop run while the handler does.
    result = await lambda_invoker.deploy(leaky_handlers.order_handler_fixed).ainvoke({"order": "o-3"})
    assert result.payload == {"accepted": "o-3"}
