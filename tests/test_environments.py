"""Execution environments: warm and cold starts, freeze and thaw, isolation, lifecycle."""

from __future__ import annotations

import asyncio
import importlib
import os
import sys
import tempfile
from collections.abc import Callable
from typing import Any

import pytest

from pytest_lambda_async import EnvironmentState, Invoker, VirtualClock
from pytest_lambda_async.environment import ExecutionEnvironment
from pytest_lambda_async.invocation import EnvironmentObserver

COUNTER_MODULE = """
    import os
    import tempfile

    INIT_COUNT = []
    INIT_COUNT.append(1)
    invocations = 0

    def handler(event, context):
        global invocations
        invocations += 1
        path = os.path.join(tempfile.gettempdir(), "marker")
        existed = os.path.exists(path)
        open(path, "w").close()
        return {"inits": len(INIT_COUNT), "invocations": invocations, "tmp_existed": existed,
                "tmpdir": tempfile.gettempdir(), "init_type": os.environ["AWS_LAMBDA_INITIALIZATION_TYPE"]}
"""


def test_warm_invocations_share_globals_and_tmp(lambda_invoker: Invoker,
                                                handler_module: Callable[..., str]) -> None:
    fn = lambda_invoker.deploy(f"{handler_module(COUNTER_MODULE)}.handler")
    first, second = fn.invoke({}), fn.invoke({})
    assert (first.cold_start, second.cold_start) == (True, False)
    assert first.environment_id == second.environment_id
    assert first.payload["inits"] == second.payload["inits"] == 1  # init ran once
    assert second.payload["invocations"] == 2
    assert (first.payload["tmp_existed"], second.payload["tmp_existed"]) == (False, True)
    assert first.payload["init_type"] == "on-demand"
    assert first.init_duration is not None and second.init_duration is None
    assert "Init Duration" in first.log_result and "Init Duration" not in second.log_result


@pytest.mark.lambda_cold_start
def test_cold_start_marker_gives_a_fresh_environment_every_time(
    lambda_invoker: Invoker, handler_module: Callable[..., str]
) -> None:
    fn = lambda_invoker.deploy(f"{handler_module(COUNTER_MODULE)}.handler")
    results = [fn.invoke({}) for _ in range(3)]
    assert [r.cold_start for r in results] == [True, True, True]
    assert len({r.environment_id for r in results}) == 3
    assert [r.payload["invocations"] for r in results] == [1, 1, 1]  # no shared globals
    assert [r.payload["tmp_existed"] for r in results] == [False, False, False]  # no shared /tmp


async def slow_counter(event: Any, context: Any) -> int:
    await asyncio.sleep(10)
    return 1


def test_concurrent_async_events_open_a_second_environment(lambda_invoker: Invoker) -> None:
    fn = lambda_invoker.deploy(slow_counter, timeout=30)
    fn.invoke_async({})
    fn.invoke_async({})
    first, second = lambda_invoker.run_until_idle()
    assert {first.environment_id, second.environment_id} == {"slow_counter#1", "slow_counter#2"}
    assert first.cold_start and second.cold_start
    assert first.init_duration == 0.0  # nothing in init waits: no simulated time passes
    fn.invoke_async({})
    (third,) = lambda_invoker.run_until_idle()
    assert not third.cold_start and third.init_duration is None  # a frozen environment is reused


@pytest.mark.lambda_warm_start
def test_warm_start_marker_keeps_one_environment(lambda_invoker: Invoker) -> None:
    fn = lambda_invoker.deploy(slow_counter, timeout=30)
    fn.invoke_async({})
    fn.invoke_async({})
    outcomes = lambda_invoker.run_until_idle()
    assert {o.environment_id for o in outcomes} == {"slow_counter#1"}
    assert [o.cold_start for o in outcomes] == [True, False]


def test_two_environments_share_no_globals_or_tmp(lambda_invoker: Invoker,
                                                  handler_module: Callable[..., str]) -> None:
    name = handler_module(COUNTER_MODULE.replace(
        "global invocations", "global invocations\n        __import__('time').sleep(5)"
    ))
    fn = lambda_invoker.deploy(f"{name}.handler", timeout=10)
    fn.invoke_async({})
    fn.invoke_async({})
    first, second = lambda_invoker.run_until_idle()
    assert first.environment_id != second.environment_id
    assert first.payload["invocations"] == second.payload["invocations"] == 1
    assert first.payload["tmpdir"] != second.payload["tmpdir"]
    assert not first.payload["tmp_existed"] and not second.payload["tmp_existed"]
    assert first.finished_at - first.accepted_at == 5.0  # both ran at once, for 5 simulated s
    assert second.finished_at - second.accepted_at == 5.0


def test_user_helper_modules_are_per_environment(
    lambda_invoker: Invoker, handler_module: Callable[..., str]
) -> None:
    helper = handler_module("state = []\n")
    main = handler_module(f"""
        import {helper}

        def handler(event, context):
            {helper}.state.append(1)
            return len({helper}.state)
    """)
    fn = lambda_invoker.deploy(f"{main}.handler", name="per-env", timeout=5)
    assert fn.invoke({}).payload == 1
    assert fn.invoke({}).payload == 2  # warm: same environment, same module
    assert helper not in sys.modules  # the environment's copy is not the test's
    test_copy = importlib.import_module(helper)
    assert test_copy.state == []
    assert fn.invoke({}).payload == 3


TIMER_HANDLER = """
    import asyncio

    async def handler(event, context):
        loop = asyncio.get_running_loop()
        if event.get("start_timer"):
            loop.call_later(5, print, "timer fired: " + event["request"])
        await asyncio.sleep(event.get("work", 0))
        return "done " + event["request"]
"""


# The timer is leaked on purpose: these tests show what Lambda does with it.
@pytest.mark.lambda_leaks(mode="off")
def test_frozen_timer_fires_at_the_start_of_the_next_invocation(
    lambda_invoker: Invoker, handler_module: Callable[..., str]
) -> None:
    fn = lambda_invoker.deploy(f"{handler_module(TIMER_HANDLER)}.handler")
    first = fn.invoke({"start_timer": True, "request": "one"})
    assert "timer fired" not in first.log_result  # frozen: nothing runs between invocations
    lambda_invoker.clock.advance(60)
    second = fn.invoke({"request": "two"})
    assert "timer fired: one" in second.log_result
    start = second.log_result.index("START RequestId")
    assert second.log_result.index("timer fired: one") > start


@pytest.mark.lambda_leaks(mode="off")
def test_timer_does_not_fire_while_frozen_even_if_due(
    lambda_invoker: Invoker, handler_module: Callable[..., str]
) -> None:
    fn = lambda_invoker.deploy(f"{handler_module(TIMER_HANDLER)}.handler", timeout=30)
    first = fn.invoke({"start_timer": True, "request": "one", "work": 1})
    assert "timer fired" not in first.log_result
    second = fn.invoke({"request": "two", "work": 10})
    assert "timer fired: one" in second.log_result


class Recorder(EnvironmentObserver):
    def __init__(self) -> None:
        self.lost: list[tuple[str, int, str]] = []

    def work_lost(self, env: ExecutionEnvironment, pending: list[Any], reason: str) -> None:
        self.lost.append((env.id, len(pending), reason))


def test_idle_reclaim_loses_frozen_work_and_says_so(handler_module: Callable[..., str]) -> None:
    recorder = Recorder()
    from pytest_lambda_async.invoker import EnvironmentSettings

    invoker = Invoker(VirtualClock(), observers=[recorder],
                      environments=EnvironmentSettings(idle_timeout=300))
    fn = invoker.deploy(f"{handler_module(TIMER_HANDLER)}.handler", name="idle")
    fn.invoke({"start_timer": True, "request": "one"})
    invoker.clock.advance(301)
    second = fn.invoke({"request": "two"})
    assert second.cold_start and "timer fired" not in second.log_result
    assert recorder.lost == [("idle#1", 1, "shut down after 300 s idle")]
    invoker.close()


def test_timeout_resets_the_environment_and_frozen_work_is_lost(handler_module: Callable[..., str]) -> None:
    recorder = Recorder()
    invoker = Invoker(VirtualClock(), observers=[recorder])
    fn = invoker.deploy(f"{handler_module(TIMER_HANDLER)}.handler", name="reset")
    fn.invoke({"start_timer": True, "request": "one"})
    timed_out = fn.invoke({"request": "two", "work": 100})
    assert timed_out.payload["errorType"] == "Sandbox.Timedout"
    assert "timer fired" not in timed_out.log_result  # due at +5 s, after the 3 s timeout
    assert recorder.lost == [("reset#1", 1, "reset after timeout")]
    after = fn.invoke({"request": "three"})
    assert after.cold_start and after.environment_id == "reset#2"
    assert "timer fired" not in after.log_result
    invoker.close()
    assert fn.environments[0].state is EnvironmentState.GONE


def test_end_of_test_shuts_every_environment_down(handler_module: Callable[..., str]) -> None:
    recorder = Recorder()
    invoker = Invoker(VirtualClock(), observers=[recorder])
    fn = invoker.deploy(f"{handler_module(TIMER_HANDLER)}.handler", name="end")
    result = fn.invoke({"start_timer": True, "request": "one"})
    env = fn.environments[0]
    tmp = env.tmp
    assert env.state is EnvironmentState.FROZEN and tmp is not None and os.path.isdir(tmp)
    invoker.close()
    loop = env.policy.environment_loop
    assert env.state is EnvironmentState.GONE and loop is not None and loop.is_closed()
    assert env.loop is None
    assert not os.path.exists(tmp)
    assert recorder.lost == [("end#1", 1, "shut down at the end of the test")]
    assert result.payload == "done one"


def test_shutdown_removes_tmp_with_what_the_code_left_there() -> None:
    def writes(event: Any, context: Any) -> str:
        tmp = tempfile.gettempdir()
        os.makedirs(os.path.join(tmp, "cache", "deep"))
        with open(os.path.join(tmp, "cache", "deep", "file.txt"), "w") as f:
            f.write("left behind")
        return tmp

    invoker = Invoker(VirtualClock())
    fn = invoker.deploy(writes)
    empty = invoker.deploy(lambda event, context: tempfile.gettempdir(), name="empty")
    tmp, empty_tmp = fn.invoke({}).payload, empty.invoke({}).payload
    assert os.path.isfile(os.path.join(tmp, "cache", "deep", "file.txt")) and os.path.isdir(empty_tmp)
    invoker.close()
    assert not os.path.exists(tmp) and not os.path.exists(empty_tmp)


POWERTOOLS_STYLE = """
    import asyncio
    import os

    # One loop for the life of the environment, created at init when running on Lambda.
    loop = asyncio.new_event_loop() if os.environ.get("LAMBDA_TASK_ROOT") else None

    async def work(n):
        await asyncio.sleep(1)
        return n * 2

    def handler(event, context):
        return {"result": loop.run_until_complete(work(event["n"])), "loop": id(loop)}
"""


def test_powertools_style_module_loop_is_reused_warm(
    lambda_invoker: Invoker, handler_module: Callable[..., str]
) -> None:
    fn = lambda_invoker.deploy(f"{handler_module(POWERTOOLS_STYLE)}.handler")
    first, second = fn.invoke({"n": 1}), fn.invoke({"n": 2})
    assert (first.payload["result"], second.payload["result"]) == (2, 4)
    assert first.payload["loop"] == second.payload["loop"]
    assert not second.cold_start
    assert second.duration == pytest.approx(1.0)


def test_tmp_is_private_and_restored(lambda_invoker: Invoker) -> None:
    before = (tempfile.gettempdir(), os.environ.get("TMPDIR"))
    fn = lambda_invoker.deploy(lambda e, c: [tempfile.gettempdir(), os.environ["TMPDIR"]])
    inside = fn.invoke({}).payload
    assert inside[0] == inside[1] and inside[0] != before[0]
    assert (tempfile.gettempdir(), os.environ.get("TMPDIR")) == before


def test_environment_markers_per_module_and_ini(pytester: pytest.Pytester) -> None:
    pytester.makeini("""
        [pytest]
        asyncio_default_fixture_loop_scope = function
        lambda_reuse = never
    """)
    pytester.makepyfile(test_ini="""
        def test_ini_reuse_never(lambda_invoker):
            fn = lambda_invoker.deploy(lambda e, c: None)
            assert [fn.invoke({}).cold_start for _ in range(2)] == [True, True]
    """, test_module="""
        import pytest
        pytestmark = pytest.mark.lambda_environment(reuse="auto", max_environments=1)

        def test_module_reuse_auto(lambda_invoker):
            fn = lambda_invoker.deploy(lambda e, c: None)
            assert [fn.invoke({}).cold_start for _ in range(2)] == [True, False]

        @pytest.mark.lambda_warm_start
        def test_warm(lambda_invoker):
            fn = lambda_invoker.deploy(lambda e, c: None)
            assert [fn.invoke({}).cold_start for _ in range(2)] == [True, False]

        @pytest.mark.lambda_environment(reuse="sometimes")
        def test_bad(lambda_invoker):
            pass
    """)
    result = pytester.runpytest()
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines(["*reuse='sometimes' is not a reuse policy*"])


def test_timers_due_at_the_same_instant_run_in_the_order_they_were_set(lambda_invoker: Invoker) -> None:
    async def handler(event: Any, context: Any) -> list[int]:
        order: list[int] = []

        async def worker(n: int) -> None:
            await asyncio.sleep(1)
            order.append(n)

        await asyncio.gather(*(worker(n) for n in range(12)))
        return order

    assert lambda_invoker.deploy(handler).invoke({}).payload == list(range(12))


def test_each_tests_tmp_dirs_are_gone_when_it_ends_and_the_root_with_the_session(
        pytester: pytest.Pytester, tmp_path: Any) -> None:
    # One directory holds the session's environments; each test's own /tmp directories (with
    # what its code left there) are removed at its end, the holder at the session's end.
    record = tmp_path / "dirs.txt"
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(test_tmp=f"""
        import os, tempfile

        RECORD = {str(record)!r}

        def leaves(event, context):
            with open(os.path.join(tempfile.gettempdir(), "left.txt"), "w") as f:
                f.write("x")
            return tempfile.gettempdir()

        def test_first(lambda_invoker):
            tmp = lambda_invoker.deploy(leaves).invoke({{}}).payload
            with open(RECORD, "a") as f:
                f.write(tmp + "\\n")

        def test_second(lambda_invoker):
            first = open(RECORD).read().split()[0]
            assert not os.path.exists(first)  # gone with the first test
            tmp = lambda_invoker.deploy(leaves).invoke({{}}).payload
            assert os.path.dirname(tmp) == os.path.dirname(first)  # the session's holder
            with open(RECORD, "a") as f:
                f.write(tmp + "\\n")
    """)
    result = pytester.runpytest_subprocess("-p", "no:randomly", "-p", "no:cacheprovider", timeout=120)
    result.assert_outcomes(passed=2)
    dirs = record.read_text().split()
    assert len(dirs) == 2
    assert not any(os.path.exists(d) for d in dirs)
    assert not os.path.exists(os.path.dirname(dirs[0]))
    assert os.path.basename(os.path.dirname(dirs[0])).startswith("lambda-envs-")


def test_environments_still_get_a_tmp_after_a_test_removed_the_directory_tempfile_used(
        pytester: pytest.Pytester) -> None:
    # A fixture points tempfile at a directory of its own and removes it after its test: the
    # directory the session's environments went in goes with it, and the next test's
    # environments need a new one (and a test's environments go where its tempfile points).
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(test_tmp="""
        import os, tempfile
        import pytest

        @pytest.fixture
        def private_tmp(monkeypatch):
            with tempfile.TemporaryDirectory() as directory:
                monkeypatch.setattr(tempfile, "tempdir", directory)
                yield directory

        def where(event, context):
            return tempfile.gettempdir()

        def test_first(private_tmp, lambda_invoker):
            tmp = lambda_invoker.deploy(where).invoke({}).payload
            assert tmp.startswith(private_tmp + os.sep)

        def test_second(lambda_invoker):
            tmp = lambda_invoker.deploy(where).invoke({}).payload
            assert os.path.isdir(tmp)
    """)
    result = pytester.runpytest_subprocess("-p", "no:randomly", "-p", "no:cacheprovider", timeout=120)
    result.assert_outcomes(passed=2)


def test_an_observer_failing_at_shutdown_does_not_keep_other_environments_or_the_process() -> None:
    # An observer's error while one environment shuts down is raised at close(), after every
    # environment of every function is down and the process is the test's again.
    class FailsOnce(EnvironmentObserver):
        failed = False

        def work_lost(self, env: ExecutionEnvironment, pending: list[Any], reason: str) -> None:
            if not FailsOnce.failed:
                FailsOnce.failed = True
                raise RuntimeError("observer failed")

    async def leaves_a_timer(event: Any, context: Any) -> str:
        asyncio.get_running_loop().call_later(60, lambda: None)
        return tempfile.gettempdir()

    cwd, environ = os.getcwd(), dict(os.environ)
    invoker = Invoker(VirtualClock(), observers=[FailsOnce()])
    first = invoker.deploy(leaves_a_timer, name="first")
    second = invoker.deploy(leaves_a_timer, name="second")
    tmps = [first.invoke({}).payload, second.invoke({}).payload]
    with pytest.raises(RuntimeError, match="observer failed"):
        invoker.close()
    assert all(env.state is EnvironmentState.GONE for fn in (first, second) for env in fn.environments)
    assert not any(os.path.exists(tmp) for tmp in tmps)
    assert (os.getcwd(), dict(os.environ)) == (cwd, environ)
    assert invoker.process is None  # handed back
