"""Nothing handler or init code does to the process crosses into the next test.

cwd, sys.path, sys.modules, signal handlers and the logging tree: while a test's invocations
run they stay as AWS keeps them (each environment a process of its own); when the test ends
they are what the test had. A suite of polluting and detecting tests checks it in file order,
in random order (pytest-randomly, several seeds) and under pytest-xdist.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_lambda_async import Invoker, VirtualClock

# -- the suite that pollutes and detects --------------------------------------------------------
STATE = '''
import logging, os, signal, sys

def _pytest_owned(handler):
    return type(handler).__module__.startswith("_pytest.")

def snapshot():
    loggers = {name: (lg.level, lg.disabled, lg.propagate, [h for h in lg.handlers])
               for name, lg in [("", logging.getLogger()), ("app", logging.getLogger("app")),
                                ("app.db", logging.getLogger("app.db"))]}
    for state in loggers.values():
        state[3][:] = [h for h in state[3] if not _pytest_owned(h)]
    return {
        "cwd": os.getcwd(),
        "sys.path": list(sys.path),
        "signals": {s: signal.getsignal(s) for s in (signal.SIGUSR1, signal.SIGALRM, signal.SIGTERM)},
        "loggers": loggers,
        "disable": logging.root.manager.disable,
        "modules": sorted(m for m in ("lazy_counter", "pollute", "counter_init") if m in sys.modules),
    }

BASELINE = snapshot()
'''

POLLUTE = '''
import logging, logging.config, os, signal, sys, tempfile

LAYER = os.path.join(tempfile.gettempdir(), "layer-python")
os.makedirs(LAYER, exist_ok=True)

# init code, as layer and logging set-up code does it
sys.path.insert(0, LAYER)
logging.getLogger().setLevel(logging.ERROR)
logging.getLogger().addHandler(logging.StreamHandler(sys.stderr))
logging.getLogger("app").setLevel(logging.CRITICAL)
logging.getLogger("app.db").disabled = True
logging.getLogger("made.at.init").setLevel(logging.DEBUG)
signal.signal(signal.SIGTERM, lambda *a: None)

def chdir(event, context):
    if event.get("move"):
        os.chdir(LAYER)
    return os.getcwd()

def path(event, context):
    if event.get("insert"):
        sys.path.append("/opt/python")
    return list(sys.path)

def signals(event, context):
    signal.signal(signal.SIGUSR1, lambda *a: None)
    signal.signal(signal.SIGALRM, lambda *a: None)
    return "ok"

def logs(event, context):
    logging.disable(logging.WARNING)
    logging.config.dictConfig({"version": 1, "disable_existing_loggers": True,
                               "root": {"level": "CRITICAL"}})
    return "ok"

def lazy(event, context):
    import lazy_counter
    return lazy_counter.bump()
'''

LAZY_COUNTER = '''
count = 0

def bump():
    global count
    count += 1
    return count
'''

COUNTER_INIT = '''
import lazy_counter

def handler(event, context):
    return lazy_counter.bump()
'''

POLLUTING_TESTS = '''
import os, sys
import pytest
from state import BASELINE

def test_pollute_cwd(lambda_invoker):
    fn = lambda_invoker.deploy("pollute.chdir")
    moved = fn.invoke({"move": True}).payload
    assert moved != BASELINE["cwd"]
    assert fn.invoke({}).payload == moved  # the same environment keeps its cwd
    assert os.getcwd() == BASELINE["cwd"]  # the test keeps its own

def test_pollute_sys_path(lambda_invoker):
    fn = lambda_invoker.deploy("pollute.path")
    assert "/opt/python" in fn.invoke({"insert": True}).payload
    assert "/opt/python" in fn.invoke({}).payload
    assert "/opt/python" not in sys.path

def test_pollute_signals(lambda_invoker):
    assert lambda_invoker.deploy("pollute.signals").invoke({}).payload == "ok"

def test_pollute_logging(lambda_invoker):
    assert lambda_invoker.deploy("pollute.logs").invoke({}).payload == "ok"

@pytest.mark.lambda_warm_start
def test_pollute_lazy_import(lambda_invoker):
    fn = lambda_invoker.deploy("pollute.lazy")
    assert [fn.invoke({}).payload for _ in range(3)] == [1, 2, 3]
    assert "lazy_counter" not in sys.modules
'''

DETECTING_TESTS = '''
import pytest
from state import BASELINE, snapshot

@pytest.mark.parametrize("n", range(3))
def test_process_is_as_the_suite_started(n):
    assert snapshot() == BASELINE

@pytest.mark.parametrize("n", range(2))
def test_cold_environments_do_not_share_user_modules(lambda_invoker, n):
    lazy = lambda_invoker.deploy("pollute.lazy")
    from_init = lambda_invoker.deploy("counter_init.handler")
    assert (lazy.invoke({}).payload, from_init.invoke({}).payload) == (1, 1)
    assert snapshot()["modules"] == BASELINE["modules"]

@pytest.mark.lambda_cold_start
def test_every_cold_start_imports_afresh(lambda_invoker):
    fn = lambda_invoker.deploy("pollute.lazy")
    assert [fn.invoke({}).payload for _ in range(3)] == [1, 1, 1]
'''


@pytest.fixture
def polluted_suite(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(
        state=STATE, pollute=POLLUTE, lazy_counter=LAZY_COUNTER, counter_init=COUNTER_INIT,
        test_a_pollute=POLLUTING_TESTS, test_b_detect=DETECTING_TESTS,
    )
    return pytester


PASSED = 5 + 6


def test_file_order_pollutes_first_then_detects(polluted_suite: pytest.Pytester) -> None:
    result = polluted_suite.runpytest_subprocess("-p", "no:cacheprovider", timeout=120)
    result.assert_outcomes(passed=PASSED)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_order(polluted_suite: pytest.Pytester, seed: int) -> None:
    result = polluted_suite.runpytest_subprocess(
        "-p", "randomly", f"--randomly-seed={seed}", "-p", "no:cacheprovider", "-v", timeout=120
    )
    result.stdout.fnmatch_lines([f"Using --randomly-seed={seed}"])
    result.assert_outcomes(passed=PASSED)


def test_under_xdist(polluted_suite: pytest.Pytester) -> None:
    result = polluted_suite.runpytest_subprocess(
        "-n", "2", "-p", "randomly", "--randomly-seed=4", "-p", "no:cacheprovider", timeout=180
    )
    result.assert_outcomes(passed=PASSED)


# -- the same, one concern at a time, in this process ----------------------------------------
@pytest.fixture
def task_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[str, str], str]:
    """Write a module under a task root on sys.path; drop every module made there afterwards."""
    monkeypatch.syspath_prepend(str(tmp_path))
    names: list[str] = []

    def write(name: str, source: str) -> str:
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
        names.append(name)
        return name

    yield write  # type: ignore[misc]
    for name in names:
        sys.modules.pop(name, None)


def test_cwd_is_per_environment_and_restored(
    task_root: Callable[[str, str], str], tmp_path: Path
) -> None:
    target = tmp_path / "elsewhere"
    target.mkdir()
    task_root("cwd_handler", f"""
        import os
        def handler(event, context):
            if event:
                os.chdir({str(target)!r})
            return os.getcwd()
    """)
    before, chdir = os.getcwd(), os.chdir
    invoker = Invoker(VirtualClock())
    try:
        fn = invoker.deploy("cwd_handler.handler")
        assert fn.invoke(True).payload == str(target)
        assert os.getcwd() == before
        assert fn.invoke(None).payload == str(target)  # warm: its cwd stayed
        other = invoker.deploy("cwd_handler.handler", name="other")
        assert other.invoke(None).payload == before  # another environment: the test's cwd
        os.chdir(target)  # the test moves between invocations: environments follow it
        assert other.invoke(None).payload == str(target)
        os.chdir(before)
    finally:
        invoker.close()
    assert os.getcwd() == before
    assert os.chdir is chdir  # the watch on os.chdir is gone with the invoker


def test_sys_path_is_per_environment_and_restored(task_root: Callable[[str, str], str]) -> None:
    task_root("path_handler", """
        import sys
        sys.path.insert(0, "/opt/layer")
        def handler(event, context):
            if event:
                sys.path = sys.path + ["/opt/replaced"]
            return sys.path[:1] + sys.path[-1:]
    """)
    before = list(sys.path)
    invoker = Invoker(VirtualClock())
    try:
        fn = invoker.deploy("path_handler.handler")
        assert fn.invoke(None).payload == ["/opt/layer", before[-1]]
        assert sys.path == before
        assert fn.invoke(True).payload == ["/opt/layer", "/opt/replaced"]
        assert fn.invoke(None).payload == ["/opt/layer", "/opt/replaced"]
        assert sys.path == before
    finally:
        invoker.close()
    assert sys.path == before


def test_lazily_imported_user_module_stays_in_its_environment(
    task_root: Callable[[str, str], str],
) -> None:
    task_root("lazy_state", "hits = []\n")
    task_root("lazy_handler", """
        def handler(event, context):
            import lazy_state
            lazy_state.hits.append(1)
            return len(lazy_state.hits)
    """)
    task_root("eager_handler", """
        import lazy_state
        def handler(event, context):
            lazy_state.hits.append(1)
            return len(lazy_state.hits)
    """)
    invoker = Invoker(VirtualClock())
    try:
        lazy = invoker.deploy("lazy_handler.handler")
        assert [lazy.invoke({}).payload for _ in range(2)] == [1, 2]
        assert "lazy_state" not in sys.modules
        assert invoker.deploy("eager_handler.handler").invoke({}).payload == 1
    finally:
        invoker.close()


@pytest.mark.skipif(not hasattr(signal, "SIGUSR1"), reason="POSIX signals")
def test_signal_handlers_are_restored_and_the_guard_keeps_working() -> None:
    def installs(event: object, context: object) -> str:
        signal.signal(signal.SIGUSR1, lambda *a: None)
        signal.signal(signal.SIGALRM, lambda *a: None)
        return "ok"

    before = {s: signal.getsignal(s) for s in (signal.SIGUSR1, signal.SIGALRM)}
    invoker = Invoker(VirtualClock())
    try:
        assert invoker.deploy(installs).invoke({}).payload == "ok"
    finally:
        invoker.close()
    assert {s: signal.getsignal(s) for s in before} == before
    # The next test's guard still stops code that holds the thread.
    invoker = Invoker(VirtualClock(), real_time_budget=0.3)
    try:
        def spins(event: object, context: object) -> None:
            while True:
                pass

        result = invoker.deploy(spins, timeout=5).invoke({})
        assert result.payload["errorType"] == "Sandbox.Timedout"
    finally:
        invoker.close()
    assert {s: signal.getsignal(s) for s in before} == before


def test_logging_tree_is_restored_but_pytest_handlers_are_left_to_pytest(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import logging.config

    root = logging.getLogger()
    named = logging.getLogger("isolation.named")
    named.setLevel(logging.INFO)
    before = (root.level, list(root.handlers), named.level, named.disabled, named.handlers[:])

    def configures(event: object, context: object) -> str:
        logging.getLogger().setLevel(logging.CRITICAL)
        logging.getLogger().addHandler(logging.StreamHandler())
        logging.getLogger("isolation.new").setLevel(logging.DEBUG)
        logging.config.dictConfig({"version": 1, "disable_existing_loggers": True})
        logging.disable(logging.ERROR)
        return "ok"

    invoker = Invoker(VirtualClock())
    try:
        assert invoker.deploy(configures).invoke({}).payload == "ok"
        assert named.disabled
    finally:
        invoker.close()
    assert (root.level, list(root.handlers), named.level, named.disabled, named.handlers) == before
    assert logging.getLogger("isolation.new").level == logging.NOTSET
    assert logging.root.manager.disable == logging.NOTSET
    with caplog.at_level(logging.INFO, logger="isolation.named"):
        named.info("still captured")
    assert caplog.messages == ["still captured"]


@pytest.mark.skipif(not hasattr(signal, "SIGUSR2"), reason="POSIX signals")
def test_default_and_ignored_signal_dispositions_are_put_back() -> None:
    # SIG_DFL and SIG_IGN, swapped both ways by handler code: read without the signal
    # module's enums, they must still compare as the dispositions they are.
    previous = signal.signal(signal.SIGUSR2, signal.SIG_IGN)
    try:
        def swaps(event: object, context: object) -> str:
            signal.signal(signal.SIGUSR2, signal.SIG_DFL)
            signal.signal(signal.SIGUSR1, signal.SIG_IGN)
            return "ok"

        before = {s: signal.getsignal(s) for s in (signal.SIGUSR1, signal.SIGUSR2)}
        invoker = Invoker(VirtualClock())
        try:
            assert invoker.deploy(swaps).invoke({}).payload == "ok"
        finally:
            invoker.close()
        assert {s: signal.getsignal(s) for s in before} == before
        assert signal.getsignal(signal.SIGUSR2) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGUSR2, previous)


def test_a_level_set_directly_by_handler_code_leaves_no_stale_answer() -> None:
    # Handler code assigns a level without setLevel (no cache clearing), asks the logger, and
    # assigns the level back: the logger must not keep the answer it cached in between.
    logger = logging.getLogger("isolation.direct")
    assert not logger.isEnabledFor(logging.DEBUG)

    def lowers(event: object, context: object) -> bool:
        direct = logging.getLogger("isolation.direct")
        direct.level = logging.DEBUG
        direct._cache.clear()  # type: ignore[attr-defined]
        enabled = direct.isEnabledFor(logging.DEBUG)
        direct.level = logging.NOTSET
        return enabled

    invoker = Invoker(VirtualClock())
    try:
        assert invoker.deploy(lowers).invoke({}).payload is True
    finally:
        invoker.close()
    assert logger.level == logging.NOTSET
    assert not logger.isEnabledFor(logging.DEBUG)


def test_modules_the_test_had_are_put_back_even_beside_odd_entries() -> None:
    import csv
    import json

    class RefusesComparison:
        def __eq__(self, other: object) -> bool:
            raise RuntimeError("no comparing me")

        __hash__ = object.__hash__

    class EqualToAnything:
        def __eq__(self, other: object) -> bool:
            return True

        __hash__ = object.__hash__

    odd = sys.modules["isolation_odd_entry"] = RefusesComparison()  # type: ignore[assignment]
    try:
        def replaces(event: object, context: object) -> str:
            sys.modules["json"] = RefusesComparison()  # type: ignore[assignment]
            return "ok"

        def removes(event: object, context: object) -> str:
            del sys.modules["csv"]
            return "ok"

        def replaces_with_an_equal(event: object, context: object) -> str:
            sys.modules["json"] = EqualToAnything()  # type: ignore[assignment]
            return "ok"

        for tampers in (replaces, removes, replaces_with_an_equal):
            invoker = Invoker(VirtualClock())
            try:
                assert invoker.deploy(tampers).invoke({}).payload == "ok"
            finally:
                invoker.close()
            assert sys.modules["json"] is json and sys.modules["csv"] is csv
        assert sys.modules["isolation_odd_entry"] is odd
    finally:
        sys.modules.pop("isolation_odd_entry", None)
