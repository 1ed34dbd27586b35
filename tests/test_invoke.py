"""Synchronous invoke: the AWS Python runtime's behaviour, on the simulated clock."""

from __future__ import annotations

import asyncio
import datetime
import decimal
import json
import logging
import os
import time
from collections.abc import Callable
from typing import Any

import pytest

from pytest_lambda_async import (
    InvalidParameterValueException,
    Invoker,
    LambdaUsageError,
    RequestTooLargeException,
    ValidationException,
    VirtualClock,
)


def test_def_handler_returns_json_payload(lambda_invoker: Invoker) -> None:
    fn = lambda_invoker.deploy(lambda event, context: {"echo": event}, name="echo")
    result = fn.invoke({"a": [1, 2]})
    assert result.status_code == 200
    assert result.payload == {"echo": {"a": [1, 2]}}
    assert result.function_error is None
    assert result.executed_version == "$LATEST"
    assert result.cold_start is True


async def async_echo(event: Any, context: Any) -> Any:
    await asyncio.sleep(30)
    return {"echo": event, "remaining": context.get_remaining_time_in_millis()}


def test_async_handler_is_awaited_in_simulated_time(lambda_invoker: Invoker) -> None:
    fn = lambda_invoker.deploy(async_echo, timeout=60)
    started_real = time.perf_counter()
    started = lambda_invoker.clock.time()
    result = fn.invoke({"x": 1})
    assert result.payload == {"echo": {"x": 1}, "remaining": 30000}
    assert lambda_invoker.clock.time() - started == pytest.approx(30.0)
    assert result.duration == pytest.approx(30.0)
    assert time.perf_counter() - started_real < 2.0


def test_event_is_json_round_tripped(lambda_invoker: Invoker) -> None:
    seen: list[Any] = []
    fn = lambda_invoker.deploy(lambda event, context: seen.append(event))
    fn.invoke({"tuple": (1, 2), "decimal": decimal.Decimal("1.5")})
    assert seen == [{"tuple": [1, 2], "decimal": 1.5}]
    assert type(seen[0]["decimal"]) is float


def test_response_marshalled_like_the_runtime(lambda_invoker: Invoker) -> None:
    fn = lambda_invoker.deploy(lambda event, context: {
        "price": decimal.Decimal("1.10"), "nan": float("nan"), "pair": (1, 2), "none": None,
    })
    result = fn.invoke({})
    assert result.raw_payload == b'{"price": 1.10, "nan": NaN, "pair": [1, 2], "none": null}'


def test_bytes_response_passes_through_raw(lambda_invoker: Invoker) -> None:
    fn = lambda_invoker.deploy(lambda event, context: b"\x00raw")
    assert fn.invoke({}).raw_payload == b"\x00raw"


def test_unmarshallable_response_is_marshal_error(lambda_invoker: Invoker) -> None:
    fn = lambda_invoker.deploy(lambda event, context: {"when": datetime.datetime(2020, 1, 1)})
    result = fn.invoke({})
    assert result.function_error == "Unhandled"
    assert result.payload == {
        "errorMessage": "Unable to marshal response: Object of type datetime is not JSON serializable",
        "errorType": "Runtime.MarshalError",
        "requestId": result.request_id,
        "stackTrace": [],
    }


def failing_handler(event: Any, context: Any) -> Any:
    raise ValueError("intentional failure")


def test_exception_gives_unhandled_error_payload_with_handler_frames(lambda_invoker: Invoker) -> None:
    result = lambda_invoker.deploy(failing_handler).invoke({})
    assert result.function_error == "Unhandled"
    assert list(result.payload) == ["errorMessage", "errorType", "requestId", "stackTrace"]
    assert result.payload["errorMessage"] == "intentional failure"
    assert result.payload["errorType"] == "ValueError"
    assert result.payload["requestId"] == result.request_id
    (frame,) = result.payload["stackTrace"]
    assert frame.startswith(f'  File "{__file__}", line ')
    assert 'in failing_handler\n    raise ValueError("intentional failure")\n' in frame
    assert "[ERROR] ValueError: intentional failure" in result.log_result


# The coroutine the strict runtime leaves behind is reported too; here that is the point.
@pytest.mark.lambda_leaks(ignore=["awaitable-returned"])
def test_strict_runtime_fails_async_handler_as_aws_does(lambda_invoker: Invoker) -> None:
    fn = lambda_invoker.deploy(async_echo, strict=True)
    result = fn.invoke({})
    assert result.payload["errorType"] == "Runtime.MarshalError"
    assert result.payload["errorMessage"] == (
        "Unable to marshal response: Object of type coroutine is not JSON serializable"
    )
    assert "coroutine 'async_echo' was never awaited" in result.log_result


def test_strict_runtime_marker_applies_to_deploy(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import pytest

        async def handler(event, context):
            return 1

        @pytest.mark.lambda_function(strict=True)
        @pytest.mark.lambda_leaks(ignore=["awaitable-returned"])
        def test_strict(lambda_invoker):
            assert lambda_invoker.deploy(handler).invoke({}).function_error == "Unhandled"

        @pytest.mark.lambda_leaks(ignore=["awaitable-returned"])
        def test_default(lambda_invoker):
            assert lambda_invoker.deploy(handler).invoke({}).payload == 1
    """)
    pytester.runpytest().assert_outcomes(passed=2)
    result = pytester.runpytest("--lambda-strict", "-k", "default")
    result.assert_outcomes(failed=1)
    assert "strict runtime=on" in result.stdout.str()


# -- handler strings ---------------------------------------------------------------------------
def test_handler_string_module_is_fresh_per_environment(
    lambda_invoker: Invoker, handler_module: Callable[..., str]
) -> None:
    name = handler_module("""
        INITS = []
        INITS.append("init")
        calls = 0

        def handler(event, context):
            global calls
            calls += 1
            return {"inits": len(INITS), "calls": calls}
    """)
    import importlib

    user_copy = importlib.import_module(name)
    fn = lambda_invoker.deploy(f"{name}.handler")
    assert fn.invoke({}).payload == {"inits": 1, "calls": 1}
    assert fn.invoke({}).payload == {"inits": 1, "calls": 2}
    assert user_copy.calls == 0  # the test's own import is untouched


def test_malformed_handler_string(lambda_invoker: Invoker) -> None:
    with pytest.raises(LambdaUsageError, match=r"the handler string 'nodots' is not 'module\.function'"):
        lambda_invoker.deploy("nodots")


@pytest.mark.parametrize(
    ("source", "handler", "error_type", "message"),
    [
        (None, "missing_module_xyz.handler", "Runtime.ImportModuleError",
         "Unable to import module 'missing_module_xyz': No module named 'missing_module_xyz'"),
        ("def other(e, c): pass\n", "{mod}.handler", "Runtime.HandlerNotFound",
         "Handler 'handler' missing on module '{mod}'"),
        ("def handler(e, c)\n    pass\n", "{mod}.handler", "Runtime.UserCodeSyntaxError",
         "Syntax error in module '{mod}': expected ':' ({mod}.py, line 1)"),
        ("import does_not_exist_abc\n", "{mod}.handler", "Runtime.ImportModuleError",
         "Unable to import module '{mod}': No module named 'does_not_exist_abc'"),
        ("raise RuntimeError('boom at init')\n", "{mod}.handler", "RuntimeError", "boom at init"),
        ("def handler(e, c): pass\n", "os.handler", "Runtime.BuiltInModuleConflict", None),
    ],
)
def test_init_faults(
    lambda_invoker: Invoker, handler_module: Callable[..., str], source: str | None,
    handler: str, error_type: str, message: str | None,
) -> None:
    mod = handler_module(source) if source else ""
    if handler.startswith("os."):
        handler, message = "posix.handler", "Cannot use built-in module posix as a handler module"
    fn = lambda_invoker.deploy(handler.format(mod=mod), name="init-fault")
    result = fn.invoke({})
    assert result.function_error == "Unhandled"
    assert result.payload["errorType"] == error_type
    assert result.payload["errorMessage"] == message.format(mod=mod)  # type: ignore[union-attr]
    assert result.payload["requestId"] == ""  # init errors carry no request id
    assert fn.invoke({}).cold_start is True  # the failed environment is not reused


# -- timeouts -------------------------------------------------------------------------------------
async def sleeps_too_long(event: Any, context: Any) -> None:
    await asyncio.sleep(600)


def test_timeout_payload_and_reset(lambda_invoker: Invoker) -> None:
    fn = lambda_invoker.deploy(sleeps_too_long)
    started = lambda_invoker.clock.time()
    result = fn.invoke({})
    assert result.function_error == "Unhandled"
    assert result.payload == {
        "errorMessage": f"RequestId: {result.request_id} Error: Task timed out after 3.00 seconds",
        "errorType": "Sandbox.Timedout",
    }
    assert lambda_invoker.clock.time() - started == pytest.approx(3.0)
    assert f"{result.request_id} Task timed out after 3.00 seconds" in result.log_result
    again = fn.invoke({})
    assert again.cold_start is True and again.environment_id != result.environment_id


def blocking_sleep(event: Any, context: Any) -> None:
    time.sleep(600)


def test_blocking_sleep_times_out_in_simulated_time(lambda_invoker: Invoker) -> None:
    real = time.perf_counter()
    result = lambda_invoker.deploy(blocking_sleep, timeout=5).invoke({})
    assert result.payload["errorType"] == "Sandbox.Timedout"
    assert "5.00 seconds" in result.payload["errorMessage"]
    assert time.perf_counter() - real < 2.0
    assert time.sleep is not blocking_sleep  # the real sleep is back after the test's code


def busy_loop(event: Any, context: Any) -> None:
    while True:
        pass


def test_busy_loop_is_stopped_by_the_real_time_guard() -> None:
    invoker = Invoker(VirtualClock(), real_time_budget=0.2)
    real = time.perf_counter()
    result = invoker.deploy(busy_loop).invoke({})
    invoker.close()
    assert result.payload["errorType"] == "Sandbox.Timedout"
    assert time.perf_counter() - real < 3.0


def test_sync_handler_with_asyncio_run_times_out(lambda_invoker: Invoker) -> None:
    def handler(event: Any, context: Any) -> Any:
        async def main() -> None:
            await asyncio.sleep(10)
        return asyncio.run(main())

    result = lambda_invoker.deploy(handler).invoke({})
    assert result.payload["errorType"] == "Sandbox.Timedout"


# -- limits, logs, environment -----------------------------------------------------------------------
def test_request_over_6mb_is_refused(lambda_invoker: Invoker) -> None:
    fn = lambda_invoker.deploy(lambda e, c: None)
    with pytest.raises(RequestTooLargeException, match="smaller than 6291456 bytes"):
        fn.invoke({"data": "x" * (6 * 1024 * 1024)})


def test_response_over_6mb_is_function_error(lambda_invoker: Invoker) -> None:
    result = lambda_invoker.deploy(lambda e, c: "x" * (6 * 1024 * 1024 + 200)).invoke({})
    assert result.function_error == "Unhandled"
    assert result.payload["errorType"] == "Function.ResponseSizeTooLarge"


def test_log_result_holds_this_invocation_only(lambda_invoker: Invoker) -> None:
    logger = logging.getLogger("handler-logger")
    logger.setLevel(logging.INFO)

    def handler(event: Any, context: Any) -> None:
        print(f"printed {event['n']}")
        logger.info("logged %s", event["n"])
        context.log(f"context.log {event['n']}\n")

    fn = lambda_invoker.deploy(handler)
    first, second = fn.invoke({"n": 1}), fn.invoke({"n": 2})
    assert "printed 1" in first.log_result and "printed 2" not in first.log_result
    assert "printed 2" in second.log_result and "printed 1" not in second.log_result
    assert "[INFO]\t" in second.log_result and f"\t{second.request_id}\tlogged 2\n" in second.log_result
    assert "context.log 2" in second.log_result
    assert second.log_result.startswith(f"START RequestId: {second.request_id} Version: $LATEST")
    assert f"END RequestId: {second.request_id}\nREPORT RequestId: {second.request_id}\t" in second.log_result


def test_log_result_is_the_last_4kb(lambda_invoker: Invoker) -> None:
    fn = lambda_invoker.deploy(lambda e, c: print("y" * 10000))
    result = fn.invoke({})
    assert len(result.log_result.encode()) == 4096
    assert result.log_result.endswith("\n") and "REPORT RequestId" in result.log_result


def test_lambda_environment_variables_during_invocation_only(lambda_invoker: Invoker) -> None:
    seen: dict[str, str] = {}
    fn = lambda_invoker.deploy(
        lambda e, c: seen.update(os.environ), name="env-fn", memory_size=256,
        environment={"TABLE": "orders"}, region="eu-west-1",
    )
    before = dict(os.environ)
    fn.invoke({})
    assert dict(os.environ) == before
    assert seen["AWS_LAMBDA_FUNCTION_NAME"] == "env-fn"
    assert seen["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert seen["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert seen["AWS_REGION"] == seen["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert seen["TABLE"] == "orders"
    assert seen["AWS_ACCESS_KEY_ID"] == "testing"
    assert seen["_X_AMZN_TRACE_ID"].startswith("Root=1-")
    assert seen["_HANDLER"].endswith("<lambda>")
    assert "LAMBDA_TASK_ROOT" in seen


def test_handler_reads_simulated_wall_clock(lambda_invoker: Invoker) -> None:
    def handler(event: Any, context: Any) -> dict[str, float]:
        return {"time": time.time(), "now": datetime.datetime.now(datetime.timezone.utc).timestamp()}

    lambda_invoker.clock.advance(3600)
    expected = lambda_invoker.clock.time()
    result = lambda_invoker.deploy(handler).invoke({})
    assert result.payload["time"] == pytest.approx(expected, abs=0.01)
    assert result.payload["now"] == pytest.approx(expected, abs=0.01)


def test_users_freeze_time_keeps_working(lambda_invoker: Invoker) -> None:
    from freezegun import freeze_time

    def handler(event: Any, context: Any) -> str:
        return datetime.datetime.now().isoformat()

    fn = lambda_invoker.deploy(handler)
    with freeze_time("2020-02-02 02:02:02"):
        assert fn.invoke({}).payload == "2020-02-02T02:02:02"
        assert datetime.datetime.now() == datetime.datetime(2020, 2, 2, 2, 2, 2)


def test_client_context_given_on_sync_invoke(lambda_invoker: Invoker) -> None:
    def handler(event: Any, context: Any) -> Any:
        cc = context.client_context
        return [cc.custom, cc.env, cc.client.app_title, cc.client.installation_id]

    fn = lambda_invoker.deploy(handler)
    result = fn.invoke({}, client_context={"custom": {"k": 1}, "env": {"e": 2}, "client": {"app_title": "t"}})
    assert result.payload == [{"k": 1}, {"e": 2}, "t", None]
    assert lambda_invoker.deploy(lambda e, c: c.client_context, name="none").invoke({}).payload is None


# -- bad input ------------------------------------------------------------------------------------------
def test_bad_deploy_arguments(lambda_invoker: Invoker) -> None:
    with pytest.raises(LambdaUsageError, match="deploy\\(\\) needs a handler"):
        lambda_invoker.deploy(42)  # type: ignore[arg-type]
    with pytest.raises(ValidationException, match="Member must have value less than or equal to 900"):
        lambda_invoker.deploy(failing_handler, timeout=901)
    with pytest.raises(ValidationException, match="greater than or equal to 1"):
        lambda_invoker.deploy(failing_handler, timeout=0)
    with pytest.raises(ValidationException, match=r"'memorySize'.*greater than or equal to 128"):
        lambda_invoker.deploy(failing_handler, memory_size=100)
    with pytest.raises(ValidationException, match="less than or equal to 10240"):
        lambda_invoker.deploy(failing_handler, memory_size=10241)
    with pytest.raises(ValidationException, match="Value 'my function' at 'functionName'"):
        lambda_invoker.deploy(failing_handler, name="my function")
    with pytest.raises(InvalidParameterValueException, match="Reserved keys used in this request: AWS_RE"):
        lambda_invoker.deploy(failing_handler, environment={"AWS_REGION": "x"})
    with pytest.raises(LambdaUsageError, match="Unknown Lambda function setting\\(s\\) 'timout'"):
        lambda_invoker.deploy(failing_handler, timout=3)


def test_event_that_is_not_json(lambda_invoker: Invoker) -> None:
    fn = lambda_invoker.deploy(failing_handler)
    with pytest.raises(LambdaUsageError, match=r"The event is not JSON.*datetime"):
        fn.invoke({"when": datetime.datetime(2020, 1, 1)})


def test_unknown_marker_keyword_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import pytest

        @pytest.mark.lambda_function(timout=3)
        def test_it(lambda_context):
            pass
    """)
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*@pytest.mark.lambda_function(timout=3): unknown keyword(s) 'timout'*"])


# -- async tests ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["strict", "auto"])
def test_ainvoke_under_pytest_asyncio_modes(pytester: pytest.Pytester, mode: str) -> None:
    pytester.makepyfile("""
        import asyncio
        import pytest

        async def handler(event, context):
            await asyncio.sleep(5)
            return event["n"] * 2

        def sync_handler(event, context):
            async def main():
                await asyncio.sleep(1)
                return 7
            return asyncio.run(main())

        @pytest.mark.asyncio
        async def test_ainvoke(lambda_invoker):
            fn = lambda_invoker.deploy(handler, timeout=10)
            assert (await fn.ainvoke({"n": 21})).payload == 42
            assert (await lambda_invoker.deploy(sync_handler).ainvoke({})).payload == 7
            await asyncio.sleep(0)  # the test's own loop still works
    """)
    pytester.runpytest(f"--asyncio-mode={mode}").assert_outcomes(passed=1)


def test_json_report_round_trip_of_payload(lambda_invoker: Invoker) -> None:
    fn = lambda_invoker.deploy(lambda e, c: {"ü": "ok"})
    assert json.loads(fn.invoke({}).raw_payload) == {"ü": "ok"}


@pytest.mark.parametrize("delay", [0.01, 0.1 + 0.2, 1e-6, 123.456789])
def test_fractional_sleeps_wake_up_exactly(lambda_invoker: Invoker, delay: float) -> None:
    # Epoch seconds round coarser than loop seconds; a timer must still fire at its instant.
    async def handler(event: Any, context: Any) -> str:
        await asyncio.sleep(delay)
        await asyncio.sleep(delay)
        return "woke"

    started = lambda_invoker.clock.time()
    result = lambda_invoker.deploy(handler, timeout=900).invoke({})
    assert result.payload == "woke"
    assert lambda_invoker.clock.time() - started == pytest.approx(2 * delay, abs=1e-6)


def test_nested_synchronous_invoke_from_an_async_handler(lambda_invoker: Invoker) -> None:
    async def inner(event: Any, context: Any) -> int:
        await asyncio.sleep(2)
        return int(event["x"]) * 2

    inner_fn = lambda_invoker.deploy(inner, name="inner")

    async def outer(event: Any, context: Any) -> Any:
        # A timer of the caller's loop falls due while the caller blocks in the nested call.
        asyncio.get_running_loop().call_later(1, print, "outer timer")
        nested = inner_fn.invoke({"x": 21})
        await asyncio.sleep(0)
        return nested.payload

    result = lambda_invoker.deploy(outer, name="outer", timeout=10).invoke({})
    assert result.payload == 42
    assert "outer timer" in result.log_result


@pytest.mark.parametrize("start", [1795399879.2777836, 1_700_000_000.0])
def test_asyncio_run_in_a_def_handler_wakes_at_its_timer(start: float) -> None:
    # At epoch magnitudes `start + 0.01 - start` can fall short of 0.01: the loop must still
    # see its timer as due after the jump (this hung until the real-time guard stopped it).
    def handler(event: Any, context: Any) -> Any:
        return asyncio.run(asyncio.sleep(0.01, result="woke"))

    invoker = Invoker(VirtualClock(start=start))
    try:
        real = time.perf_counter()
        result = invoker.deploy(handler).invoke({})
        assert result.payload == "woke"
        assert time.perf_counter() - real < 1.0
    finally:
        invoker.close()


def test_print_from_an_executor_thread_lands_in_the_log(lambda_invoker: Invoker) -> None:
    async def handler(event: Any, context: Any) -> int:
        await asyncio.get_running_loop().run_in_executor(None, print, "from a thread")
        return 1

    result = lambda_invoker.deploy(handler).invoke({})
    assert (result.payload, result.function_error) == (1, None)
    assert "from a thread" in result.log_result


def test_past_invocations_are_not_kept_alive(lambda_invoker: Invoker) -> None:
    # Each invocation's timeout timer is cancelled when the handler returns; a cancelled timer
    # must let go of the invocation and its task, even while the clock never moves.
    import weakref

    tasks: list[weakref.ref[asyncio.Task[Any]]] = []

    async def handler(event: Any, context: Any) -> int:
        task = asyncio.current_task()
        assert task is not None
        tasks.append(weakref.ref(task))
        return 1

    fn = lambda_invoker.deploy(handler)
    for _ in range(200):
        fn.invoke({})
    assert sum(ref() is not None for ref in tasks) <= 1
    assert len(lambda_invoker.clock._timers) < 100


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("€" * 1100, "€" * 1100),  # 3,300 bytes: all of it
        ("😀" * 1024, "😀" * 1024),  # exactly 4,096 bytes
        ("😀" * 1025, "😀" * 1024),
        ("x" + "€" * 2000, "€" * 1365),  # the cut falls inside a character, which is dropped
    ],
)
def test_log_result_is_the_last_4096_bytes(text: str, expected: str) -> None:
    from pytest_lambda_async.logs import InvocationLog

    log = InvocationLog()
    log.write(text)
    assert log.tail() == expected
