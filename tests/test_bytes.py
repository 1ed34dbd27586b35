"""Bytes events and responses: AWS's answers, and nothing internal leaving the queue.

Expected messages for bodies that are not UTF-8: LocalStack's AWS-validated recording
(tests/aws/services/lambda_/test_lambda.snapshot.json,
TestLambdaErrors::test_lambda_invoke_payload_encoding_error).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from pytest_lambda_async import InvalidRequestContentException, Invoker

LOCATION = ("\n at [Source: REDACTED (`StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION` disabled); "
            "line: 1, column: {}]")
PREFIX = "Could not parse request body into json: Could not parse payload into json: "
EXPECTED = ("(JSON String, Number, Array, Object or token 'null', 'true' or 'false')")
RECORDED = {
    b"n\x87r\x9e\xe9\xb5\xd7I\xee\x9bmt": PREFIX + "Invalid UTF-8 start byte 0x87" + LOCATION.format(3),
    b"\x99\xeb,j\x07\xa1zYh": PREFIX + "Unexpected character ((CTRL-CHAR, code 153)): expected a "
    "valid value " + EXPECTED + LOCATION.format(1),
    b"not json": PREFIX + "Unrecognized token 'not': was expecting " + EXPECTED + LOCATION.format(4),
}


def echo(event: Any, context: Any) -> Any:
    return event


@pytest.mark.parametrize("body", RECORDED)
@pytest.mark.parametrize("how", ["invoke", "invoke_async"])
def test_a_body_that_is_not_json_is_invalid_request_content(
    lambda_invoker: Invoker, body: bytes, how: str
) -> None:
    fn = lambda_invoker.deploy(echo, dead_letter_target=lambda_invoker.sink("dlq"),
                               on_failure=lambda_invoker.sink("failed"))
    with pytest.raises(InvalidRequestContentException) as raised:
        getattr(fn, how)(body)
    assert raised.value.status_code == 400
    assert raised.value.aws_message == RECORDED[body]
    assert fn.invocations == [] and fn.unfinished() == []
    assert lambda_invoker.run_until_idle() == []


def test_bytes_that_are_json_are_the_event(lambda_invoker: Invoker) -> None:
    fn = lambda_invoker.deploy(echo)
    assert fn.invoke(b'{"a": [1, "\xc3\xa9"]}').payload == {"a": [1, "é"]}
    assert fn.invoke(b"").payload == {}  # an empty payload is {}, as the Invoke API takes it
    fn.invoke_async(b"[1, 2]")
    [outcome] = lambda_invoker.run_until_idle()
    assert outcome.payload == [1, 2]


def test_the_runtime_function_is_reusable() -> None:
    from pytest_lambda_async.runtime import invalid_request_content

    assert invalid_request_content(b"{}") is None
    error = invalid_request_content(b"\x99")
    assert isinstance(error, InvalidRequestContentException)
    assert "Fix: an event given as bytes must be JSON text in UTF-8" in str(error)


async def async_bytes(event: Any, context: Any) -> bytes:
    await asyncio.sleep(1)
    return bytes.fromhex(event["hex"])


def def_bytes(event: Any, context: Any) -> bytes:
    return bytes.fromhex(event["hex"])


@pytest.mark.parametrize("handler", [async_bytes, def_bytes])
def test_a_response_that_is_not_utf8_is_a_marshal_error_everywhere(
    lambda_invoker: Invoker, handler: Any
) -> None:
    ok, failed, dlq = (lambda_invoker.sink(n) for n in ("ok", "failed", "dlq"))
    fn = lambda_invoker.deploy(handler, on_success=ok, on_failure=failed, dead_letter_target=dlq,
                               maximum_retry_attempts=0)
    event = {"hex": "6e87729e"}
    result = fn.invoke(event)
    assert result.function_error == "Unhandled"
    assert result.payload["errorType"] == "Runtime.MarshalError"
    assert result.payload["errorMessage"].startswith(
        "Unable to marshal response: 'utf-8' codec can't decode byte 0x87 in position 1")
    fn.invoke_async(event)
    [outcome] = lambda_invoker.run_until_idle()
    assert outcome.condition == "RetriesExhausted"
    assert ok.records == []
    [record] = failed.records
    assert record["responsePayload"]["errorType"] == "Runtime.MarshalError"
    assert dlq.records[0]["body"] == event


@pytest.mark.parametrize("handler", [async_bytes, def_bytes])
def test_a_utf8_response_that_is_not_json_reaches_on_success_as_text(
    lambda_invoker: Invoker, handler: Any
) -> None:
    ok = lambda_invoker.sink("ok")
    fn = lambda_invoker.deploy(handler, on_success=ok)
    assert fn.invoke({"hex": "00726177"}).raw_payload == b"\x00raw"
    fn.invoke_async({"hex": "00726177"})
    [outcome] = lambda_invoker.run_until_idle()
    assert outcome.condition == "Success"
    assert ok.records[0]["responsePayload"] == "\x00raw"
