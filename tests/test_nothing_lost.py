"""Nothing lost where features meet: cold starts with async handlers, loops closed only once
stopped, and the simulation entered again from handler code."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from pytest_lambda_async import EnvironmentSettings, Invoker, VirtualClock


async def async_echo(event: Any, context: Any) -> Any:
    await asyncio.sleep(1)
    return event


def cold_invoker() -> Invoker:
    return Invoker(VirtualClock(), environments=EnvironmentSettings(reuse="never"))


def test_cold_start_async_handler_loses_no_async_event(caplog: pytest.LogCaptureFixture) -> None:
    invoker = cold_invoker()
    fn = invoker.deploy(async_echo)
    accepted = [fn.invoke_async({"n": n}) for n in range(3)]
    outcomes = invoker.run_until_idle()
    assert sorted(o.request_id for o in outcomes) == sorted(a.request_id for a in accepted)
    assert {o.condition for o in outcomes} == {"Success"}
    assert invoker.unfinished() == {}
    invoker.close()
    assert "Cannot close a running event loop" not in caplog.text


def test_cold_start_sync_invoke_closes_the_loop_and_logs_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    invoker = cold_invoker()
    fn = invoker.deploy(async_echo)
    for n in range(2):
        result = fn.invoke({"n": n})
        assert result.payload == {"n": n}
        assert "Cannot close a running event loop" not in result.log_result
        assert result.log_result.rstrip().splitlines()[-1].startswith("REPORT RequestId:")
    loops = [loop for env in fn.environments for loop in [env.policy.environment_loop]]
    assert len(loops) == 2
    assert all(loop is not None and loop.is_closed() for loop in loops)
    invoker.close()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.lambda_cold_start
def test_lambda_cold_start_marker_with_async_events(lambda_invoker: Invoker) -> None:
    fn = lambda_invoker.deploy(async_echo)
    fn.invoke_async({"a": 1})
    [outcome] = lambda_invoker.run_until_idle()
    assert (outcome.condition, outcome.payload) == ("Success", {"a": 1})


def test_every_loop_is_closed_at_the_end(lambda_invoker: Invoker) -> None:
    fn = lambda_invoker.deploy(async_echo)
    fn.invoke({})
    env = fn.environments[0]
    loop = env.policy.environment_loop
    assert loop is not None and not loop.is_closed()  # frozen with the environment
    lambda_invoker.close()
    assert loop.is_closed()
