"""The leaked-work detector: each kind of leak, in `def` and `async def` handlers, and no false positives."""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from pytest_lambda_async import Invoker, LambdaContext, LeakDetector, VirtualClock
from pytest_lambda_async.leaks import Finding, LeakKind

MakeHandler = Callable[..., str]


@pytest.fixture
def detector() -> LeakDetector:
    return LeakDetector()


@pytest.fixture
def invoker(detector: LeakDetector) -> Iterator[Invoker]:
    invoker = Invoker(VirtualClock(), observers=[detector.observer])
    yield invoker
    invoker.close()
    detector.close()


def site_of(path: Path, source: str) -> str:
    """`name.py:N` of the line marked `# SITE` in a handler module."""
    import textwrap

    lines = textwrap.dedent(source).splitlines()
    number = next(n for n, line in enumerate(lines, 1) if "# SITE" in line)
    return f"{path.name}:{number}"


def run(invoker: Invoker, make: MakeHandler, tmp_path: Path, source: str,
        event: object = None) -> tuple[list[Finding], str]:
    modname = make(source)
    fn = invoker.deploy(f"{modname}.handler", name="leaky")
    fn.invoke(event if event is not None else {})
    detector = invoker.observers[0].detector  # type: ignore[attr-defined]
    return list(detector.findings), site_of(tmp_path / f"{modname}.py", source)


# -- the six kinds, each in a def handler (asyncio inside) and an async def handler -----------
CASES = {
    "pending-task-def": (LeakKind.PENDING_TASK, "send_metrics", """
        import asyncio
        LOOP = asyncio.new_event_loop()   # one loop for the life of the environment

        async def send_metrics():
            await asyncio.sleep(10)

        def handler(event, context):
            LOOP.create_task(send_metrics())  # SITE
            return LOOP.run_until_complete(asyncio.sleep(0, "ok"))
    """),
    "pending-task-async": (LeakKind.PENDING_TASK, "send_metrics", """
        import asyncio

        async def send_metrics():
            await asyncio.sleep(10)

        async def handler(event, context):
            asyncio.create_task(send_metrics())  # SITE
            return "ok"
    """),
    "cancelled-at-exit-def": (LeakKind.CANCELLED_AT_EXIT, "send_metrics", """
        import asyncio

        async def send_metrics():
            await asyncio.sleep(10)

        async def main():
            asyncio.create_task(send_metrics())  # SITE
            return "ok"

        def handler(event, context):
            return asyncio.run(main())
    """),
    "never-awaited-def": (LeakKind.NEVER_AWAITED, "log_to_dynamo", """
        import asyncio

        async def log_to_dynamo(record):
            await asyncio.sleep(0)

        async def main():
            log_to_dynamo({"id": 1})  # SITE
            return "ok"

        def handler(event, context):
            return asyncio.run(main())
    """),
    "never-awaited-async": (LeakKind.NEVER_AWAITED, "log_to_dynamo", """
        import asyncio

        async def log_to_dynamo(record):
            await asyncio.sleep(0)

        async def handler(event, context):
            log_to_dynamo({"id": 1})  # SITE
            return "ok"
    """),
    "awaitable-returned-def": (LeakKind.AWAITABLE_RETURNED, "list_buckets", """
        async def list_buckets():
            return ["a", "b"]

        def handler(event, context):
            return list_buckets()  # SITE
    """),
    "awaitable-returned-async": (LeakKind.AWAITABLE_RETURNED, "list_buckets", """
        async def list_buckets():
            return ["a", "b"]

        async def handler(event, context):
            buckets = list_buckets()  # SITE
            return buckets
    """),
    "thread-def": (LeakKind.THREAD, "uploader", """
        import threading
        STOP = threading.Event()

        def handler(event, context):
            threading.Thread(target=STOP.wait, name="uploader").start()  # SITE
            return "ok"
    """),
    "thread-async": (LeakKind.THREAD, "uploader", """
        import threading
        STOP = threading.Event()

        async def handler(event, context):
            threading.Thread(target=STOP.wait, name="uploader", daemon=True).start()  # SITE
            return "ok"
    """),
    "executor-job-def": (LeakKind.EXECUTOR_JOB, "Event.wait", """
        import threading
        from concurrent.futures import ThreadPoolExecutor
        STOP = threading.Event()
        POOL = ThreadPoolExecutor(1)

        def handler(event, context):
            POOL.submit(STOP.wait)  # SITE
            return "ok"
    """),
    "executor-job-async": (LeakKind.EXECUTOR_JOB, "Event.wait", """
        import asyncio
        import threading
        STOP = threading.Event()

        async def handler(event, context):
            asyncio.get_running_loop().run_in_executor(None, STOP.wait)  # SITE
            return "ok"
    """),
    "callback-def": (LeakKind.CALLBACK, "flush", """
        import asyncio
        LOOP = asyncio.new_event_loop()

        def flush():
            print("flushed")

        def handler(event, context):
            LOOP.call_soon(flush)  # SITE
            return "ok"
    """),
    "callback-async": (LeakKind.CALLBACK, "flush", """
        import asyncio

        def flush():
            print("flushed")

        async def handler(event, context):
            loop = asyncio.get_running_loop()
            loop.call_at(loop.time() + 5, flush)  # SITE
            return "ok"
    """),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_kind_is_found_with_its_creation_line(
    case: str, invoker: Invoker, handler_module: MakeHandler, tmp_path: Path
) -> None:
    kind, name, source = CASES[case]
    findings, site = run(invoker, handler_module, tmp_path, source)
    try:
        assert [(f.kind, f.name) for f in findings] == [(kind, name)]
        finding = findings[0]
        assert finding.site.endswith(site)
        assert f"{site} (function leaky, request " in str(finding)
        assert finding.function == "leaky" and finding.request_id
    finally:
        for fn in invoker.functions:
            for env in fn.environments:
                stop = getattr(env.module, "STOP", None)
                if stop is not None:
                    stop.set()


def test_cancelled_at_exit_has_no_async_def_form(invoker: Invoker, handler_module: MakeHandler,
                                                 tmp_path: Path) -> None:
    # asyncio.run() refuses to run inside an async def handler's running loop; what an async
    # handler leaves behind stays pending on the environment's loop instead (pending-task).
    findings, site = run(invoker, handler_module, tmp_path, """
        import asyncio

        async def send_metrics():
            await asyncio.sleep(10)

        async def handler(event, context):
            asyncio.ensure_future(send_metrics())  # SITE
            return "ok"
    """)
    assert [(f.kind, f.site.endswith(site)) for f in findings] == [(LeakKind.PENDING_TASK, True)]


def test_timer_left_by_asyncio_run_is_lost_with_its_loop(invoker: Invoker, handler_module: MakeHandler,
                                                        tmp_path: Path) -> None:
    findings, site = run(invoker, handler_module, tmp_path, """
        import asyncio

        def flush():
            print("flushed")

        async def main():
            asyncio.get_running_loop().call_later(5, flush)  # SITE
            return "ok"

        def handler(event, context):
            return asyncio.run(main())
    """)
    assert len(findings) == 1
    assert findings[0].kind is LeakKind.CALLBACK and findings[0].site.endswith(site)
    assert "timer flush() due in 5 s" in str(findings[0])
    assert "lost: its event loop was closed" in str(findings[0])


def test_message_names_the_fate_and_the_fix(invoker: Invoker, handler_module: MakeHandler,
                                           tmp_path: Path) -> None:
    findings, _ = run(invoker, handler_module, tmp_path, CASES["pending-task-async"][2])
    text = str(findings[0])
    assert text.startswith("[pending-task] task send_metrics(), created at ")
    assert "resumes during a later invocation if the environment is reused, and is lost if it is not" in text
    assert "Fix: await the task" in text


def test_frozen_task_resumes_in_the_next_invocation_and_is_reported_once(
    invoker: Invoker, handler_module: MakeHandler, detector: LeakDetector
) -> None:
    modname = handler_module("""
        import asyncio
        LOG = []

        async def send_metrics(n):
            await asyncio.sleep(1)
            LOG.append(n)

        async def handler(event, context):
            if event.get("leak"):
                asyncio.create_task(send_metrics(event["n"]))
            return list(LOG)
    """)
    fn = invoker.deploy(f"{modname}.handler")
    assert fn.invoke({"leak": True, "n": 1}).payload == []
    assert [f.kind for f in detector.findings] == [LeakKind.PENDING_TASK]
    invoker.clock.advance(10)
    assert fn.invoke({}).payload == [1]  # thawed: it ran inside the second invocation
    invoker.close()
    assert len(detector.findings) == 1


def test_stacks_setting_records_the_creation_stack(handler_module: MakeHandler, tmp_path: Path) -> None:
    detector = LeakDetector(stacks=True)
    invoker = Invoker(VirtualClock(), observers=[detector.observer])
    source = """
        import asyncio

        async def send_metrics():
            await asyncio.sleep(10)

        def start():
            asyncio.create_task(send_metrics())  # SITE

        async def handler(event, context):
            start()
            return "ok"
    """
    findings, site = run(invoker, handler_module, tmp_path, source)
    invoker.close()
    assert len(findings[0].stack) == 2
    assert findings[0].stack[0].endswith(f"{site} in start")
    assert " in handler" in findings[0].stack[1]
    assert f"{site} in start" in str(findings[0]).splitlines()[1]
    without = LeakDetector()
    assert without.stacks is False


def test_off_mode_watches_nothing(handler_module: MakeHandler, tmp_path: Path) -> None:
    detector = LeakDetector(mode="off")
    invoker = Invoker(VirtualClock(), observers=[detector.observer])
    findings, _ = run(invoker, handler_module, tmp_path, CASES["pending-task-async"][2])
    invoker.close()
    assert findings == [] and detector.findings == []


def test_ignore_patterns_set_findings_aside(handler_module: MakeHandler, tmp_path: Path) -> None:
    detector = LeakDetector(ignore=["send_*"])
    invoker = Invoker(VirtualClock(), observers=[detector.observer])
    findings, _ = run(invoker, handler_module, tmp_path, CASES["pending-task-async"][2])
    invoker.close()
    assert findings == [] and [f.name for f in detector.ignored] == ["send_metrics"]


@pytest.mark.parametrize("pattern", ["send_metrics", "pending-task", "handler_*.py:*", "*/handler_*"])
def test_a_pattern_matches_name_kind_or_site(pattern: str) -> None:
    finding = Finding(LeakKind.PENDING_TASK, "send_metrics", "task send_metrics()",
                      "/tmp/x/handler_1.py:7", "frozen")
    assert finding.matches(pattern)
    assert not finding.matches("flush")


def test_bad_settings_say_how_to_fix_them() -> None:
    from pytest_lambda_async import LambdaUsageError

    with pytest.raises(LambdaUsageError, match="mode='loud' is not a leak mode; use 'fail'"):
        LeakDetector(mode="loud")
    with pytest.raises(LambdaUsageError, match=r"write ignore=\['flush'\]"):
        LeakDetector(ignore="flush")


def test_work_lost_on_shutdown_that_no_invocation_made(
    invoker: Invoker, handler_module: MakeHandler, detector: LeakDetector, tmp_path: Path
) -> None:
    # A timer the init phase (module import) started is nobody's invocation; it is lost when
    # the environment shuts down, and said so.
    modname = handler_module("""
        import asyncio
        LOOP = asyncio.new_event_loop()

        def refresh_cache():
            pass

        LOOP.call_later(60, refresh_cache)

        def handler(event, context):
            return "ok"
    """)
    fn = invoker.deploy(f"{modname}.handler")
    fn.invoke({})
    assert detector.findings == []
    invoker.close()
    assert [(f.kind, f.name) for f in detector.findings] == [(LeakKind.WORK_LOST, "refresh_cache")]
    assert "lost: the environment was shut down at the end of the test" in str(detector.findings[0])
    assert f"{modname}.py:5)" in str(detector.findings[0])


def test_work_lost_at_shutdown_is_reported_even_in_a_finished_tasks_place(
    invoker: Invoker, handler_module: MakeHandler, detector: LeakDetector
) -> None:
    # Once a task the handler awaited is freed, a later task can take its id (CPython reuses
    # the memory). Work frozen at shutdown is recognised as already reported by identity, not
    # by id, so the later task is still reported.
    modname = handler_module("""
        import asyncio
        DONE = []

        async def work():
            await asyncio.sleep(0)

        async def handler(event, context):
            task = asyncio.create_task(work())
            await task
            DONE.append(task)
            return "ok"
    """)
    fn = invoker.deploy(f"{modname}.handler")
    assert fn.invoke({}).payload == "ok"
    env = fn.environments[0]
    assert env.loop is not None and env.module is not None

    async def refresh_forever() -> None:
        await asyncio.Event().wait()

    coros = [refresh_forever() for _ in range(20)]
    done = env.module.DONE.pop()
    freed = id(done)
    del done  # freed here: the next task is likely to be made in its memory
    mine = []
    for coro in coros:  # the test's own tasks, outside any invocation
        mine.append(env.loop.create_task(coro))
        if id(mine[-1]) == freed:
            break
    else:
        pytest.skip("CPython did not reuse the finished task's memory")
    for coro in coros[len(mine):]:
        coro.close()
    invoker.close()
    assert [f.kind for f in detector.findings] == [LeakKind.WORK_LOST] * len(mine)
    assert all(f.name.endswith("refresh_forever") for f in detector.findings)


def test_timed_out_invocation_is_not_reported_as_a_leak(
    invoker: Invoker, handler_module: MakeHandler, detector: LeakDetector
) -> None:
    modname = handler_module("""
        import asyncio

        async def part(n):
            await asyncio.sleep(100)

        async def handler(event, context):
            await asyncio.gather(part(1), part(2))
    """)
    result = invoker.deploy(f"{modname}.handler").invoke({})
    assert result.payload["errorType"] == "Sandbox.Timedout"
    invoker.close()
    assert detector.findings == []


# -- no false positives ---------------------------------------------------------------------------
def test_awaited_and_cancelled_and_awaited_work_is_not_a_leak(
    invoker: Invoker, handler_module: MakeHandler, tmp_path: Path
) -> None:
    findings, _ = run(invoker, handler_module, tmp_path, """
        import asyncio
        import threading
        from concurrent.futures import ThreadPoolExecutor
        POOL = ThreadPoolExecutor(2)   # SITE: idle workers stay alive between invocations

        def flush():
            pass

        async def work(n):
            await asyncio.sleep(n)
            return n

        async def main():
            loop = asyncio.get_running_loop()
            task = asyncio.create_task(work(50))
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
            timer = loop.call_later(5, flush)
            timer.cancel()
            loop.call_soon(flush)
            await asyncio.gather(work(1), asyncio.create_task(work(2)))
            await loop.run_in_executor(None, len, "abc")
            await work(0)

        def handler(event, context):
            asyncio.run(main())
            thread = threading.Thread(target=len, args=("x",))
            thread.start()
            thread.join()
            POOL.submit(len, "y").result()
            return "ok"
    """)
    assert findings == []


def test_async_handler_that_awaits_everything_is_clean(
    invoker: Invoker, handler_module: MakeHandler, tmp_path: Path
) -> None:
    findings, _ = run(invoker, handler_module, tmp_path, """
        import asyncio

        async def work(n):   # SITE
            await asyncio.sleep(n)

        async def handler(event, context):
            loop = asyncio.get_running_loop()
            task = asyncio.create_task(work(10))
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            loop.call_soon(len, "x")
            await asyncio.wait_for(work(1), timeout=2)
            await asyncio.to_thread(len, "abc")
            return "ok"
    """)
    assert findings == []


def test_threads_and_tasks_from_before_the_invocation_are_not_the_handlers(
    invoker: Invoker, handler_module: MakeHandler, tmp_path: Path
) -> None:
    stop = threading.Event()
    before = threading.Thread(target=stop.wait, name="started-by-the-test")
    before.start()
    loop = asyncio.new_event_loop()
    timer = loop.call_later(5, print)
    try:
        findings, _ = run(invoker, handler_module, tmp_path, """
            def handler(event, context):   # SITE
                return "ok"
        """)
        assert findings == []
    finally:
        stop.set()
        before.join()
        timer.cancel()
        loop.close()


@pytest.mark.asyncio
async def test_work_the_test_started_outside_the_invocation_is_not_reported(
    handler_module: MakeHandler, tmp_path: Path
) -> None:
    detector = LeakDetector()
    invoker = Invoker(VirtualClock(), observers=[detector.observer])
    mine = asyncio.create_task(asyncio.sleep(60))  # the test's own, on pytest-asyncio's loop
    modname = handler_module("""
        import asyncio

        async def handler(event, context):
            await asyncio.sleep(1)
            return "ok"
    """)
    result = await invoker.deploy(f"{modname}.handler").ainvoke({})
    assert result.payload == "ok"
    invoker.close()
    mine.cancel()
    assert detector.findings == []


def test_library_daemon_pool_is_not_a_leak(
    invoker: Invoker, handler_module: MakeHandler, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    library = tmp_path / "lib" / "site-packages"
    library.mkdir(parents=True)
    (library / "fakelib_pool.py").write_text(
        "import threading\n"
        "STOP = threading.Event()\n"
        "def start_pool():\n"
        "    threading.Thread(target=STOP.wait, name='fakelib-pool', daemon=True).start()\n"
    )
    monkeypatch.syspath_prepend(str(library))
    import fakelib_pool  # type: ignore[import-not-found]

    try:
        findings, _ = run(invoker, handler_module, tmp_path, """
            import fakelib_pool

            def handler(event, context):
                fakelib_pool.start_pool()   # SITE
                return "ok"
        """)
        assert findings == []
    finally:
        fakelib_pool.STOP.set()


LIBRARY_CLIENT = """
import asyncio


async def _put(record):
    await asyncio.sleep(0)


def _build(record, hops):
    return _build(record, hops - 1) if hops > 1 else _put(record)


def put(record, hops=1):
    # A sync call that hands back a coroutine, made `hops` frames further into the library.
    return _build(record, hops)
"""


@pytest.fixture
def library_client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    library = tmp_path / "lib" / "site-packages"
    library.mkdir(parents=True)
    (library / "fakelib_client.py").write_text(LIBRARY_CLIENT)
    monkeypatch.syspath_prepend(str(library))
    yield "fakelib_client"
    sys.modules.pop("fakelib_client", None)


def test_never_awaited_through_library_frames_is_found_at_the_users_line(
    invoker: Invoker, handler_module: MakeHandler, tmp_path: Path, library_client: str
) -> None:
    # Two frames of library code (put, _build) between the handler and the coroutine.
    findings, site = run(invoker, handler_module, tmp_path, """
        import fakelib_client

        def handler(event, context):
            fakelib_client.put({"id": 1})  # SITE
            return "ok"
    """)
    assert [(f.kind, f.name) for f in findings] == [(LeakKind.NEVER_AWAITED, "_put")]
    assert findings[0].site.endswith(site)


def test_stacks_setting_sees_through_more_library_frames(
    handler_module: MakeHandler, tmp_path: Path, library_client: str
) -> None:
    detector = LeakDetector(stacks=True)
    invoker = Invoker(VirtualClock(), observers=[detector.observer])
    findings, site = run(invoker, handler_module, tmp_path, """
        import fakelib_client

        def handler(event, context):
            fakelib_client.put({"id": 1}, hops=5)  # SITE
            return "ok"
    """)
    invoker.close()
    assert [(f.kind, f.name) for f in findings] == [(LeakKind.NEVER_AWAITED, "_put")]
    assert findings[0].site.endswith(site)
    assert findings[0].stack[0].endswith(f"{site} in handler")


def test_boto3_and_moto_work_is_not_a_leak(
    invoker: Invoker, handler_module: MakeHandler, tmp_path: Path
) -> None:
    moto = pytest.importorskip("moto")
    with moto.mock_aws():
        findings, _ = run(invoker, handler_module, tmp_path, """
            import boto3

            def handler(event, context):
                s3 = boto3.client("s3", region_name="us-east-1")   # SITE
                s3.create_bucket(Bucket="leaks")
                path = "/tmp/upload.txt"
                with open(path, "w") as f:
                    f.write("x" * 100)
                s3.upload_file(path, "leaks", "upload.txt")
                return [b["Name"] for b in s3.list_buckets()["Buckets"]]
        """)
    assert findings == []


# -- watch(): handlers a test calls itself ------------------------------------------------------
async def send_metrics() -> None:
    await asyncio.sleep(10)


async def direct_handler(event: object, context: LambdaContext) -> str:
    asyncio.create_task(send_metrics())  # noqa: RUF006  # DIRECT
    return "ok"


DIRECT_LINE = next(n for n, line in enumerate(Path(__file__).read_text().splitlines(), 1)
                   if line.endswith("# DIRECT"))


@pytest.mark.asyncio
async def test_async_with_watch_finds_a_task_left_pending(lambda_context: LambdaContext) -> None:
    detector = LeakDetector()
    async with detector.watch(lambda_context):
        assert await direct_handler({}, lambda_context) == "ok"
    try:
        assert [f.kind for f in detector.findings] == [LeakKind.PENDING_TASK]
        assert detector.findings[0].site.endswith(f"test_leaks.py:{DIRECT_LINE}")
        assert detector.findings[0].request_id == lambda_context.aws_request_id
    finally:
        for task in asyncio.all_tasks():
            if task is not asyncio.current_task():
                task.cancel()


def test_with_watch_finds_a_coroutine_returned_and_a_thread(lambda_context: LambdaContext) -> None:
    detector = LeakDetector()
    stop = threading.Event()

    def handler(event: object, context: LambdaContext) -> object:
        threading.Thread(target=stop.wait, name="poller").start()
        return send_metrics()

    with detector.watch(lambda_context) as watch:
        result = watch.returned(handler({}, lambda_context))
    stop.set()
    result.close()
    assert sorted(f.kind.value for f in detector.findings) == ["awaitable-returned", "thread"]
    assert all(f.site.startswith("tests/test_leaks.py:") for f in detector.findings)


def test_with_watch_finds_an_executor_job_and_ignores_the_idle_pool() -> None:
    detector = LeakDetector()
    stop = threading.Event()
    with ThreadPoolExecutor(1) as pool:
        pool.submit(len, "warm").result()  # the worker exists before the block
        with detector.watch():
            pool.submit(stop.wait)
        stop.set()
    assert [f.kind for f in detector.findings] == [LeakKind.EXECUTOR_JOB]


def test_nested_watch_blocks_close_their_own_window() -> None:
    # Two windows that have recorded nothing yet are still two windows: closing the inner one
    # leaves the outer one watching (and origin tracking on until it closes too).
    detector = LeakDetector()
    stop = threading.Event()
    before = sys.get_coroutine_origin_tracking_depth()
    try:
        with detector.watch():
            with detector.watch():
                pass
            threading.Thread(target=stop.wait, name="after-inner").start()
    finally:
        stop.set()
    assert [(f.kind, f.name) for f in detector.findings] == [(LeakKind.THREAD, "after-inner")]
    assert sys.get_coroutine_origin_tracking_depth() == before


def test_a_stacks_window_inside_another_records_deep_origins() -> None:
    from pytest_lambda_async.leaks.tracking import _Tracker

    plain, deep = LeakDetector(), LeakDetector(stacks=True)
    before = sys.get_coroutine_origin_tracking_depth()
    with plain.watch():
        outer = sys.get_coroutine_origin_tracking_depth()
        with deep.watch():
            inner = sys.get_coroutine_origin_tracking_depth()
        back = sys.get_coroutine_origin_tracking_depth()
    shallow, deep_depth = _Tracker.ORIGIN_DEPTH, _Tracker.ORIGIN_DEPTH_STACKS
    assert (outer, inner, back) == (shallow, deep_depth, shallow)
    assert sys.get_coroutine_origin_tracking_depth() == before


def test_a_sites_line_is_worked_out_as_the_frame_would() -> None:
    # A site keeps its frame's code and last instruction; the line is worked out when reported.
    from pytest_lambda_async.leaks.sites import _line_of

    def stack() -> Iterator[tuple[object, int]]:
        frame = sys._getframe()
        while frame is not None:
            yield frame.f_lineno, _line_of(frame.f_code, frame.f_lasti)
            frame = frame.f_back

    lines = list(
        stack()  # a call over two lines
    )
    assert len(lines) > 5 and all(expected == got for expected, got in lines)


def test_watched_loop_methods_pass_arguments_and_context_through() -> None:
    import contextvars

    var = contextvars.ContextVar("var", default="outer")
    inner = contextvars.copy_context()
    inner.run(var.set, "inner")
    seen: list[tuple[tuple[int, ...], str]] = []

    def record(*args: int) -> None:
        seen.append((args, var.get()))

    shapes: list[tuple[int, ...]] = [(), (1,), (1, 2)]
    detector = LeakDetector()
    loop = asyncio.new_event_loop()
    try:
        with detector.watch():
            for args in shapes:
                loop.call_soon(record, *args)
                loop.call_soon(record, *args, context=inner)
                loop.call_at(loop.time(), record, *args)
                loop.call_at(loop.time(), record, *args, context=inner)
            task = loop.create_task(asyncio.sleep(0, "done"), name="named")
            loop.run_until_complete(task)
    finally:
        loop.close()
    assert (task.get_name(), task.result()) == ("named", "done")
    assert sorted(seen) == sorted((args, value) for args in shapes for value in ("outer", "inner") * 2)
    assert detector.findings == []
