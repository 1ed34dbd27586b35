"""The pytest glue: options, markers, fixtures, the report header. Nothing else lives here."""

from __future__ import annotations

import inspect
import os
import random
import shutil
import tempfile
import uuid
import warnings
import zlib
from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from types import TracebackType

    from .clock import VirtualClock
    from .config import FunctionSettings
    from .context import LambdaContext
    from .events import Events
    from .invoker import DeliverySettings, EnvironmentSettings, Invoker
    from .leaks import LeakDetector
    from .tmpdirs import TmpDirs

_MODES = ("fail", "warn", "off")
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
_ERRORS_MODULE = f"{__package__}.errors"


class LambdaLeakWarning(pytest.PytestWarning):
    """Handler code left work pending when it returned (the `warn` leak mode)."""

# ini name -> (FunctionSettings field, converter)
_FUNCTION_INI = {
    "lambda_function_name": ("name", str),
    "lambda_timeout": ("timeout", float),
    "lambda_memory_size": ("memory_size", float),
    "lambda_region": ("region", str),
    "lambda_account_id": ("account_id", str),
    "lambda_function_version": ("version", str),
    "lambda_tenant_id": ("tenant_id", str),
}
_ENVIRONMENT_INI = {
    "lambda_reuse": ("reuse", str),
    "lambda_idle_timeout": ("idle_timeout", float),
    "lambda_max_environments": ("max_environments", float),
    "lambda_account_concurrency": ("account_concurrency", float),
}
_DELIVERY_INI = {
    "lambda_delivery": ("mode", str),
    "lambda_zero_concurrency_condition": ("zero_concurrency_condition", str),
    "lambda_eventbridge_source": ("eventbridge_source", str),
}
_MARKERS = {
    "lambda_function": "lambda_function(name=..., timeout=..., memory_size=..., ...): settings "
    "for lambda_context and lambda_invoker.deploy (any deploy() keyword).",
    "lambda_environment": "lambda_environment(reuse='auto'|'always'|'never', idle_timeout=..., "
    "max_environments=..., account_concurrency=...): how invocations find execution "
    "environments: reuse of warm ones, seconds an idle one lives, the most one function may "
    "have, and the account's limit on busy environments across all functions (default 1000).",
    "lambda_cold_start": "lambda_cold_start: every invocation gets a fresh environment "
    "(lambda_environment(reuse='never')).",
    "lambda_warm_start": "lambda_warm_start: every invocation lands in one warm environment "
    "(lambda_environment(reuse='always')).",
    "lambda_leaks": "lambda_leaks(mode='fail'|'warn'|'off', ignore=[patterns], stacks=False, "
    "library=False): what leaked work does to this test, findings that are deliberate, full "
    "creation stacks, and whether libraries' and test runners' own work (cache timers, runner "
    "tasks) is reported too.",
    "lambda_delivery": "lambda_delivery(mode='exact'|'at-least-once', seed=..., duplicate_rate=..., "
    "zero_concurrency_condition=..., eventbridge_source=...): how the async queue delivers "
    "events: exactly once or with duplicates and shuffling, the seed and share of duplicates, "
    "the destination condition when reserved concurrency is 0, and the source of EventBridge "
    "destination events.",
}


# What each setting does, as `pytest --help` shows it (ini name -> help).
_SETTING_HELP = {
    "lambda_function_name": "function name for lambda_context and deploy() (default test-function)",
    "lambda_timeout": "function timeout in simulated seconds, 1-900 (default 3)",
    "lambda_memory_size": "function memory in MB, 128-10240 (default 128)",
    "lambda_region": "AWS region of function ARNs and the environment (default us-east-1)",
    "lambda_account_id": "12-digit account id of function ARNs (default 123456789012)",
    "lambda_function_version": "version handlers run as: $LATEST (default) or a number",
    "lambda_tenant_id": "tenant id the context carries (default none)",
    "lambda_reuse": "execution environment reuse: auto (like AWS, default), always or never",
    "lambda_idle_timeout": "simulated seconds an idle environment lives before shutdown (default 900)",
    "lambda_max_environments": "most environments one function may have at once (default no limit)",
    "lambda_account_concurrency": "busy environments allowed across all functions; more throttles "
    "(default 1000)",
    "lambda_delivery": "async event delivery: exact (default) or at-least-once (duplicates, shuffled)",
    "lambda_zero_concurrency_condition": "destination condition when reserved concurrency is 0 "
    "(default ZeroReservedConcurrency)",
    "lambda_eventbridge_source": "source of EventBridge destination events (default lambda)",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("lambda_async", "AWS Lambda handlers (pytest-lambda-async)")
    group.addoption("--lambda-leaks", choices=_MODES, default=None,
                    help="what work a handler leaves pending does to a test: fail (default), "
                    "warn, off.")
    group.addoption("--lambda-report", metavar="PATH", default=None,
                    help="write a JSON report of the run (version, seed, modes, totals, "
                    "invocations, async outcomes, leaks) to PATH.")
    group.addoption("--lambda-delivery", choices=("exact", "at-least-once"), default=None,
                    help="async delivery: exact (default) or at-least-once (duplicates, shuffled).")
    group.addoption("--lambda-seed", type=int, default=None, metavar="SEED",
                    help="seed for at-least-once delivery and request ids; rerun with the seed "
                    "in the header or report to repeat a run (default: random).")
    group.addoption("--lambda-strict", action="store_true", default=None,
                    help="call handlers exactly as the AWS Python runtime does (async def fails).")
    group.addoption("--lambda-unfinished", choices=_MODES, default=None,
                    help="a test that ends with async events still queued: fail (default), warn, off.")
    parser.addini("lambda_leaks", "what leaked work does to a test: fail (default), warn or off",
                  default="fail")
    parser.addini("lambda_strict_runtime", "call handlers exactly as the AWS Python runtime does "
                  "(async def handlers fail)", type="bool", default=False)
    parser.addini("lambda_unfinished_events", "a test that ends with async events still queued: "
                  "fail (default), warn or off", default="fail")
    parser.addini("lambda_seed", "seed for at-least-once delivery and request ids (default: "
                  "random)", default="")
    parser.addini("lambda_blocking_limit", "real seconds handler code may block the test before "
                  "it is stopped as timed out (default 10)", default="10")
    for name in {**_FUNCTION_INI, **_ENVIRONMENT_INI, **_DELIVERY_INI}:
        parser.addini(name, _SETTING_HELP[name], default=None)


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from . import hooks

    pluginmanager.add_hookspecs(hooks)


def pytest_configure(config: pytest.Config) -> None:
    for name, doc in _MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {doc}" if not doc.startswith(name) else doc)
    _choice(config, "lambda_leaks", "--lambda-leaks")
    _choice(config, "lambda_unfinished_events", "--lambda-unfinished")
    _check_ini(config)
    config.stash[_SEED] = _run_seed(config)
    if not hasattr(config, "workerinput"):  # under pytest-xdist the controller reports
        config.pluginmanager.register(_Reporting(config), "lambda_async_reporting")


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # The status the process ends with if threads left by handler code are cut at exit.
    from . import leftover_threads

    leftover_threads.exit_status = int(exitstatus)


def _choice(config: pytest.Config, ini: str, option: str) -> str:
    value = config.getoption(option.lstrip("-").replace("-", "_"))
    if value is None:
        value = str(config.getini(ini)).strip()
    if value not in _MODES:
        raise pytest.UsageError(f"{ini} = {value!r} is not valid; use one of: {', '.join(_MODES)}.")
    return str(value)


_SEED = pytest.StashKey[int]()


def _run_seed(config: pytest.Config) -> int:
    seed = config.getoption("lambda_seed")
    if seed is None and str(config.getini("lambda_seed")).strip():
        try:
            seed = int(str(config.getini("lambda_seed")))
        except ValueError:
            raise pytest.UsageError(
                f"ini option lambda_seed = {config.getini('lambda_seed')!r} is not an integer. "
                "Fix: lambda_seed = 1234, or remove the line for a random seed."
            ) from None
    if seed is None:
        workerinput = getattr(config, "workerinput", None)
        # Under xdist every worker derives the same seed from the run's id.
        seed = (zlib.crc32(workerinput["testrunuid"].encode()) if workerinput
                else random.randrange(2**31))
    return int(seed)


def pytest_report_header(config: pytest.Config) -> str:
    return (
        f"lambda-async: leaks={_choice(config, 'lambda_leaks', '--lambda-leaks')}, "
        f"delivery={_delivery_mode(config)} (seed {config.stash[_SEED]}), "
        f"strict runtime={'on' if _strict(config) else 'off'}"
    )


def _strict(config: pytest.Config) -> bool:
    return bool(config.getoption("lambda_strict") or config.getini("lambda_strict_runtime"))


def _delivery_mode(config: pytest.Config) -> str:
    return str(config.getoption("lambda_delivery") or config.getini("lambda_delivery") or "exact")


# -- settings: ini, then module/class/test markers, closest last --------------------------------
def _ini_values(config: pytest.Config, table: dict[str, tuple[str, Any]]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for ini, (field, convert) in table.items():
        raw = config.getini(ini)
        if raw in (None, ""):
            continue
        try:
            values[field] = convert(str(raw).strip())
        except ValueError:
            raise pytest.UsageError(
                f"ini option {ini} = {raw!r} is not a valid {'number' if convert is float else 'value'}."
                f" Fix: give {field} as {'a number' if convert is float else 'text'}, or remove the line."
            ) from None
    return values


def _check_ini(config: pytest.Config) -> None:
    """Every ini option and --lambda-report, checked at start-up: a usage error names the
    option, what is wrong with it and the fix."""
    tables: tuple[dict[str, tuple[str, Any]], ...] = (_FUNCTION_INI, _ENVIRONMENT_INI, _DELIVERY_INI)
    if any(config.getini(ini) not in (None, "") for table in tables for ini in table):
        from .errors import LambdaError
        from .marker_checks import check_settings

        kinds = ("lambda_function", "lambda_environment", "lambda_delivery")
        for kind, table in zip(kinds, tables, strict=True):
            for ini, entry in table.items():
                values = _ini_values(config, {ini: entry})
                if not values:
                    continue
                try:
                    check_settings(kind, values)
                except LambdaError as exc:
                    raise pytest.UsageError(
                        f"ini option {ini} = {config.getini(ini)!r}: {exc}"
                    ) from None
    _blocking_limit(config)
    try:
        _strict(config)
    except (ValueError, pytest.UsageError) as exc:
        raise pytest.UsageError(
            f"ini option lambda_strict_runtime: {exc}. Fix: write true or false."
        ) from None
    report = config.getoption("lambda_report")
    if report is not None and not hasattr(config, "workerinput"):
        from .report import check_report_path

        problem = check_report_path(str(report))
        if problem:
            raise pytest.UsageError(f"--lambda-report={report}: {problem}")


def _blocking_limit(config: pytest.Config) -> float:
    raw = str(config.getini("lambda_blocking_limit")).strip()
    try:
        limit = float(raw)
    except ValueError:
        limit = float("nan")
    if not (limit > 0 and limit != float("inf")):
        raise pytest.UsageError(
            f"ini option lambda_blocking_limit = {raw!r}: give the real seconds handler code may "
            "hold the thread before it is stopped as timed out, a finite number > 0. Fix: "
            "lambda_blocking_limit = 10 (the default)."
        )
    return limit


def _marker_values(item: pytest.Item, name: str, allowed: frozenset[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for marker in reversed(list(item.iter_markers(name))):
        if marker.args:
            raise pytest.UsageError(
                f"@pytest.mark.{name} takes keyword arguments only, got {marker.args!r} "
                f"(in {item.nodeid})."
            )
        unknown = sorted(set(marker.kwargs) - allowed)
        if unknown:
            raise pytest.UsageError(
                f"@pytest.mark.{name} got unknown keyword(s) {', '.join(map(repr, unknown))} "
                f"(in {item.nodeid}). Valid keywords: {', '.join(sorted(allowed))}."
            )
        values.update(marker.kwargs)
    return values


def function_settings(item: pytest.Item) -> FunctionSettings:
    from .config import SETTING_NAMES, FunctionSettings

    values = _ini_values(item.config, _FUNCTION_INI)
    if _strict(item.config):
        values["strict"] = True
    values.update(_marker_values(item, "lambda_function", SETTING_NAMES))
    return FunctionSettings().replace(**values)


def environment_settings(item: pytest.Item) -> EnvironmentSettings:
    from .invoker import EnvironmentSettings

    values = _ini_values(item.config, _ENVIRONMENT_INI)
    allowed = frozenset({"reuse", "idle_timeout", "max_environments", "account_concurrency"})
    for marker in reversed(list(item.iter_markers())):
        if marker.name == "lambda_cold_start":
            values["reuse"] = "never"
        elif marker.name == "lambda_warm_start":
            values["reuse"] = "always"
    values.update(_marker_values(item, "lambda_environment", allowed))
    return EnvironmentSettings(**values)


def delivery_settings(item: pytest.Item) -> DeliverySettings:
    from .invoker import DeliverySettings

    values = _ini_values(item.config, _DELIVERY_INI)
    if item.config.getoption("lambda_delivery"):
        values["mode"] = item.config.getoption("lambda_delivery")
    values["seed"] = zlib.crc32(f"{item.config.stash[_SEED]}:{item.nodeid}".encode())
    allowed = frozenset({"mode", "seed", "duplicate_rate", "zero_concurrency_condition",
                         "eventbridge_source"})
    values.update(_marker_values(item, "lambda_delivery", allowed))
    return DeliverySettings(**values)


# -- fixtures ---------------------------------------------------------------------------------
@pytest.fixture
def lambda_clock() -> VirtualClock:
    """The test's simulated clock: `time()`, `now()`, `advance(seconds)`."""
    from .clock import VirtualClock

    return VirtualClock()


@pytest.fixture
def lambda_context(
    request: pytest.FixtureRequest, lambda_clock: VirtualClock, lambda_leaks: LeakDetector
) -> LambdaContext:
    """A `LambdaContext` for calling a handler directly, configured by `lambda_function`.

    In an async test, work the test body leaves pending is checked by `lambda_leaks`.
    """
    from .context import LambdaContext

    settings = function_settings(request.node)
    stream = f"{lambda_clock.now():%Y/%m/%d}/[{settings.version}]{uuid.uuid4().hex}"
    return LambdaContext(
        aws_request_id=str(uuid.uuid4()),
        function_name=settings.name,
        function_version=settings.version,
        memory_limit_in_mb=str(settings.memory_size),
        invoked_function_arn=settings.arn,
        log_group_name=f"/aws/lambda/{settings.name}",
        log_stream_name=stream,
        deadline_ms=int((lambda_clock.time() + settings.timeout) * 1000),
        clock=lambda_clock,
        tenant_id=settings.tenant_id,
    )


@pytest.fixture
def lambda_events(request: pytest.FixtureRequest, lambda_clock: VirtualClock) -> Events:
    """Event factories on `lambda_clock`, for the account, region and function of
    `lambda_function`: `lambda_events.sqs({...})`, `lambda_events.api_gateway_v1(...)`, ..."""
    from .events import Events

    settings = function_settings(request.node)
    return Events(region=settings.region, account_id=settings.account_id, clock=lambda_clock,
                  function_name=settings.name)


@pytest.fixture
def lambda_invoker(
    request: pytest.FixtureRequest, lambda_clock: VirtualClock, lambda_leaks: LeakDetector
) -> Iterator[Invoker]:
    """Deploys and invokes functions on `lambda_clock`; everything is shut down after the test."""
    from .invoker import Invoker

    item = request.node
    tmp_dirs = _environments_tmp(item.config)
    limit = _blocking_limit(item.config)
    invoker = Invoker(
        lambda_clock,
        defaults=function_settings(item),
        environments=environment_settings(item),
        delivery=delivery_settings(item),
        real_time_budget=limit,
        tmp_root=tmp_dirs.root,
        tmp_dirs=tmp_dirs,
        observers=[lambda_leaks.observer] if lambda_leaks.active else [],
    )
    hook = item.config.hook
    invoker.listeners.append(lambda kind, data: _notify(hook, item, kind, data))
    invoker.listeners.append(_record(item).listen)
    from . import aws  # the moto bridge; it imports moto only if the test has

    aws.activate(invoker)
    try:
        yield invoker
        _check_unfinished(item, invoker)
    finally:
        try:
            aws.deactivate()
        finally:
            invoker.close()


_ENVIRONMENTS_TMP = pytest.StashKey["TmpDirs"]()


def _environments_tmp(config: pytest.Config) -> TmpDirs:
    """The environments' `/tmp` directories: made in one root per temporary directory the tests
    use (usually one for the session), removed at the session's end. An environment's empty
    `/tmp` is kept there when it shuts down, for the next cold start of any test: making and
    removing a directory per environment cost more than most tests' invocations. The root is
    made again if it is gone, or if the test has moved `tempfile`'s directory (a test may
    remove a directory it pointed tempfile at)."""
    dirs = config.stash.get(_ENVIRONMENTS_TMP, None)
    if dirs is None or os.path.dirname(str(dirs.root)) != tempfile.gettempdir() or not os.path.isdir(
            str(dirs.root)):
        from .tmpdirs import TmpDirs

        made = tempfile.mkdtemp(prefix="lambda-envs-")
        dirs = config.stash[_ENVIRONMENTS_TMP] = TmpDirs(made, keep=True)
        config.add_cleanup(lambda: shutil.rmtree(made, ignore_errors=True))
    return dirs


def _notify(hook: Any, item: pytest.Item, kind: str, data: dict[str, Any]) -> None:
    if kind == "invocation":
        caller = hook.pytest_lambda_async_invocation
        if caller.get_hookimpls():  # most runs implement it nowhere: skip pluggy's call
            caller(item=item, invocation=data)
    else:
        hook.pytest_lambda_async_outcome(item=item, function=data["function"], outcome=data["outcome"])


def _check_unfinished(item: pytest.Item, invoker: Invoker) -> None:
    mode = _choice(item.config, "lambda_unfinished_events", "--lambda-unfinished")
    unfinished = invoker.unfinished()
    if mode == "off" or not unfinished:
        return
    listing = "\n".join(
        f"  {name}: {', '.join(ids)}" for name, ids in sorted(unfinished.items())
    )
    message = (
        f"The test ended with {sum(map(len, unfinished.values()))} async event(s) still queued "
        f"or in flight:\n{listing}\n"
        "On Lambda these would still run (or retry, or reach a destination) after your test "
        "stopped looking. Drain them with lambda_invoker.run_until_idle() (or advance "
        "lambda_clock far enough), then assert on the outcomes. To allow this, set "
        "lambda_unfinished_events = warn or off (ini) or --lambda-unfinished=off."
    )
    if mode == "fail":
        pytest.fail(message, pytrace=False)
    warnings.warn(pytest.PytestWarning(message), stacklevel=1)


# -- leaked work ------------------------------------------------------------------------------
_RECORD = pytest.StashKey["TestRecord"]()
if TYPE_CHECKING:
    from .report import TestRecord


def leak_settings(item: pytest.Item) -> dict[str, Any]:
    """`LeakDetector` keywords: ini/option, then `lambda_leaks` markers (closest wins; ignores add up)."""
    values: dict[str, Any] = {"mode": _choice(item.config, "lambda_leaks", "--lambda-leaks")}
    ignore: list[str] = []
    allowed = frozenset({"mode", "ignore", "stacks", "library"})
    for marker in reversed(list(item.iter_markers("lambda_leaks"))):
        kwargs = _marker_values_of(item, marker, allowed)
        ignore.extend([kwargs.pop("ignore")] if isinstance(kwargs.get("ignore"), str)
                      else kwargs.pop("ignore", ()))
        values.update(kwargs)
    values["ignore"] = ignore
    return values


def _marker_values_of(item: pytest.Item, marker: pytest.Mark, allowed: frozenset[str]) -> dict[str, Any]:
    if marker.args or set(marker.kwargs) - allowed:
        raise pytest.UsageError(
            f"@pytest.mark.{marker.name} takes the keywords {', '.join(sorted(allowed))}; got "
            f"{marker.args!r} {sorted(marker.kwargs)!r} (in {item.nodeid})."
        )
    return dict(marker.kwargs)


def _record(item: pytest.Item) -> TestRecord:
    from .report import TestRecord

    record = item.stash.get(_RECORD, None)
    if record is None:
        record = item.stash[_RECORD] = TestRecord()
    return record


@pytest.fixture
def lambda_leaks(request: pytest.FixtureRequest) -> Iterator[LeakDetector]:
    """The leaked-work detector: `watch()` for handlers the test calls itself, and `findings`."""
    from .leaks import LeakDetector

    item = request.node
    detector = LeakDetector(**leak_settings(item))
    hook = item.config.hook
    detector.listeners.append(lambda finding: hook.pytest_lambda_async_leak(item=item, finding=finding))
    yield detector
    detector.close()
    _check_leaks(item, detector)


def _check_leaks(item: pytest.Item, detector: LeakDetector) -> None:
    from .leaks import failure_message

    if not detector.findings:
        return
    record = _record(item)
    for finding in detector.findings:
        record.add_leak(finding)
        item.user_properties.append(("lambda_leak", str(finding).split("\n", 1)[0]))
    message = failure_message(detector.findings)
    if detector.mode == "fail":
        pytest.fail(message, pytrace=False)
    # Shown at the test, not at this line of the plugin.
    path, lineno, _ = item.reportinfo()
    warnings.warn_explicit(LambdaLeakWarning(message), LambdaLeakWarning, str(path),
                           (lineno or 0) + 1, module=getattr(item.module, "__name__", None)
                           if hasattr(item, "module") else None)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    # An async test that calls a handler with the plugin's `lambda_context`: its body is the
    # invocation. A suite's own `lambda_context` fixture (Powertools' docs suggest one) is
    # not ours: the test is left alone.
    funcargs = getattr(item, "funcargs", {})
    if "lambda_context" in funcargs and inspect.iscoroutinefunction(getattr(item, "obj", None)):
        from .context import LambdaContext
        from .leaks import LeakDetector

        context, detector = funcargs["lambda_context"], funcargs.get("lambda_leaks")
        if isinstance(context, LambdaContext) and isinstance(detector, LeakDetector):
            with detector.watch(context):
                return (yield)
    return (yield)


# -- the report -------------------------------------------------------------------------------
@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    # The plugin's markers are checked before any fixture or the test runs.
    for marker in item.iter_markers():
        if marker.name in _MARKERS:
            from .marker_checks import marker_problem

            problem = marker_problem(marker.name, marker.args, marker.kwargs)
            if problem:
                pytest.fail(f"{problem}\n  (on {item.nodeid})", pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    excinfo = call.excinfo
    if excinfo is not None and type(excinfo.value).__module__ == _ERRORS_MODULE:
        _cut_plugin_frames(excinfo)
    report = yield
    record = item.stash.get(_RECORD, None)
    if call.when == "teardown" and record:
        # A plain attribute travels with the report from a pytest-xdist worker to the controller.
        report.lambda_async = record.as_dict()  # type: ignore[attr-defined]
    return report


def _cut_plugin_frames(excinfo: pytest.ExceptionInfo[BaseException]) -> None:
    # A usage or AWS error the plugin raised at the test's call: the test's own line shows
    # where; the plugin's frames below it would only hide the message.
    entries: list[TracebackType] = []
    tb: TracebackType | None = excinfo.tb
    while tb is not None:
        entries.append(tb)
        tb = tb.tb_next
    outside = [e for e in entries if not e.tb_frame.f_code.co_filename.startswith(_PACKAGE_DIR)]
    if outside and outside[-1] is not entries[-1]:
        outside[-1].tb_next = None
        excinfo.traceback = type(excinfo.traceback)(excinfo.tb)


class _Reporting:
    """Merges every test's record (the workers' too), then writes the JSON report and the summary."""

    def __init__(self, config: pytest.Config) -> None:
        from . import __version__
        from .report import RunReport

        self.config = config
        self.run = RunReport(plugin_version=__version__, seed=config.stash[_SEED], modes={
            "leaks": _choice(config, "lambda_leaks", "--lambda-leaks"),
            "unfinished_events": _choice(config, "lambda_unfinished_events", "--lambda-unfinished"),
            "delivery": _delivery_mode(config),
            "strict_runtime": _strict(config),
        })

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.run.add_result(report.nodeid, report.when or "", report.outcome)
        data = getattr(report, "lambda_async", None)
        if data:
            self.run.add_record(report.nodeid, data)

    def pytest_sessionfinish(self) -> None:
        path = self.config.getoption("lambda_report")
        if path:
            self.run.write(str(path))

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        lines = self.run.summary_lines()
        if lines:
            terminalreporter.write_sep("=", "lambda")
            for line in lines:
                terminalreporter.write_line(line)
