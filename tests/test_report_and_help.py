"""What users read: `--help`, the JSON report, error texts, leak warnings."""

from __future__ import annotations

import datetime
import io
import json
import re
import tempfile
import traceback

import pytest

import pytest_lambda_async
from pytest_lambda_async import InvalidParameterValueException, ValidationException


def test_help_says_what_every_option_and_setting_does(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    text = result.stdout.str()
    assert "--lambda-seed=SEED" in text
    # Every lambda ini setting has a help text that says more than the field's name.
    entries = re.findall(r"^  (lambda_\w+) \((?:string|bool)\):?\s*(.*?)(?=^  \S|\Z)", text, re.M | re.S)
    names = {name for name, _ in entries}
    assert {"lambda_timeout", "lambda_reuse", "lambda_delivery", "lambda_account_concurrency",
            "lambda_eventbridge_source", "lambda_leaks"} <= names
    for name, help_text in entries:
        words = " ".join(help_text.split())
        assert not words.startswith("default "), (name, words)
        assert len(words.split()) >= 5, (name, words)


def test_markers_list_every_keyword(pytester: pytest.Pytester) -> None:
    text = " ".join(pytester.runpytest("--markers").stdout.str().split())
    for keyword in ("zero_concurrency_condition=", "eventbridge_source=", "duplicate_rate="):
        assert keyword in text
    assert "account_concurrency=" in text and "library=False" in text


REPORTED = '''
def test_one(lambda_invoker, lambda_clock):
    fn = lambda_invoker.deploy(lambda event, context: "ok", name="one")
    fn.invoke({})
    fn.invoke({})
    fn.invoke_async({})
    lambda_invoker.run_until_idle()


def test_two(lambda_invoker):
    def fails(event, context):
        raise ValueError("no")
    lambda_invoker.deploy(fails, name="two").invoke({})
    assert False
'''


def test_json_report_carries_what_reproduces_the_run(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_app=REPORTED)
    result = pytester.runpytest("--lambda-report=report.json", "--lambda-seed=1234",
                                "--lambda-delivery=at-least-once", "--lambda-leaks=warn")
    result.assert_outcomes(passed=1, failed=1)
    document = json.loads((pytester.path / "report.json").read_text())
    assert document["plugin_version"] == pytest_lambda_async.__version__
    assert document["seed"] == 1234
    assert document["modes"] == {"leaks": "warn", "unfinished_events": "fail",
                                 "delivery": "at-least-once", "strict_runtime": False}
    totals = document["totals"]
    assert (totals["tests"], totals["tests_failed"]) == (2, 1)
    assert (totals["invocations"], totals["cold_starts"], totals["invocations_failed"]) == (4, 2, 1)
    one = next(t for t in document["tests"] if t["nodeid"].endswith("test_one"))
    invocation = one["invocations"][0]
    parsed = datetime.datetime.fromisoformat(invocation["start_iso"].rstrip("Z")).replace(
        tzinfo=datetime.timezone.utc)
    assert parsed.timestamp() == pytest.approx(invocation["start"], abs=1e-6)
    outcome = one["outcomes"][0]
    assert outcome["accepted_at_iso"].endswith("Z") and outcome["finished_at_iso"].endswith("Z")
    assert outcome["history"][0]["start_iso"].endswith("Z")


@pytest.mark.parametrize("error", [
    ValidationException("1 validation error detected", "use a timeout between 1 and 900."),
    InvalidParameterValueException("reserved keys", ""),
])
def test_an_error_names_its_code_once(error: Exception) -> None:
    line = traceback.format_exception_only(type(error), error)[0]
    code = type(error).__name__
    assert line.count(code) == 1, line
    assert line.startswith(f"pytest_lambda_async.errors.{code}: ")


def test_account_concurrency_from_ini_and_marker(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n"
                     "lambda_account_concurrency = 3\n")
    pytester.makepyfile(test_app='''
import pytest
from pytest_lambda_async import Invoker, VirtualClock


def test_ini(lambda_invoker):
    assert lambda_invoker.account_concurrency == 3


@pytest.mark.lambda_environment(account_concurrency=1)
def test_marker_wins_over_ini(lambda_invoker):
    assert lambda_invoker.account_concurrency == 1


def test_the_constructor_keyword_still_wins():
    assert Invoker(VirtualClock(), account_concurrency=7).account_concurrency == 7


@pytest.mark.lambda_environment(account_concurrency=0)
def test_bad_value(lambda_invoker):
    pass
''')
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines(["*account_concurrency=0: the account's limit is at least 1. "
                                 "Fix: give a whole number >= 1*"])


TWO_LEAKS = '''
import asyncio
import threading
import time


async def flush():
    await asyncio.sleep(10)


async def leaky(event, context):
    asyncio.create_task(flush())
    return "ok"


def sleeper(event, context):
    threading.Thread(target=time.sleep, args=(30,), daemon=True).start()
    return "ok"


def test_first(lambda_invoker):
    lambda_invoker.deploy(leaky, name="first").invoke({})


def test_second(lambda_invoker):
    lambda_invoker.deploy(sleeper, name="second").invoke({})
'''


def test_leak_warnings_point_at_the_test_and_explain_once(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_app=TWO_LEAKS)
    result = pytester.runpytest("--lambda-leaks=warn", "-p", "no:randomly",
                                "-W", "always::pytest_lambda_async.LambdaLeakWarning")
    result.assert_outcomes(passed=2, warnings=2)
    text = result.stdout.str()
    # Each warning is shown at its test's line, not at a line of the plugin.
    lines = TWO_LEAKS.strip().splitlines()
    first, second = (lines.index(f"def test_{name}(lambda_invoker):") + 1 for name in ("first", "second"))
    result.stdout.fnmatch_lines([f"  */test_app.py:{first}: LambdaLeakWarning*",
                                 f"  */test_app.py:{second}: LambdaLeakWarning*"])
    assert "plugin.py" not in text
    assert text.count("Why it matters: Lambda freezes") == 1
    # A thread running time.sleep is named as the user wrote it.
    assert "running time.sleep()" in text and "(sleep)" in text
    assert "virtual_sleep" not in text


def test_a_routed_stream_over_a_closed_stream_is_collected_quietly() -> None:
    # At interpreter exit pytest's capture files are closed before the stand-ins that wrapped
    # them are collected; io's finaliser then flushes the stand-in (3.13 reported each one as
    # "Exception ignored in: <..._RoutedStream ...> ValueError: I/O operation on closed file").
    import gc
    import sys

    from pytest_lambda_async.logs import _RoutedStream

    real = tempfile.TemporaryFile("w")  # noqa: SIM115 - closed by hand below
    stream = _RoutedStream(real)
    stream.write("x")
    real.close()
    stream.flush()
    unraisable: list[object] = []
    previous, sys.unraisablehook = sys.unraisablehook, unraisable.append
    try:
        del stream
        gc.collect()
    finally:
        sys.unraisablehook = previous
    assert unraisable == []
    failing = _FailingStream()
    routed = _RoutedStream(failing)
    with pytest.raises(ValueError):  # a stream that is open and fails still says so
        routed.flush()
    # Heal it before the stand-in is collected: io's finaliser flushes it once more (3.13).
    failing.broken = False


class _FailingStream(io.StringIO):
    broken = True

    def flush(self) -> None:
        if self.broken:
            raise ValueError("broken")
