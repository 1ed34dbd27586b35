"""Handlers annotated the way typed code bases annotate them (checked by `mypy --strict` in CI).

One uses Powertools' `LambdaContext`, one aws-lambda-typing's `Context`. The tests in
test_typed_handlers.py hand them the plugin's context with no cast.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from aws_lambda_typing.context import Context


def greet(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Powertools-annotated: reads the function's name and the time left."""
    return {
        "greeting": f"hello {event['name']} from {context.function_name}",
        "time_left_ms": context.get_remaining_time_in_millis(),
    }


async def request_id(event: dict[str, Any], context: Context) -> str:
    """aws-lambda-typing-annotated, and async."""
    return context.aws_request_id
