"""Typed tests: `mypy --strict` accepts the plugin's context wherever a handler's is annotated."""

from __future__ import annotations

import pytest
from typed_handlers import greet, request_id

from pytest_lambda_async import Invoker, LambdaContext


@pytest.mark.lambda_function(name="greeter", timeout=5)
def test_calling_the_handler_directly(lambda_context: LambdaContext) -> None:
    assert greet({"name": "Ada"}, lambda_context) == {
        "greeting": "hello Ada from greeter", "time_left_ms": 5000,
    }


@pytest.mark.asyncio
async def test_an_async_handler_directly(lambda_context: LambdaContext) -> None:
    assert await request_id({}, lambda_context) == lambda_context.aws_request_id


def test_deployed(lambda_invoker: Invoker) -> None:
    result = lambda_invoker.deploy(greet, name="greeter").invoke({"name": "Bo"})
    assert result.payload == {"greeting": "hello Bo from greeter", "time_left_ms": 3000}
    answer = lambda_invoker.deploy(request_id, name="ids").invoke({})
    assert answer.payload == answer.request_id
