"""Every bad input gets a usage error naming the input and the fix, with no plugin traceback.

One row per bad input, grouped so that each group is one pytester run: the markers (each row a
test of its own, failing at setup before it runs), the calls (each row a test whose body makes
the bad call), and the ini and command-line options (each row a start-up usage error).
"""

from __future__ import annotations

import re

import pytest

NAN, INF = "float('nan')", "float('inf')"
SQS = "arn:aws:sqs:us-east-1:123456789012"
FN_ARN = "arn:aws:lambda:us-east-1:123456789012:function"

# (marker source, what the message must contain besides "Fix"/"use")
MARKER_ROWS: list[tuple[str, list[str]]] = [
    # lambda_function: AWS's integer fields take whole numbers, finite, in AWS's ranges
    ("lambda_function(timeout=2.5)", ["timeout", "whole number"]),
    (f"lambda_function(timeout={NAN})", ["timeout", "nan"]),
    (f"lambda_function(timeout={INF})", ["timeout", "inf"]),
    ("lambda_function(timeout=0)", ["'timeout'", "greater than or equal to 1"]),
    ("lambda_function(timeout=901)", ["'timeout'", "less than or equal to 900"]),
    ("lambda_function(timeout='3')", ["timeout", "'3'"]),
    ("lambda_function(timeout=True)", ["timeout", "True"]),
    ("lambda_function(timeout=None)", ["timeout", "None"]),
    ("lambda_function(memory_size=127)", ["memorySize", "128"]),
    ("lambda_function(memory_size=10241)", ["memorySize", "10240"]),
    ("lambda_function(memory_size=128.5)", ["memory_size", "whole number"]),
    ("lambda_function(memory_size='128')", ["memory_size", "'128'"]),
    ("lambda_function(memory_size=True)", ["memory_size", "True"]),
    (f"lambda_function(memory_size={NAN})", ["memory_size", "nan"]),
    ("lambda_function(name='')", ["functionName", "64"]),
    ("lambda_function(name='a' * 65)", ["functionName", "64"]),
    ("lambda_function(name='bad name')", ["functionName", "bad name"]),
    ("lambda_function(name=5)", ["functionName", "5"]),
    ("lambda_function(region='moon')", ["region", "'moon'"]),
    ("lambda_function(region=1)", ["region", "us-east-1"]),
    ("lambda_function(account_id='123')", ["account_id", "12-digit"]),
    ("lambda_function(account_id=123456789012)", ["account_id", "12-digit"]),
    ("lambda_function(version='latest')", ["version", "$LATEST"]),
    ("lambda_function(version=1)", ["version", "$LATEST"]),
    ("lambda_function(tenant_id=123)", ["tenant_id", "123"]),
    ("lambda_function(tenant_id='')", ["tenant_id", "non-empty"]),
    ("lambda_function(strict='no')", ["strict", "'no'", "strict=True"]),
    ("lambda_function(strict=1)", ["strict", "True or False"]),
    ("lambda_function(maximum_retry_attempts=1.5)", ["maximum_retry_attempts", "whole number"]),
    ("lambda_function(maximum_retry_attempts=3)", ["maximumRetryAttempts", "between 0 and 2"]),
    ("lambda_function(maximum_retry_attempts=-1)", ["maximumRetryAttempts", "between 0 and 2"]),
    ("lambda_function(maximum_retry_attempts='2')", ["maximum_retry_attempts", "'2'"]),
    ("lambda_function(maximum_retry_attempts=True)", ["maximum_retry_attempts", "True"]),
    (f"lambda_function(maximum_retry_attempts={NAN})", ["maximum_retry_attempts", "nan"]),
    ("lambda_function(maximum_event_age_in_seconds=59)", ["maximumEventAgeInSeconds", "60"]),
    ("lambda_function(maximum_event_age_in_seconds=21601)", ["maximumEventAgeInSeconds", "21600"]),
    ("lambda_function(maximum_event_age_in_seconds=60.5)", ["maximum_event_age_in_seconds", "whole"]),
    (f"lambda_function(maximum_event_age_in_seconds={INF})", ["maximum_event_age_in_seconds", "inf"]),
    ("lambda_function(reserved_concurrent_executions=0.5)", ["reserved_concurrent_executions", "whole"]),
    ("lambda_function(reserved_concurrent_executions=-1)", ["reservedConcurrentExecutions", "0"]),
    ("lambda_function(reserved_concurrent_executions='1')", ["reserved_concurrent_executions", "'1'"]),
    ("lambda_function(reserved_concurrent_executions=True)", ["reserved_concurrent_executions", "True"]),
    ("lambda_function(environment='A=1')", ["environment", "mapping"]),
    ("lambda_function(environment={'A': 1})", ["environment", "str()"]),
    ("lambda_function(environment={'AWS_REGION': 'x'})", ["AWS_REGION", "remove these keys"]),
    ("lambda_function(environment={1: 'a'})", ["environment", "1"]),
    ("lambda_function(timout=3)", ["'timout'", "timeout"]),
    ("lambda_function(3)", ["positional", "3"]),
    ("lambda_function(on_success='not-an-arn')", ["on_success", "not-an-arn", "ARN"]),
    (f"lambda_function(on_failure='{SQS}:q.fifo')", ["FIFO", "q.fifo", "standard queue"]),
    (f"lambda_function(dead_letter_target='{FN_ARN}:f')", ["dead_letter_target", "lambda", "sns"]),
    ("lambda_function(on_success='arn:aws:s3:::bucket')", ["S3", "on-failure"]),
    ("lambda_function(on_success=42)", ["on_success", "int", "sink"]),
    ("lambda_function(on_failure='arn:aws:dynamodb:us-east-1:123456789012:table/t')",
     ["on_failure", "dynamodb"]),
    # lambda_environment
    ("lambda_environment(reuse='sometimes')", ["reuse", "'sometimes'", "'never'"]),
    ("lambda_environment(reuse=1)", ["reuse", "'auto'"]),
    (f"lambda_environment(idle_timeout={NAN})", ["idle_timeout", "nan"]),
    ("lambda_environment(idle_timeout=0)", ["idle_timeout", "greater than 0"]),
    ("lambda_environment(idle_timeout=-5)", ["idle_timeout", "greater than 0"]),
    ("lambda_environment(idle_timeout='900')", ["idle_timeout", "'900'"]),
    ("lambda_environment(idle_timeout=True)", ["idle_timeout", "True"]),
    (f"lambda_environment(idle_timeout={INF})", ["idle_timeout", "inf"]),
    ("lambda_environment(max_environments=0)", ["max_environments", ">= 1"]),
    ("lambda_environment(max_environments=1.5)", ["max_environments", "whole"]),
    ("lambda_environment(max_environments='2')", ["max_environments", "'2'"]),
    ("lambda_environment(max_environments=True)", ["max_environments", "True"]),
    ("lambda_environment(reuses='never')", ["'reuses'", "reuse"]),
    ("lambda_environment('never')", ["positional", "'never'"]),
    ("lambda_environment(account_concurrency=0)", ["account_concurrency", ">= 1"]),
    ("lambda_environment(account_concurrency=2.5)", ["account_concurrency", "whole"]),
    # lambda_cold_start / lambda_warm_start take nothing
    ("lambda_cold_start(reuse='always')", ["lambda_cold_start", "no arguments"]),
    ("lambda_cold_start('x')", ["lambda_cold_start", "no arguments"]),
    ("lambda_warm_start(idle_timeout=5)", ["lambda_warm_start", "no arguments"]),
    # lambda_leaks
    ("lambda_leaks(mode='loud')", ["mode", "'loud'", "'warn'"]),
    ("lambda_leaks(mode=1)", ["mode", "'fail'"]),
    ("lambda_leaks(ignore=5)", ["ignore", "5", "ignore=['pattern'"]),
    ("lambda_leaks(ignore=[5])", ["ignore", "[5]"]),
    ("lambda_leaks(stacks='yes please')", ["stacks", "'yes please'"]),
    ("lambda_leaks(stacks=1)", ["stacks", "True or False"]),
    ("lambda_leaks(library='yes')", ["library", "True or False"]),
    ("lambda_leaks(modes='off')", ["'modes'", "mode"]),
    ("lambda_leaks('off')", ["positional", "'off'"]),
    # lambda_delivery
    ("lambda_delivery(mode='sometimes')", ["delivery mode", "'sometimes'", "'exact'"]),
    ("lambda_delivery(duplicate_rate='0.5')", ["duplicate_rate", "'0.5'"]),
    ("lambda_delivery(duplicate_rate=1.5)", ["duplicate_rate", "between 0 and 1"]),
    ("lambda_delivery(duplicate_rate=-0.1)", ["duplicate_rate", "between 0 and 1"]),
    (f"lambda_delivery(duplicate_rate={NAN})", ["duplicate_rate", "nan"]),
    ("lambda_delivery(duplicate_rate=True)", ["duplicate_rate", "True"]),
    ("lambda_delivery(seed=[1])", ["seed", "[1]"]),
    ("lambda_delivery(seed=1.5)", ["seed", "whole"]),
    ("lambda_delivery(seed='1')", ["seed", "'1'"]),
    ("lambda_delivery(seed=True)", ["seed", "True"]),
    ("lambda_delivery(zero_concurrency_condition=5)", ["zero_concurrency_condition", "5"]),
    ("lambda_delivery(zero_concurrency_condition='')", ["zero_concurrency_condition", "non-empty"]),
    ("lambda_delivery(eventbridge_source=5)", ["eventbridge_source", "5"]),
    ("lambda_delivery(seeds=1)", ["'seeds'", "seed"]),
    ("lambda_delivery('exact')", ["positional", "'exact'"]),
]

# (statements in a test body with lambda_invoker / lambda_clock, what the message must contain)
CALL_ROWS: list[tuple[str, list[str]]] = [
    ("lambda_invoker.deploy(42)", ["deploy()", "42", "app.handler"]),
    ("lambda_invoker.deploy('.handler')", ["'.handler'", "module.function"]),
    ("lambda_invoker.deploy('nodot')", ["'nodot'", "module.function"]),
    ("lambda_invoker.deploy('mod.')", ["'mod.'", "module.function"]),
    ("lambda_invoker.deploy('')", ["''", "module.function"]),
    ("lambda_invoker.deploy('my mod.handler')", ["'my mod.handler'", "module.function"]),
    ("lambda_invoker.deploy(h, timeout=2.5)", ["timeout", "whole number"]),
    (f"lambda_invoker.deploy(h, timeout={NAN})", ["timeout", "nan"]),
    ("lambda_invoker.deploy(h, memory_size=128.5)", ["memory_size", "whole number"]),
    ("lambda_invoker.deploy(h, maximum_retry_attempts=1.5)", ["maximum_retry_attempts", "whole"]),
    ("lambda_invoker.deploy(h, reserved_concurrent_executions=0.5)",
     ["reserved_concurrent_executions", "whole"]),
    ("lambda_invoker.deploy(h, tenant_id=123)", ["tenant_id", "123"]),
    ("lambda_invoker.deploy(h, strict='no')", ["strict", "'no'"]),
    ("lambda_invoker.deploy(h, name='')", ["functionName", "64"]),
    ("lambda_invoker.deploy(h, nmae='x')", ["'nmae'", "valid settings"]),
    ("lambda_invoker.deploy(h, environment={'A': 1})", ["environment", "str()"]),
    ("lambda_invoker.deploy(h, name='f'); lambda_invoker.deploy(h, name='f')",
     ["'f'", "already deployed", "name="]),
    (f"lambda_invoker.deploy(h, name='self', on_success='{FN_ARN}:self')",
     ["destination for itself", "Sink"]),
    (f"lambda_invoker.deploy(h, name='self', on_failure='{FN_ARN}:self:$LATEST')",
     ["destination for itself", "Sink"]),
    ("fn = lambda_invoker.deploy(h); fn.reconfigure(on_success=fn)", ["destination for itself", "Sink"]),
    ("fn = lambda_invoker.deploy(h); fn.reconfigure(on_failure=fn.arn)", ["destination for itself"]),
    (f"lambda_invoker.deploy(h, on_failure='{SQS}:q.fifo')", ["FIFO", "standard queue"]),
    ("fn = lambda_invoker.deploy(h); lambda_invoker.deploy(h, dead_letter_target=fn)",
     ["dead-letter queue", "SQS/SNS"]),
    ("lambda_invoker.deploy(h, on_success='arn:aws:sqs:us-east-1:123:q')", ["not a valid ARN", "Sink"]),
    ("lambda_invoker.deploy(h).reconfigure(handler=42)", ["reconfigure(handler=...)", "42", "app.handler"]),
    ("lambda_invoker.deploy(h).reconfigure(handler='.h')", ["reconfigure()", "'.h'", "module.function"]),
    ("lambda_invoker.deploy(h).reconfigure(name='x')", ["renamed", "deploy another"]),
    ("lambda_invoker.deploy(h).reconfigure(timeout=0)", ["'timeout'", "between 1 and 900"]),
    ("lambda_invoker.deploy(h).reconfigure(memory_size=1e9)", ["memorySize", "10240"]),
    ("lambda_invoker.deploy(h).invoke({}, client_context='x')", ["client_context", "dict"]),
    ("lambda_invoker.deploy(h).inject_faults(throttles=-1)", ["inject_faults", "-1"]),
    ("lambda_invoker.deploy(h).inject_faults(throttles=1.5)", ["inject_faults", "1.5"]),
    ("lambda_invoker.deploy(h).invoke({'when': object()})", ["not JSON", "convert"]),
    ("lambda_invoker.deploy(h).invoke(deep(200_000))", ["nested too deeply", "flatten"]),
    ("lambda_invoker.deploy(h).invoke_async(deep(200_000))", ["nested too deeply", "flatten"]),
    ("lambda_invoker.deploy(h).invoke('x' * 7_000_000)", ["RequestTooLargeException", "S3"]),
    ("lambda_invoker.deploy(h).invoke_async('x' * 1_100_000)", ["RequestTooLargeException", "S3"]),
    (f"lambda_clock.advance({NAN})", ["advance()", "nan", "advance(60)"]),
    (f"lambda_clock.advance({INF})", ["advance()", "inf", "advance(60)"]),
    ("lambda_clock.advance(True)", ["advance()", "True", "advance(60)"]),
    ("lambda_clock.advance(-1)", ["advance()", "-1", "forward"]),
    ("lambda_clock.advance('1')", ["advance()", "'1'", "advance(60)"]),
    ("VirtualClock(start='now')", ["VirtualClock(start=...)", "'now'", "timestamp"]),
    (f"VirtualClock(start={NAN})", ["VirtualClock(start=...)", "nan"]),
    ("Invoker('clock')", ["Invoker()", "VirtualClock", "lambda_invoker"]),
    ("Invoker(VirtualClock(), real_time_budget=-1)", ["real_time_budget", "greater than 0"]),
    (f"Invoker(VirtualClock(), real_time_budget={NAN})", ["real_time_budget", "nan"]),
    ("Invoker(VirtualClock(), account_concurrency=0)", ["account_concurrency", ">= 1"]),
    ("Invoker(VirtualClock(), account_concurrency=1.5)", ["account_concurrency", "whole"]),
    ("lambda_invoker.sink('x.fifo')", ["'x.fifo'", "FIFO", "standard queue"]),
    ("lambda_invoker.sink('')", ["''", "1 to 80", "'failures'"]),
    ("lambda_invoker.sink(lambda_invoker.sink('a'))", ["sink()", "Sink", "as it is"]),
    ("lambda_invoker.sink(5)", ["sink()", "5", "'failures'"]),
    ("lambda_invoker.sink('bad name!')", ["'bad name!'", "1 to 80"]),
    ("lambda_invoker.sink_for_arn(lambda_invoker.sink('a'))", ["sink_for_arn()", "Sink", ".arn"]),
    ("lambda_invoker.sink_for_arn('not-an-arn')", ["not-an-arn", "not a valid ARN"]),
    (f"lambda_invoker.sink_for_arn('{SQS}:q.fifo')", ["FIFO", "standard queue"]),
]

# (ini lines, what stderr must contain) -> a usage error at start-up
INI_ROWS: list[tuple[str, list[str]]] = [
    ("lambda_timeout = nan", ["lambda_timeout", "nan", "Fix"]),
    ("lambda_timeout = 2.5", ["lambda_timeout", "whole number", "Fix"]),
    ("lambda_timeout = soon", ["lambda_timeout", "'soon'", "Fix"]),
    ("lambda_timeout = 0", ["lambda_timeout", "between 1 and 900"]),
    ("lambda_memory_size = 12.5", ["lambda_memory_size", "whole number", "Fix"]),
    ("lambda_memory_size = 64", ["lambda_memory_size", "128 and 10240"]),
    ("lambda_function_name = bad name", ["lambda_function_name", "64"]),
    ("lambda_region = moon", ["lambda_region", "us-east-1"]),
    ("lambda_account_id = 1", ["lambda_account_id", "12-digit"]),
    ("lambda_function_version = latest", ["lambda_function_version", "$LATEST"]),
    ("lambda_reuse = sometimes", ["lambda_reuse", "'never'"]),
    ("lambda_idle_timeout = nan", ["lambda_idle_timeout", "nan", "Fix"]),
    ("lambda_idle_timeout = 0", ["lambda_idle_timeout", "greater than 0", "Fix"]),
    ("lambda_max_environments = 0", ["lambda_max_environments", ">= 1"]),
    ("lambda_max_environments = 1.5", ["lambda_max_environments", "whole", "Fix"]),
    ("lambda_account_concurrency = 0", ["lambda_account_concurrency", ">= 1", "Fix"]),
    ("lambda_delivery = sometimes", ["lambda_delivery", "'at-least-once'"]),
    ("lambda_blocking_limit = -1", ["lambda_blocking_limit", "'-1'", "Fix"]),
    ("lambda_blocking_limit = 0", ["lambda_blocking_limit", "'0'", "Fix"]),
    ("lambda_blocking_limit = nan", ["lambda_blocking_limit", "'nan'", "Fix"]),
    ("lambda_blocking_limit = inf", ["lambda_blocking_limit", "'inf'", "Fix"]),
    ("lambda_blocking_limit = abc", ["lambda_blocking_limit", "'abc'", "Fix"]),
    ("lambda_seed = abc", ["lambda_seed", "'abc'", "Fix"]),
    ("lambda_seed = 1.5", ["lambda_seed", "'1.5'", "Fix"]),
    ("lambda_leaks = loud", ["lambda_leaks", "'loud'", "fail, warn, off"]),
    ("lambda_unfinished_events = loud", ["lambda_unfinished_events", "'loud'", "fail, warn, off"]),
    ("lambda_strict_runtime = maybe", ["lambda_strict_runtime", "maybe", "true or false"]),
]

# (command-line arguments, what stderr must contain) -> a usage error at start-up
CLI_ROWS: list[tuple[list[str], list[str]]] = [
    (["--lambda-leaks=loud"], ["--lambda-leaks", "'loud'", "'fail'"]),
    (["--lambda-delivery=sometimes"], ["--lambda-delivery", "'sometimes'", "'exact'"]),
    (["--lambda-seed=abc"], ["--lambda-seed", "'abc'"]),
    (["--lambda-unfinished=loud"], ["--lambda-unfinished", "'loud'", "'warn'"]),
    (["--lambda-report=reports"], ["--lambda-report", "is a directory", "lambda-report.json"]),
    (["--lambda-report=afile.txt/report.json"], ["--lambda-report", "is a file", "lambda-report.json"]),
    (["--lambda-report="], ["--lambda-report", "empty", "lambda-report.json"]),
]

_TRACE_INTO_PLUGIN = re.compile(r"pytest_lambda_async[/\\][a-z_/\\]+\.py:\d+")


def _check_clean(text: str) -> None:
    assert "INTERNALERROR" not in text
    assert "Traceback (most recent call last)" not in text
    assert not _TRACE_INTO_PLUGIN.search(text), text


def _reports_by_test(reprec: pytest.HookRecorder) -> dict[str, pytest.TestReport]:
    failed: dict[str, pytest.TestReport] = {}
    for report in reprec.getreports("pytest_runtest_logreport"):
        if report.failed:
            failed.setdefault(report.nodeid.split("::")[-1], report)
    return failed


def _row_problem(report: pytest.TestReport | None, expected: list[str], when: str) -> str | None:
    if report is None:
        return "accepted"
    if report.when != when:
        return f"failed at {report.when}"
    text = report.longreprtext
    if "INTERNALERROR" in text or "Traceback (most recent call last)" in text:
        return "traceback"
    if _TRACE_INTO_PLUGIN.search(text):
        return f"traceback into the plugin: {text}"
    if not any(fix in text for fix in ("Fix", "use ", "give ")):
        return f"no fix: {text}"
    missing = [fragment for fragment in expected if fragment not in text]
    if missing:
        return f"missing {missing}: {text}"
    if len(text.splitlines()) > 12:
        return f"too long: {text}"
    return None


def _assert_rows(reports: dict[str, pytest.TestReport], rows: list[tuple[str, list[str]]],
                 when: str) -> None:
    problems = {
        source: problem for n, (source, expected) in enumerate(rows)
        if (problem := _row_problem(reports.get(f"test_row_{n}"), expected, when))
    }
    assert not problems, "\n\n".join(f"{source}: {problem}" for source, problem in problems.items())


def test_bad_markers_fail_their_test_before_it_runs(pytester: pytest.Pytester) -> None:
    tests = "\n".join(
        f"@pytest.mark.{source}\ndef test_row_{n}(lambda_invoker):\n    raise AssertionError('ran')\n"
        for n, (source, _) in enumerate(MARKER_ROWS)
    )
    pytester.makepyfile(f"import pytest\n\n{tests}")
    reprec = pytester.inline_run("-p", "no:cacheprovider")
    assert reprec.ret == pytest.ExitCode.TESTS_FAILED
    reports = _reports_by_test(reprec)
    _assert_rows(reports, MARKER_ROWS, "setup")
    assert len(reports) == len(MARKER_ROWS)


def test_bad_calls_name_the_call_and_the_fix(pytester: pytest.Pytester) -> None:
    header = (
        "import pytest\nfrom pytest_lambda_async import Invoker, VirtualClock\n\n"
        "def h(event, context):\n    return event\n\n"
        "def deep(n):\n    event = []\n    for _ in range(n):\n        event = [event]\n    return event\n"
    )
    tests = "\n".join(
        f"def test_row_{n}(lambda_invoker, lambda_clock):\n    {source}\n"
        for n, (source, _) in enumerate(CALL_ROWS)
    )
    pytester.makepyfile(f"{header}\n{tests}")
    reprec = pytester.inline_run("-p", "no:cacheprovider", "--lambda-unfinished=off")
    assert reprec.ret == pytest.ExitCode.TESTS_FAILED
    reports = _reports_by_test(reprec)
    _assert_rows(reports, CALL_ROWS, "call")
    assert len(reports) == len(CALL_ROWS)


@pytest.mark.parametrize(("lines", "expected"), INI_ROWS, ids=[row[0] for row in INI_ROWS])
def test_bad_ini_options_are_usage_errors_at_start_up(
    pytester: pytest.Pytester, lines: str, expected: list[str]
) -> None:
    pytester.makeini(f"[pytest]\nasyncio_default_fixture_loop_scope = function\n{lines}\n")
    pytester.makepyfile("def test_never_runs():\n    raise AssertionError('ran')\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    _assert_start_up_error(result, expected)


@pytest.mark.parametrize(("args", "expected"), CLI_ROWS, ids=[" ".join(row[0]) for row in CLI_ROWS])
def test_bad_command_line_options_are_usage_errors_at_start_up(
    pytester: pytest.Pytester, args: list[str], expected: list[str]
) -> None:
    (pytester.path / "reports").mkdir()
    (pytester.path / "afile.txt").write_text("")
    pytester.makepyfile("def test_never_runs():\n    raise AssertionError('ran')\n")
    result = pytester.runpytest("-p", "no:cacheprovider", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    _assert_start_up_error(result, expected)


def _assert_start_up_error(result: pytest.RunResult, expected: list[str]) -> None:
    text = result.stderr.str()
    _check_clean(text + result.stdout.str())
    assert "ran" not in result.stdout.str()
    missing = [fragment for fragment in expected if fragment not in text]
    assert not missing, (missing, text)
    assert len(text.strip().splitlines()) <= 6, text


def test_the_table_covers_every_kind_the_issue_counted() -> None:
    assert len(MARKER_ROWS) + len(CALL_ROWS) + len(INI_ROWS) + len(CLI_ROWS) >= 122


@pytest.mark.parametrize("mode", ["strict", "auto"])
def test_a_bad_marker_on_an_async_test_is_a_few_lines(pytester: pytest.Pytester, mode: str) -> None:
    # pytest-asyncio wraps async tests; the marker is still checked first, in a few lines.
    pytester.makeini(f"[pytest]\nasyncio_mode = {mode}\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile("""
        import pytest

        @pytest.mark.asyncio
        @pytest.mark.lambda_function(timout=3)
        async def test_it(lambda_context):
            raise AssertionError("ran")
    """)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([
        "*ERROR at setup of test_it*",
        "@pytest.mark.lambda_function(timout=3): unknown keyword(s) 'timout'. Fix: use only *",
        "  (on test_a_bad_marker_on_an_async_test_is_a_few_lines.py::test_it)",
    ])
    errors = result.stdout.str().split("= ERRORS =")[1].split("short test summary")[0]
    _check_clean(errors)
    assert len(errors.strip().splitlines()) <= 5, errors


def test_deep_events_reach_the_handler_as_bytes_and_fail_as_on_aws(pytester: pytest.Pytester) -> None:
    # The JSON text of a 200,000-deep document is well under the size limit: AWS delivers it,
    # and the runtime cannot decode it (Runtime.UnmarshalError). No RecursionError escapes.
    pytester.makepyfile("""
        def test_it(lambda_invoker):
            fn = lambda_invoker.deploy(lambda event, context: "never")
            result = fn.invoke(b"[" * 200_000 + b"]" * 200_000)
            assert result.function_error == "Unhandled"
            assert result.payload["errorType"] == "Runtime.UnmarshalError"
    """)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
