"""The leak detector as users meet it: modes, markers, messages, the report, JUnit, the hook."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from conftest import PYTEST_INI

LEAKY = '''
import asyncio

import pytest


async def send_metrics():
    await asyncio.sleep(10)


async def handler(event, context):
    asyncio.create_task(send_metrics())
    return "ok"


def test_leaky(lambda_invoker):
    assert lambda_invoker.deploy(handler, name="leaky").invoke({}).payload == "ok"
'''
LEAK_LINE = 11  # the create_task line in LEAKY


def test_fail_mode_is_the_default_and_lists_every_finding(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_app=LEAKY)
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, errors=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines([
        "*ERROR at teardown of test_leaky*",
        "Handler code left 1 piece(s) of work unfinished when it returned:",
        f"  1. [[]pending-task[]] task send_metrics(), created at test_app.py:{LEAK_LINE} "
        "(function leaky, request *): frozen with the environment when the handler returned*",
        "If it is deliberate: @pytest.mark.lambda_leaks(ignore=*",
        "Why it matters: see the 'lambda' section at the end of the run.",
    ])
    # The why, once per run, in the summary.
    result.stdout.fnmatch_lines(["*= lambda =*", "Why it matters: Lambda freezes the execution environment*",
                                 "How to fix: finish the work before the handler returns*"])
    assert result.stdout.str().count("Why it matters: Lambda freezes") == 1


WARN_SHOWN = ("-W", "always::pytest_lambda_async.LambdaLeakWarning")


def test_warn_mode_warns_and_passes(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_app=LEAKY)
    result = pytester.runpytest("--lambda-leaks=warn", *WARN_SHOWN)
    result.assert_outcomes(passed=1, warnings=1)
    result.stdout.fnmatch_lines([
        "*LambdaLeakWarning: Handler code left 1 piece(s) of work*",
        f"*created at test_app.py:{LEAK_LINE}*",
    ])


def test_off_mode_from_ini(pytester: pytest.Pytester) -> None:
    pytester.makeini(PYTEST_INI + "lambda_leaks = off\n")
    pytester.makepyfile(test_app=LEAKY)
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    assert "LambdaLeakWarning" not in result.stdout.str()


def test_bad_mode_in_ini_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makeini(PYTEST_INI + "lambda_leaks = loud\n")
    pytester.makepyfile(test_app=LEAKY)
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*lambda_leaks = 'loud' is not valid; use one of: fail, warn, off.*"])


def test_marker_per_test_overrides_the_suite(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_app=LEAKY.replace(
        "def test_leaky", "@pytest.mark.lambda_leaks(mode='off')\ndef test_leaky"))
    pytester.runpytest().assert_outcomes(passed=1)


def test_marker_per_module_and_closest_wins(pytester: pytest.Pytester) -> None:
    source = LEAKY + '''
pytestmark = pytest.mark.lambda_leaks(mode="off")


@pytest.mark.lambda_leaks(mode="fail")
def test_strict_here(lambda_invoker):
    lambda_invoker.deploy(handler, name="strict").invoke({})
'''
    pytester.makepyfile(test_app=source)
    result = pytester.runpytest()
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_strict_here*"])


@pytest.mark.parametrize("pattern", ["send_metrics", f"test_app.py:{LEAK_LINE}", "pending-task"])
def test_ignore_patterns_from_the_marker(pytester: pytest.Pytester, pattern: str) -> None:
    pytester.makepyfile(test_app=LEAKY.replace(
        "def test_leaky", f"@pytest.mark.lambda_leaks(ignore=[{pattern!r}])\ndef test_leaky"))
    pytester.runpytest().assert_outcomes(passed=1)


def test_ignore_that_matches_nothing_still_fails(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_app=LEAKY.replace(
        "def test_leaky", "@pytest.mark.lambda_leaks(ignore=['flush'])\ndef test_leaky"))
    pytester.runpytest().assert_outcomes(passed=1, errors=1)


def test_marker_with_unknown_keyword_says_which_are_valid(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_app=LEAKY.replace(
        "def test_leaky", "@pytest.mark.lambda_leaks(mood='off')\ndef test_leaky"))
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*lambda_leaks(mood='off'): unknown keyword(s) 'mood'. Fix: use only ignore, library, mode, stacks."]
    )


def test_async_test_with_lambda_context_is_watched(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_app='''
import asyncio

import pytest


async def send_metrics():
    await asyncio.sleep(10)


async def handler(event, context):
    asyncio.create_task(send_metrics())
    return "ok"


@pytest.mark.asyncio
async def test_direct(lambda_context):
    assert await handler({}, lambda_context) == "ok"


@pytest.mark.asyncio
async def test_direct_clean(lambda_context):
    await asyncio.sleep(0)
''')
    result = pytester.runpytest()
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_direct*",
                                 "*task send_metrics(), created at test_app.py:11*"])


def test_summary_section_json_report_and_junit(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_app=LEAKY + '''

def test_clean(lambda_invoker):
    fn = lambda_invoker.deploy(lambda event, context: "fine", name="clean")
    fn.invoke({})
    fn.invoke_async({})
    lambda_invoker.run_until_idle()
''')
    result = pytester.runpytest("--lambda-report=out/report.json", "--junitxml=junit.xml")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines([
        "*= lambda =*",
        "invocations: 3 (2 cold start(s), 0 failed)",
        "async outcomes: Success 1",
        "leaks: 1",
        f"  test_app.py:{LEAK_LINE} [[]pending-task[]] task send_metrics() (test_app.py::test_leaky)",
    ])
    document = json.loads((pytester.path / "out" / "report.json").read_text())
    assert document["totals"] == {"tests": 2, "tests_failed": 1, "invocations": 3, "cold_starts": 2,
                                  "invocations_failed": 0, "outcomes": {"Success": 1}, "leaks": 1}
    leaky = next(t for t in document["tests"] if t["nodeid"] == "test_app.py::test_leaky")
    assert leaky["outcome"] == "failed"
    assert leaky["leaks"][0]["site"] == f"test_app.py:{LEAK_LINE}"
    assert leaky["leaks"][0]["kind"] == "pending-task"
    assert leaky["invocations"][0]["function"] == "leaky"
    assert set(leaky["invocations"][0]) >= {"request_id", "environment", "cold_start", "start",
                                           "duration", "status"}
    clean = next(t for t in document["tests"] if t["nodeid"] == "test_app.py::test_clean")
    assert clean["outcome"] == "passed" and clean["outcomes"][0]["condition"] == "Success"
    properties = ET.parse(pytester.path / "junit.xml").getroot().iter("property")
    leak_properties = [p.get("value", "") for p in properties if p.get("name") == "lambda_leak"]
    assert len(leak_properties) == 1
    assert leak_properties[0].startswith(
        f"[pending-task] task send_metrics(), created at test_app.py:{LEAK_LINE}")


def test_no_summary_section_when_no_lambda_was_used(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_app="def test_nothing():\n    pass\n")
    result = pytester.runpytest()
    assert "= lambda =" not in result.stdout.str()


def test_report_merges_xdist_workers(pytester: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    pytester.makepyfile(test_one=LEAKY, test_two=LEAKY.replace("test_leaky", "test_leaky_two"))
    result = pytester.runpytest("-p", "xdist", "-n", "2", "--lambda-report=report.json")
    result.assert_outcomes(passed=2, errors=2)
    document = json.loads((pytester.path / "report.json").read_text())
    assert sorted(t["nodeid"] for t in document["tests"]) == [
        "test_one.py::test_leaky", "test_two.py::test_leaky_two"]
    assert document["totals"]["leaks"] == 2
    result.stdout.fnmatch_lines(["leaks: 2"])


def test_hook_sees_every_finding(pytester: pytest.Pytester) -> None:
    pytester.makeconftest('''
SEEN = []

def pytest_lambda_async_leak(item, finding):
    SEEN.append((item.name, finding.kind.value, finding.site))

def pytest_sessionfinish(session):
    print("SEEN", SEEN)
''')
    pytester.makepyfile(test_app=LEAKY)
    result = pytester.runpytest("-s", "--lambda-leaks=warn", *WARN_SHOWN)
    result.stdout.fnmatch_lines([f"*SEEN [[]('test_leaky', 'pending-task', 'test_app.py:{LEAK_LINE}')[]]"])


def test_lambda_leaks_fixture_exposes_findings(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_app=LEAKY)
    pytester.makepyfile(test_more='''
import pytest
from test_app import handler

@pytest.mark.lambda_leaks(mode="warn")
def test_findings(lambda_invoker, lambda_leaks):
    lambda_invoker.deploy(handler, name="f").invoke({})
    assert [f.name for f in lambda_leaks.findings] == ["send_metrics"]
    assert lambda_leaks.mode == "warn"
''')
    result = pytester.runpytest("test_more.py", "-W", "ignore::pytest_lambda_async.LambdaLeakWarning")
    result.assert_outcomes(passed=1)
