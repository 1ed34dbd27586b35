"""Every way handler or init code can end the process, in every handler kind, maps to AWS's
`Runtime.ExitError`, resets the environment, and leaves pytest running.

Expected payloads: LocalStack's AWS-validated recordings
(tests/aws/services/lambda_/test_lambda.snapshot.json, TestLambdaErrors::test_lambda_handler_exit
and ::test_lambda_runtime_exit: `sys.exit(0)` in a handler and at import).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from pytest_lambda_async import Invoker

NO_REASON = "Runtime exited without providing a reason"

# How the code ends -> the reason Lambda gives.
ENDS = {
    "sys.exit()": ("sys.exit()", NO_REASON),
    "sys.exit(0)": ("sys.exit(0)", NO_REASON),
    "sys.exit(3)": ("sys.exit(3)", "Runtime exited with error: exit status 3"),
    "sys.exit(message)": ("sys.exit('bye')", "Runtime exited with error: exit status 1"),
    "KeyboardInterrupt": ("raise KeyboardInterrupt", "Runtime exited with error: signal: interrupt"),
    "GeneratorExit": ("raise GeneratorExit", "Runtime exited with error: exit status 1"),
    "CancelledError": ("raise asyncio.CancelledError", "Runtime exited with error: exit status 1"),
    "os._exit(0)": ("os._exit(0)", NO_REASON),
    "os._exit(7)": ("os._exit(7)", "Runtime exited with error: exit status 7"),
}

PRELUDE = """
import asyncio, os, sys

def end(event):
    if event.get("end"):
        {end}

async def main(event):
    await asyncio.sleep(1)
    end(event)
    return "ok"
"""

KINDS = {
    "def": """
def handler(event, context):
    end(event)
    return "ok"
""",
    "async def": """
async def handler(event, context):
    return await main(event)
""",
    "asyncio.run in def": """
def handler(event, context):
    return asyncio.run(main(event))
""",
    "loop for the environment's life": """
LOOP = asyncio.new_event_loop()

def handler(event, context):
    return LOOP.run_until_complete(main(event))
""",
}


def exit_payload(request_id: str, reason: str) -> dict[str, str]:
    return {"errorType": "Runtime.ExitError", "errorMessage": f"RequestId: {request_id} Error: {reason}"}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("end", ENDS)
def test_handler_exit_is_runtime_exit_error_and_resets(
    lambda_invoker: Invoker, handler_module: Callable[[str], str], kind: str, end: str
) -> None:
    code, reason = ENDS[end]
    modname = handler_module(PRELUDE.format(end=code) + KINDS[kind])
    fn = lambda_invoker.deploy(f"{modname}.handler")
    assert fn.invoke({}).payload == "ok"
    result = fn.invoke({"end": True})
    assert result.function_error == "Unhandled"
    assert result.payload == exit_payload(result.request_id, reason)
    assert list(result.payload) == ["errorType", "errorMessage"]
    assert f"RequestId: {result.request_id} Error: {reason}\nRuntime.ExitError\n" in result.log_result
    assert "Cannot close a running event loop" not in result.log_result
    after = fn.invoke({})
    assert (after.payload, after.cold_start) == ("ok", True)  # the environment was reset


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("end", ["sys.exit(0)", "KeyboardInterrupt", "os._exit(7)"])
def test_handler_exit_ends_an_async_event_with_retries(
    lambda_invoker: Invoker, handler_module: Callable[[str], str], kind: str, end: str
) -> None:
    code, reason = ENDS[end]
    modname = handler_module(PRELUDE.format(end=code) + KINDS[kind])
    failures = lambda_invoker.sink("failures")
    fn = lambda_invoker.deploy(f"{modname}.handler", on_failure=failures)
    accepted = fn.invoke_async({"end": True})
    [outcome] = lambda_invoker.run_until_idle()
    assert (outcome.request_id, outcome.condition, outcome.attempts) == (
        accepted.request_id, "RetriesExhausted", 3)
    assert outcome.payload == exit_payload(accepted.request_id, reason)
    assert [a.cold_start for a in outcome.history] == [True, True, True]
    assert len(failures.records) == 1


@pytest.mark.parametrize("end", ENDS)
def test_init_exit_is_runtime_exit_error(
    lambda_invoker: Invoker, handler_module: Callable[[str], str], end: str
) -> None:
    code, reason = ENDS[end]
    modname = handler_module(PRELUDE.format(end=code) + "\nend({'end': True})\n"
                             "def handler(event, context):\n    return 'ok'\n")
    fn = lambda_invoker.deploy(f"{modname}.handler")
    for _ in range(2):
        result = fn.invoke({})
        assert result.function_error == "Unhandled"
        assert result.payload == exit_payload(result.request_id, reason)
        assert result.cold_start is True


def test_init_exit_ends_an_async_event(
    lambda_invoker: Invoker, handler_module: Callable[[str], str]
) -> None:
    modname = handler_module("import sys\nsys.exit(0)\n")
    fn = lambda_invoker.deploy(f"{modname}.handler", maximum_retry_attempts=1)
    fn.invoke_async({})
    [outcome] = lambda_invoker.run_until_idle()
    assert (outcome.condition, outcome.attempts) == ("RetriesExhausted", 2)
    assert outcome.payload["errorType"] == "Runtime.ExitError"


def test_exit_from_a_background_task_crashes_the_invocation(lambda_invoker: Invoker) -> None:
    import asyncio
    import sys

    async def handler(event: object, context: object) -> str:
        async def background() -> None:
            sys.exit(4)

        asyncio.get_running_loop().create_task(background())
        await asyncio.sleep(5)
        return "never"

    result = lambda_invoker.deploy(handler).invoke({})
    assert result.payload == exit_payload(
        result.request_id, "Runtime exited with error: exit status 4")


def test_sys_exit_message_and_uncaught_traceback_are_logged(lambda_invoker: Invoker) -> None:
    import sys

    def says_bye(event: object, context: object) -> None:
        sys.exit("bye now")

    def interrupted(event: object, context: object) -> None:
        raise KeyboardInterrupt

    assert "bye now\nRequestId:" in lambda_invoker.deploy(says_bye).invoke({}).log_result
    log = lambda_invoker.deploy(interrupted).invoke({}).log_result
    assert "Traceback (most recent call last):" in log
    assert "KeyboardInterrupt\nRequestId:" in log


def test_os_exit_outside_handler_code_is_the_real_one() -> None:
    import os

    from pytest_lambda_async.exits import interrupts

    real = os._exit
    interrupts.install()
    try:
        assert os._exit is not real
        assert interrupts._real_exit is real
    finally:
        interrupts.uninstall()
    assert os._exit is real


SESSION = """
import asyncio, os, sys
import pytest

def exits(event, context):
    {end}

async def async_exits(event, context):
    await asyncio.sleep(1)
    {end}

@pytest.mark.parametrize("handler", [exits, async_exits])
def test_invoke(lambda_invoker, handler):
    result = lambda_invoker.deploy(handler).invoke({{}})
    assert result.payload["errorType"] == "Runtime.ExitError"

def test_init(lambda_invoker, tmp_path, monkeypatch):
    (tmp_path / "exits_at_import.py").write_text("import os, sys\\n{end}\\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    result = lambda_invoker.deploy("exits_at_import.handler").invoke({{}})
    assert result.payload["errorType"] == "Runtime.ExitError"

def test_next():
    pass
"""


@pytest.mark.parametrize("end", ["raise KeyboardInterrupt", "sys.exit(0)", "os._exit(3)",
                                 "raise GeneratorExit"])
def test_the_pytest_session_survives(pytester: pytest.Pytester, end: str) -> None:
    pytester.makepyfile(SESSION.format(end=end))
    result = pytester.runpytest_subprocess("-p", "no:randomly", timeout=120)
    result.assert_outcomes(passed=4)
    assert result.ret == 0


def test_the_session_survives_sys_exit_at_import_with_hypothesis(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(exits_at_import="import sys\nsys.exit(0)\n")
    pytester.makepyfile("""
        import hypothesis  # its AST hooks once turned an escaping SystemExit into a SystemError

        def test_init(lambda_invoker):
            result = lambda_invoker.deploy("exits_at_import.handler").invoke({})
            assert result.payload["errorType"] == "Runtime.ExitError"
    """)
    result = pytester.runpytest_subprocess("-p", "no:randomly", timeout=120)
    result.assert_outcomes(passed=1)


CTRL_C = """
import os, signal

def test_ctrl_c(lambda_invoker):
    def handler(event, context):
        # What the terminal does on Ctrl-C: SIGINT to the process.
        os.kill(os.getpid(), signal.SIGINT)
        return "not reached"
    lambda_invoker.deploy(handler).invoke({})

def test_never_runs():
    pass
"""


def test_a_real_ctrl_c_still_stops_pytest(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(CTRL_C)
    result = pytester.runpytest_subprocess("-p", "no:randomly", timeout=120)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*KeyboardInterrupt*"])
    assert "test_never_runs PASSED" not in result.stdout.str()
    assert "1 passed" not in result.stdout.str()


def test_a_real_ctrl_c_during_an_async_handler_still_stops_pytest(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(CTRL_C.replace("def handler", "async def handler"))
    result = pytester.runpytest_subprocess("-p", "no:randomly", timeout=120)
    assert result.ret == pytest.ExitCode.INTERRUPTED
