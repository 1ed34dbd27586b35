"""Hook specifications other plugins can implement to observe the simulation."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.hookspec
def pytest_lambda_async_invocation(item: pytest.Item, invocation: dict[str, Any]) -> None:
    """Called after each invocation (sync or one attempt of an async event) ends.

    `invocation` has: function, type ("RequestResponse" or "Event"), request_id, attempt,
    environment, cold_start, start (simulated epoch seconds), duration, status, error_type.
    """


@pytest.hookspec
def pytest_lambda_async_outcome(item: pytest.Item, function: str, outcome: Any) -> None:
    """Called when an async event reaches its one `Outcome` (success, or final failure)."""


@pytest.hookspec
def pytest_lambda_async_leak(item: pytest.Item, finding: Any) -> None:
    """Called for each leaked-work finding, before the leak mode decides what to do with it."""
