"""What the per-invocation fast path keeps: the shortcuts taken for speed change nothing a user
can see (benchmarks/bench_invoke.py measures the speed)."""

from __future__ import annotations

import dataclasses
import inspect
import os
import signal
import sys
import textwrap
from typing import Any

import pytest

from pytest_lambda_async import Invoker, InvokeResult


def test_the_result_is_the_dataclass_it_always_was(lambda_invoker: Invoker) -> None:
    async def handler(event: Any, context: Any) -> Any:
        return {"n": event["n"]}

    result = lambda_invoker.deploy(handler).invoke({"n": 1})
    fields = {field.name: getattr(result, field.name) for field in dataclasses.fields(InvokeResult)}
    rebuilt = InvokeResult(**fields)
    assert result == rebuilt and repr(result) == repr(rebuilt)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.payload = None  # type: ignore[misc]
    assert dataclasses.replace(result, payload=2).payload == 2


def test_an_async_def_handler_with_the_wrong_arguments_fails_inside_the_invocation(
        lambda_invoker: Invoker) -> None:
    async def takes_one(event: Any) -> Any:
        return event

    result = lambda_invoker.deploy(takes_one).invoke({})
    assert result.function_error == "Unhandled"
    assert result.payload["errorType"] == "TypeError"
    assert "positional argument" in result.payload["errorMessage"]


def test_a_callable_marked_as_a_coroutine_function_runs_inside_the_environment(
        lambda_invoker: Invoker) -> None:
    # A plain function marked as a coroutine function (asgiref and Django adapters do this):
    # its own body runs when it is called, and must run as handler code, with Lambda's
    # environment and output routing, not in the plugin's set-up.
    seen: dict[str, Any] = {}

    async def inner(event: Any) -> Any:
        return {"region": os.environ.get("AWS_REGION")}

    def marked(event: Any, context: Any) -> Any:
        print("marked handler called")
        seen["function"] = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        return inner(event)

    if hasattr(inspect, "markcoroutinefunction"):
        handler: Any = inspect.markcoroutinefunction(marked)
    else:  # Python < 3.12: a callable object with an async __call__ is the nearest case
        class Marked:
            async def __call__(self, event: Any, context: Any) -> Any:
                print("marked handler called")
                seen["function"] = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
                return await inner(event)

        handler = Marked()
    result = lambda_invoker.deploy(handler, name="marked").invoke({})
    assert result.function_error is None, result.payload
    assert seen["function"] == "marked"
    assert "marked handler called" in result.log_result


def test_a_changed_configuration_reaches_report_context_and_deadline(lambda_invoker: Invoker) -> None:
    seen: list[tuple[str, int]] = []

    async def handler(event: Any, context: Any) -> Any:
        seen.append((context.memory_limit_in_mb, context.get_remaining_time_in_millis()))

    fn = lambda_invoker.deploy(handler, memory_size=256, timeout=5)
    first = fn.invoke({})
    fn.reconfigure(memory_size=512, timeout=9)
    second = fn.invoke({})
    assert seen == [("256", 5000), ("512", 9000)]
    assert "Memory Size: 256 MB" in first.log_result
    assert "Memory Size: 512 MB" in second.log_result
    assert second.cold_start


def test_ctrl_c_and_os_exit_between_invocations_behave_as_without_the_plugin(
        pytester: pytest.Pytester) -> None:
    # The plugin's SIGINT handler and os._exit stay installed for a moment after an
    # invocation (installing them costs more than the rest of it); test code in between must
    # see what it would see without them, and the test ends with the originals back.
    pytester.makepyfile(test_between=textwrap.dedent("""
        import os, signal, pytest

        def handler(event, context):
            return "ok"

        def test_ctrl_c_between(lambda_invoker):
            before = signal.getsignal(signal.SIGINT)
            fn = lambda_invoker.deploy(handler)
            assert fn.invoke({}).payload == "ok"
            with pytest.raises(KeyboardInterrupt):
                os.kill(os.getpid(), signal.SIGINT)
            assert fn.invoke({}).payload == "ok"
            lambda_invoker.close()
            assert signal.getsignal(signal.SIGINT) is before
            assert os._exit.__module__ in ("posix", "nt")

        def test_os_exit_between(lambda_invoker):
            fn = lambda_invoker.deploy(handler)
            assert fn.invoke({}).payload == "ok"
            os._exit(3)
    """))
    result = pytester.runpytest_subprocess("-p", "no:randomly", "-q", timeout=120)
    assert result.ret == 3, result.stdout.str()
    # The first test passed before the second ended the process.
    assert result.stdout.str().count(".") >= 1


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT and os._exit are POSIX here")
def test_the_originals_are_back_after_the_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_after=textwrap.dedent("""
        import os, signal

        BEFORE = (signal.getsignal(signal.SIGINT), os._exit)

        def test_invokes(lambda_invoker):
            lambda_invoker.deploy(lambda e, c: 1).invoke({})

        def test_after():
            assert (signal.getsignal(signal.SIGINT), os._exit) == BEFORE
    """))
    result = pytester.runpytest_subprocess("-p", "no:randomly", timeout=120)
    result.assert_outcomes(passed=2)


@pytest.mark.lambda_leaks(mode="off")  # the thread is left running on purpose
def test_non_daemon_threads_started_by_handler_code_are_noted_at_start(lambda_invoker: Invoker) -> None:
    import threading

    from pytest_lambda_async import leftover_threads

    release = threading.Event()

    def handler(event: Any, context: Any) -> Any:
        threading.Thread(target=release.wait, name="worker-started-by-handler").start()
        return "ok"

    lambda_invoker.deploy(handler).invoke({})
    try:
        assert "worker-started-by-handler" in [t.name for t in leftover_threads.running()]
    finally:
        release.set()


def test_threads_the_test_starts_are_not_noted() -> None:
    import threading

    from pytest_lambda_async import leftover_threads

    release = threading.Event()
    thread = threading.Thread(target=release.wait, name="test-thread")
    thread.start()
    try:
        assert thread not in leftover_threads.running()
    finally:
        release.set()
        thread.join()


def test_signal_module_still_reports_the_plugin_handler_only_while_it_may(lambda_invoker: Invoker) -> None:
    seen: list[Any] = []

    def handler(event: Any, context: Any) -> Any:
        seen.append(signal.getsignal(signal.SIGINT))

    before = signal.getsignal(signal.SIGINT)
    lambda_invoker.deploy(handler).invoke({})
    assert seen[0] is not before  # the plugin's, while handler code ran
    lambda_invoker.close()
    assert signal.getsignal(signal.SIGINT) is before


# -- a step of the simulation goes on to the loop's next timer when nothing comes before it --

def _since(start: float) -> float:
    import time

    return round(time.time() - start, 3)  # handler code reads whole microseconds


@pytest.mark.lambda_leaks(mode="off")  # the first invocation leaves a task behind on purpose
@pytest.mark.parametrize("second", ["invoke", "invoke_async"])
def test_thawed_work_does_not_move_the_clock_before_the_handler_starts(
        lambda_invoker: Invoker, second: str) -> None:
    import asyncio

    clock = lambda_invoker.clock
    start = clock.time()
    seen: list[tuple[str, float]] = []

    async def later() -> None:
        for _ in range(2):
            await asyncio.sleep(10)
            seen.append(("frozen task", _since(start)))

    async def handler(event: Any, context: Any) -> Any:
        seen.append(("handler starts", _since(start)))
        if event.get("leave"):
            asyncio.get_running_loop().create_task(later())
        else:
            await asyncio.sleep(20)
        seen.append(("handler ends", _since(start)))

    fn = lambda_invoker.deploy(handler, timeout=60)
    fn.invoke({"leave": True})
    clock.advance(15)
    if second == "invoke":
        fn.invoke({})
    else:  # delivered by the simulation itself, inside its run
        fn.invoke_async({})
        lambda_invoker.run_until_idle()
    # The overdue timer runs first (thaw), at 15; the task's next one falls during the handler.
    assert seen == [
        ("handler starts", 0.0), ("handler ends", 0.0),
        ("frozen task", 15.0), ("handler starts", 15.0), ("frozen task", 25.0), ("handler ends", 35.0),
    ]


def test_advance_stops_at_its_time_inside_a_busy_invocation(lambda_invoker: Invoker) -> None:
    import asyncio

    clock = lambda_invoker.clock

    async def handler(event: Any, context: Any) -> Any:
        for _ in range(10):
            await asyncio.sleep(10)
        return "done"

    fn = lambda_invoker.deploy(handler, timeout=300)
    start = clock.time()
    fn.invoke_async({})
    clock.advance(25)
    assert clock.time() == start + 25
    assert fn.name in lambda_invoker.unfinished()
    (outcome,) = lambda_invoker.run_until_idle()
    assert outcome.status == "succeeded" and outcome.finished_at == start + 100


@pytest.mark.asyncio
async def test_concurrent_requests_interleave_their_timers(lambda_invoker: Invoker) -> None:
    import asyncio

    start = lambda_invoker.clock.time()
    seen: list[tuple[str, float]] = []

    async def handler(event: Any, context: Any) -> Any:
        for step in range(3):
            await asyncio.sleep(event["every"])
            seen.append((f"{event['name']}{step}", _since(start)))

    fn = lambda_invoker.deploy(handler, timeout=30)
    await asyncio.gather(fn.ainvoke({"name": "a", "every": 2}), fn.ainvoke({"name": "b", "every": 3}))
    assert sorted(seen, key=lambda item: item[1]) == seen
    assert set(seen) == {("a0", 2), ("b0", 3), ("a1", 4), ("a2", 6), ("b1", 6), ("b2", 9)}


def test_request_and_trace_ids_repeat_with_the_seed_as_they_always_have() -> None:
    # Recorded from the code before the ids were built faster: the same seed (0) and clock
    # give the same request ids, and the same X-Ray header in the handler's environment.
    from pytest_lambda_async import VirtualClock

    seen: list[tuple[str, str]] = []
    invoker = Invoker(VirtualClock(1_700_000_000.25))
    try:
        fn = invoker.deploy(lambda e, c: seen.append((c.aws_request_id, os.environ["_X_AMZN_TRACE_ID"])),
                            name="ids")
        results = [fn.invoke({}) for _ in range(2)]
    finally:
        invoker.close()
    assert seen == [
        ("e3e70682-c209-4cac-a29f-6fbed82c07cd",
         "Root=1-6553f100-42485e3a0a5d2f346baa9455;Parent=82e2e662f728b4fa;Sampled=0"),
        ("c8a70639-eb11-47b3-a7a9-c3787c65c1e5",
         "Root=1-6553f100-f7c1bd874da5e709d4713d60;Parent=5ba91faf7a024204;Sampled=0"),
    ]
    assert [r.request_id for r in results] == [request_id for request_id, _ in seen]
    assert "_X_AMZN_TRACE_ID" not in os.environ or os.environ["_X_AMZN_TRACE_ID"] != seen[-1][1]


def test_kept_results_take_no_more_memory_than_dataclass_built_ones(lambda_invoker: Invoker) -> None:
    # fn.invocations keeps every result of a test: a property test's ten thousand invokes must
    # not cost more memory than results made by the dataclass's own __init__ (whose instances
    # share their attribute names; a dict of its own per result took three times the memory).
    fn = lambda_invoker.deploy(lambda e, c: None)
    results = [fn.invoke({"n": n}) for n in range(3)]
    fields = {field.name: getattr(results[0], field.name) for field in dataclasses.fields(InvokeResult)}
    built = InvokeResult(**fields)
    assert all(sys.getsizeof(vars(result)) <= sys.getsizeof(vars(built)) for result in results)


def test_output_follows_the_streams_the_test_swaps_in_between_invocations(lambda_invoker: Invoker) -> None:
    # The routed streams are reused while sys.stdout and sys.stderr stay the same: a test that
    # swaps either between two invocations must see the next invocation's output in the new one.
    import contextlib
    import io

    fn = lambda_invoker.deploy(lambda e, c: print(e["say"]) or print(e["say"], file=sys.stderr))
    out, first_err, second_err = io.StringIO(), io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out):
        with contextlib.redirect_stderr(first_err):
            first = fn.invoke({"say": "one"})
        with contextlib.redirect_stderr(second_err):  # the same stdout, another stderr
            second = fn.invoke({"say": "two"})
    assert out.getvalue() == "one\ntwo\n"
    assert first_err.getvalue() == "one\n" and second_err.getvalue() == "two\n"
    assert first.log_result.count("one\n") == 2 and second.log_result.count("two\n") == 2
    assert type(sys.stdout).__name__ != "_RoutedStream" and type(sys.stderr).__name__ != "_RoutedStream"


@pytest.mark.lambda_leaks(mode="off")  # the first invocation leaves a timer behind on purpose
def test_a_frozen_timer_thaws_into_the_invocation_during_which_it_is_due(lambda_invoker: Invoker) -> None:
    # A thaw steps the environment's loop only when something there could run: a timer left
    # by the first invocation runs in the invocation during which it comes due (the third,
    # once two have finished), not in the second.
    import asyncio

    finished_before: list[int] = []

    async def handler(event: Any, context: Any) -> None:
        if event.get("arm"):
            asyncio.get_running_loop().call_later(5, lambda: finished_before.append(len(fn.invocations)))

    fn = lambda_invoker.deploy(handler, timeout=30)
    fn.invoke({"arm": True})
    fn.invoke({})
    assert finished_before == []
    lambda_invoker.clock.advance(10)
    fn.invoke({})
    assert finished_before == [2]


def test_handler_output_is_logged_when_the_process_has_no_stdout_or_stderr(
        lambda_invoker: Invoker, monkeypatch: pytest.MonkeyPatch) -> None:
    # pythonw, a daemonised runner: sys.stdout and sys.stderr are None. The handler's prints
    # still reach its log, and the routed streams kept from before do not stand in for None.
    fn = lambda_invoker.deploy(lambda e, c: print("hello") or print("oops", file=sys.stderr) or "ok")
    monkeypatch.setattr(sys, "stdout", None)
    monkeypatch.setattr(sys, "stderr", None)
    result = fn.invoke({})
    assert result.function_error is None and result.payload == "ok"
    assert "hello\n" in result.log_result and "oops\n" in result.log_result
    assert sys.stdout is None and sys.stderr is None


def test_an_observer_failing_before_an_async_handler_leaves_no_coroutine_unawaited() -> None:
    import gc
    import warnings

    from pytest_lambda_async import VirtualClock
    from pytest_lambda_async.invocation import EnvironmentObserver

    class Fails(EnvironmentObserver):
        def before_handler(self, env: Any, invocation: Any) -> None:
            raise RuntimeError("observer failed")

    async def handler(event: Any, context: Any) -> str:
        return "ok"

    invoker = Invoker(VirtualClock(), observers=[Fails()])
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with pytest.raises(RuntimeError, match="observer failed"):
                invoker.deploy(handler).invoke({})
            gc.collect()
    finally:
        invoker.functions[0].environments[0].shutdown(reason="test over")
        invoker.close()
    assert not [w for w in caught if "never awaited" in str(w.message)]
