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


# -- the simulation driven from handler code -------------------------------------------------
def reentering(call: str, kind: str, invoker: Invoker) -> Any:
    def drive() -> None:
        if call == "run_until_idle":
            invoker.run_until_idle()
        else:
            invoker.clock.advance(5)

    async def arun() -> None:
        if call == "run_until_idle":
            await invoker.arun_until_idle()
        else:
            invoker.clock.advance(5)

    if kind == "def":
        def handler(event: Any, context: Any) -> str:
            drive()
            return "drove"
        return handler

    async def async_handler(event: Any, context: Any) -> str:
        await asyncio.sleep(1)
        await arun()
        return "drove"
    return async_handler


@pytest.mark.parametrize("kind", ["def", "async def"])
@pytest.mark.parametrize("call", ["run_until_idle", "advance"])
def test_driving_the_simulation_from_handler_code_fails_at_once(kind: str, call: str) -> None:
    invoker = Invoker(VirtualClock())
    fn = invoker.deploy(reentering(call, kind, invoker))
    name = {"run_until_idle": "run_until_idle()" if kind == "def" else "arun_until_idle()",
            "advance": "lambda_clock.advance()"}[call]
    with pytest.raises(Exception) as raised:
        fn.invoke({})
    message = str(raised.value)
    assert type(raised.value).__name__ == "LambdaUsageError"
    assert message.startswith(f"{name} was called from handler code.")
    assert f"Fix: call {name} from the test" in message
    assert "Sandbox.Timedout" not in message
    # The invocation itself ended as a function error, and nothing is left running.
    assert fn.invocations == [] or fn.invocations[-1].function_error == "Unhandled"
    assert invoker.busy == 0
    invoker.close()


def test_handler_code_that_swallows_the_error_still_fails_the_test() -> None:
    invoker = Invoker(VirtualClock())

    def handler(event: Any, context: Any) -> str:
        try:
            invoker.run_until_idle()
        except Exception:  # a handler's own except clause, as users write it
            return "swallowed"
        return "not reached"

    with pytest.raises(Exception, match=r"run_until_idle\(\) was called from handler code"):
        invoker.deploy(handler).invoke({})
    invoker.close()  # reported once


async def slow(event: Any, context: Any) -> str:
    await asyncio.sleep(10)
    return "slow done"


@pytest.mark.parametrize("caller_kind", ["def", "async def"])
def test_nested_invoke_whose_caller_times_out_meanwhile_ends_cleanly(
    caller_kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    invoker = Invoker(VirtualClock())
    callee = invoker.deploy(slow, name="callee", timeout=30)

    if caller_kind == "def":
        def caller(event: Any, context: Any) -> Any:
            return callee.invoke({}).payload
    else:
        async def caller(event: Any, context: Any) -> Any:  # type: ignore[misc]
            await asyncio.sleep(1)
            return callee.invoke({}).payload

    fn = invoker.deploy(caller, name="caller", timeout=3)
    result = fn.invoke({})
    assert result.payload["errorType"] == "Sandbox.Timedout"
    assert "Cannot close a running event loop" not in result.log_result
    assert callee.invocations[-1].payload == "slow done"
    # Both functions can be invoked again.
    assert callee.invoke({}).payload == "slow done"
    assert fn.invoke({}).payload["errorType"] == "Sandbox.Timedout"
    invoker.close()
    assert "Task exception was never retrieved" not in caplog.text
    assert "Cannot close a running event loop" not in caplog.text


# -- used after the test ended -----------------------------------------------------------------
LATE_USE = """
import datetime
import pytest

KEPT = {}

def handler(event, context):
    return datetime.datetime.now().isoformat()

def test_deploys(lambda_invoker):
    KEPT["fn"] = lambda_invoker.deploy(handler)
    KEPT["invoker"] = lambda_invoker
    KEPT["fn"].invoke({})

@pytest.mark.parametrize("call", ["invoke", "invoke_async", "deploy", "run_until_idle"])
def test_uses_it_later(call):
    fn, invoker = KEPT["fn"], KEPT["invoker"]
    use = {"invoke": lambda: fn.invoke({}), "invoke_async": lambda: fn.invoke_async({}),
           "deploy": lambda: invoker.deploy(handler, name="again"),
           "run_until_idle": invoker.run_until_idle}[call]
    with pytest.raises(Exception) as raised:
        use()
    assert type(raised.value).__name__ == "LambdaUsageError"
    assert "after the test that owned this invoker ended" in str(raised.value)
    assert "Fix: deploy the function in each test" in str(raised.value)

def test_time_is_real_afterwards():
    import freezegun.api, time
    assert datetime.datetime is freezegun.api.real_datetime
    assert time.sleep.__module__ == "time"
"""


def test_a_function_used_after_its_test_ended_fails_clearly(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(LATE_USE)
    result = pytester.runpytest_subprocess("-p", "no:randomly", timeout=120)
    result.assert_outcomes(passed=6)


# -- threads left running at the end of the session ----------------------------------------------
THREAD_LEFT = """
import threading
import pytest

@pytest.mark.lambda_leaks(mode="warn")
def test_leaves_a_thread(lambda_invoker):
    def handler(event, context):
        threading.Thread(target=threading.Event().wait, name="forever-{status}").start()
        return "ok"
    assert lambda_invoker.deploy(handler).invoke({{}}).payload == "ok"

def test_after():
    assert {status} == 0
"""


@pytest.mark.parametrize("status", [0, 1])
def test_threads_left_by_handler_code_do_not_keep_pytest_alive(
    pytester: pytest.Pytester, status: int
) -> None:
    pytester.makepyfile(THREAD_LEFT.format(status=status))
    result = pytester.runpytest_subprocess("-p", "no:randomly", "-W", "ignore", timeout=60)
    result.assert_outcomes(passed=2 - status, failed=status)
    assert result.ret == status
    result.stderr.fnmatch_lines([
        f"pytest-lambda-async: 1 thread(s) that handler code started were still running at exit "
        f"(forever-{status}); *"])


def test_idle_pool_workers_of_handler_code_end_with_their_executor(pytester: pytest.Pytester) -> None:
    # asyncio.to_thread and run_in_executor leave their pool's workers waiting for a next job:
    # the executor's own exit hook ends them, so nothing is cut short and nothing is reported.
    pytester.makepyfile("""
        import asyncio, concurrent.futures

        POOL = concurrent.futures.ThreadPoolExecutor(2)

        async def handler(event, context):
            loop = asyncio.get_running_loop()
            a = await asyncio.to_thread(sum, [1, 2])
            b = await loop.run_in_executor(POOL, sum, [3, 4])
            return a + b

        def test_pools(lambda_invoker):
            assert lambda_invoker.deploy(handler).invoke({}).payload == 10
    """)
    result = pytester.runpytest_subprocess("-p", "no:randomly", timeout=60)
    result.assert_outcomes(passed=1)
    assert result.ret == 0
    assert "still running at exit" not in result.stderr.str()


def test_a_busy_pool_worker_is_still_cut_at_exit(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import asyncio, threading

        async def handler(event, context):
            loop = asyncio.get_running_loop()
            loop.run_in_executor(None, threading.Event().wait)  # never ends
            return "ok"

        def test_busy_pool(lambda_invoker):
            assert lambda_invoker.deploy(handler).invoke({}).payload == "ok"
    """)
    result = pytester.runpytest_subprocess("-p", "no:randomly", "-W", "ignore", timeout=60)
    assert result.ret in (0, 1)  # the leak finding may fail the test; the session must end
    result.stderr.fnmatch_lines(["pytest-lambda-async: 1 thread(s) that handler code started were "
                                 "still running at exit (*); *"])


def test_a_thread_the_test_itself_starts_is_not_cut(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import threading, time

        def test_own_thread(lambda_invoker):
            lambda_invoker.deploy(lambda event, context: "ok").invoke({})
            threading.Thread(target=time.sleep, args=(1,), name="own").start()
    """)
    result = pytester.runpytest_subprocess("-p", "no:randomly", timeout=60)
    result.assert_outcomes(passed=1)
    assert "still running at exit" not in result.stderr.str()


# -- work lost at a reset ------------------------------------------------------------------------
LOST_SOURCE = """
import asyncio, sys

async def background():
    await asyncio.sleep(100)

async def main(event):
    asyncio.get_running_loop().create_task(background())
    if event.get("exit"):
        sys.exit(0)
    await asyncio.sleep(10)

LOOP = asyncio.new_event_loop()

async def async_handler(event, context):
    await main(event)

def loop_handler(event, context):
    LOOP.run_until_complete(main(event))
"""


@pytest.mark.parametrize("handler", ["async_handler", "loop_handler"])
@pytest.mark.parametrize("end", ["timeout", "exit"])
def test_work_frozen_in_an_environment_reset_is_reported_lost(
    handler_module: Any, tmp_path: Any, handler: str, end: str
) -> None:
    from pytest_lambda_async import LeakDetector, LeakKind

    detector = LeakDetector()
    invoker = Invoker(VirtualClock(), observers=[detector.observer])
    modname = handler_module(LOST_SOURCE)
    fn = invoker.deploy(f"{modname}.{handler}", timeout=3)
    result = fn.invoke({"exit": end == "exit"})
    assert result.function_error == "Unhandled"
    invoker.close()
    reason = "timeout" if end == "timeout" else "a crash"
    # A timeout that stops run_until_complete leaves the task it ran frozen, and lost too; a
    # task something still awaits (gathered) is the handler's own work, not reported.
    lost = {"background": 8} | ({"main": 19} if (handler, end) == ("loop_handler", "timeout") else {})
    assert sorted((f.kind, f.name, f.fate) for f in detector.findings) == sorted(
        (LeakKind.WORK_LOST, name, f"lost: the environment was reset after {reason}") for name in lost)
    for finding in detector.findings:  # where the lost work was created
        assert finding.site.endswith(f"{modname}.py:{lost[finding.name]}")
    detector.close()


def test_work_frozen_at_an_init_failure_is_reported_lost(handler_module: Any) -> None:
    from pytest_lambda_async import LeakDetector, LeakKind

    detector = LeakDetector()
    invoker = Invoker(VirtualClock(), observers=[detector.observer])
    modname = handler_module("""
        import asyncio, sys

        async def background():
            await asyncio.sleep(100)

        LOOP = asyncio.new_event_loop()
        LOOP.create_task(background())
        sys.exit(1)
    """)
    fn = invoker.deploy(f"{modname}.handler")
    assert fn.invoke({}).payload["errorType"] == "Runtime.ExitError"
    invoker.close()
    assert [(f.kind, f.name) for f in detector.findings] == [(LeakKind.WORK_LOST, "background")]
    assert "init error" in detector.findings[0].fate
    detector.close()
