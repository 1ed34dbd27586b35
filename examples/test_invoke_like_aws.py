"""What a synchronous invoke returns, exactly as the AWS Python runtime would.

Each test shows one behaviour of the runtime that a hand-made `handler(event, FakeContext())`
call gets wrong: marshalling, error payloads, timeouts, and `async def` handlers.
"""

import asyncio
import datetime
import decimal

import pytest


def test_return_value_is_marshalled_as_the_runtime_does(lambda_invoker):
    fn = lambda_invoker.deploy(lambda event, context: {"price": decimal.Decimal("9.90")})
    assert fn.invoke({}).raw_payload == b'{"price": 9.90}'


def test_a_datetime_in_the_response_is_a_marshal_error(lambda_invoker):
    fn = lambda_invoker.deploy(lambda event, context: {"at": datetime.datetime(2026, 1, 1)})
    result = fn.invoke({})
    assert result.function_error == "Unhandled"
    assert result.payload["errorType"] == "Runtime.MarshalError"
    assert result.payload["errorMessage"] == (
        "Unable to marshal response: Object of type datetime is not JSON serializable"
    )


def charge(event, context):
    raise PermissionError("card declined")


def test_an_exception_becomes_lambdas_error_payload(lambda_invoker):
    result = lambda_invoker.deploy(charge).invoke({"card": "4111"})
    assert result.function_error == "Unhandled"
    assert result.payload["errorType"] == "PermissionError"
    assert result.payload["errorMessage"] == "card declined"
    assert "[ERROR] PermissionError: card declined" in result.log_result


async def slow_report(event, context):
    await asyncio.sleep(5)  # five simulated seconds, against a 3-second timeout
    return "done"


def test_a_timeout_is_reached_in_simulated_time(lambda_invoker):
    result = lambda_invoker.deploy(slow_report).invoke({})
    assert result.payload["errorType"] == "Sandbox.Timedout"
    assert result.payload["errorMessage"].endswith("Task timed out after 3.00 seconds")


@pytest.mark.lambda_function(strict=True)
@pytest.mark.lambda_leaks(ignore=["awaitable-returned"])  # the coroutine AWS never runs
def test_strict_runtime_shows_what_aws_does_with_an_async_def_handler(lambda_invoker):
    # The AWS Python runtime never awaits: deployed as-is, this handler always fails.
    result = lambda_invoker.deploy(slow_report).invoke({})
    assert result.payload["errorMessage"] == (
        "Unable to marshal response: Object of type coroutine is not JSON serializable"
    )
