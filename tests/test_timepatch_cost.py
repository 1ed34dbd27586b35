"""The plugin's freezer starts without a `dir()` of every module, and patches what freezegun would.

`timepatch._ModuleScans` answers freezegun's per-module "which names are bound to real time
objects" from a session-wide memo while the plugin's freezer starts. These tests pin that it
asks freezegun again whenever freezegun's own cache would rescan (names added, swapped, a
module replaced), that it stays out of the way otherwise (freezegun's function is back after
every start, even a failing one; an unknown freezegun runs unpatched), and, across a real
session, that handler code sees simulated time through every alias a module made.
"""

from __future__ import annotations

import sys
import textwrap
import time
import types
from typing import Any

import freezegun
import freezegun.api
import pytest

from pytest_lambda_async import Invoker, VirtualClock
from pytest_lambda_async.timepatch import TimePatches, _ModuleScans, module_scans

FREEZEGUN_SCAN = freezegun.api._get_cached_module_attributes


class CountingScan:
    """freezegun's own function, counting the modules it is asked about."""

    def __init__(self) -> None:
        self.asked: list[Any] = []

    def __call__(self, module: Any) -> Any:
        self.asked.append(module)
        return FREEZEGUN_SCAN(module)


def memo_and_scan() -> tuple[Any, CountingScan]:
    scan = CountingScan()
    return _ModuleScans()._answer_for(scan), scan


def module(name: str, **names: Any) -> types.ModuleType:
    made = types.ModuleType(name)
    vars(made).update(names)
    return made


def test_an_unchanged_module_is_answered_from_the_memo() -> None:
    answer, scan = memo_and_scan()
    aliases = module("aliases_a", now=time.time, placeholder=None)
    first = answer(aliases)
    assert [name for name, _ in first] == ["now"]
    assert scan.asked == [aliases]
    assert answer(aliases) is first
    assert scan.asked == [aliases]  # freezegun was not asked again


def test_a_found_alias_rebound_to_another_time_object_is_asked_again() -> None:
    answer, scan = memo_and_scan()
    aliases = module("aliases_rebound", now=time.time)
    assert answer(aliases) == [("now", time.time)]
    aliases.now = time.monotonic  # same names, same count, another real time function
    # freezegun is asked again (its own cache, which may have been refreshed meanwhile by a
    # test's freeze_time, decides), rather than the memo answering with the old value.
    assert answer(aliases) == FREEZEGUN_SCAN(aliases)
    assert scan.asked == [aliases, aliases]


def test_a_module_that_gains_a_real_time_alias_is_asked_again() -> None:
    answer, scan = memo_and_scan()
    aliases = module("aliases_b", placeholder=None)
    assert answer(aliases) == []
    aliases.later = time.time  # type: ignore[attr-defined]
    assert [name for name, _ in answer(aliases)] == ["later"]
    assert len(scan.asked) == 2


def test_a_name_swapped_for_another_of_the_same_count_is_asked_again() -> None:
    answer, scan = memo_and_scan()
    aliases = module("aliases_c", placeholder=None, other=1)
    assert answer(aliases) == []
    del aliases.placeholder  # type: ignore[attr-defined]
    aliases.swapped = time.time  # type: ignore[attr-defined]
    assert [name for name, _ in answer(aliases)] == ["swapped"]
    assert len(scan.asked) == 2


def test_a_module_replaced_under_the_same_name_is_asked_again() -> None:
    answer, scan = memo_and_scan()
    old = module("aliases_d", placeholder=None)
    assert answer(old) == []
    new = module("aliases_d", placeholder=time.time)  # a reload into a new module object
    assert [name for name, _ in answer(new)] == ["placeholder"]
    assert scan.asked == [old, new]


def test_a_new_module_at_a_dead_modules_address_is_asked_again() -> None:
    scans = _ModuleScans()
    scan = CountingScan()
    answer = scans._answer_for(scan)
    old = module("aliases_e", placeholder=None)
    answer(old)
    new = module("aliases_e", placeholder=time.time)  # same names, same length, same last key
    # As if `new` had been allocated where `old` was: the memo's entry is found by address.
    scans._seen[id(new)] = scans._seen.pop(id(old))
    assert [name for name, _ in answer(new)] == ["placeholder"]
    assert scan.asked == [old, new]


def test_modules_with_their_own_dir_are_always_asked() -> None:
    answer, scan = memo_and_scan()
    custom = module("aliases_f", now=time.time)
    custom.__dir__ = lambda: ["now"]  # type: ignore[method-assign]

    class Sub(types.ModuleType):
        pass

    subclass = Sub("aliases_g")
    subclass.now = time.time  # type: ignore[attr-defined]
    not_a_module = types.SimpleNamespace(__name__="aliases_h", now=time.time)
    for _ in range(2):
        for made in (custom, subclass, not_a_module):
            assert [name for name, _ in answer(made)] == ["now"]
    assert scan.asked == [custom, subclass, not_a_module] * 2


def test_freezeguns_function_is_back_after_answering_even_when_start_fails() -> None:
    with pytest.raises(RuntimeError), module_scans.answering(freezegun.api):
        assert freezegun.api._get_cached_module_attributes is not FREEZEGUN_SCAN
        raise RuntimeError("start failed")
    assert freezegun.api._get_cached_module_attributes is FREEZEGUN_SCAN


def test_an_unknown_freezegun_runs_unpatched() -> None:
    api = types.SimpleNamespace(_get_cached_module_attributes=FREEZEGUN_SCAN)  # no cache, no hash
    with module_scans.answering(api):
        assert api._get_cached_module_attributes is FREEZEGUN_SCAN


def test_the_plugins_freezer_starts_with_the_memo_and_puts_freezegun_back(
        monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Any] = []

    def failing_start(self: Any) -> Any:
        seen.append(freezegun.api._get_cached_module_attributes)
        raise RuntimeError("start failed")

    patches = TimePatches(VirtualClock())
    sleep = time.sleep
    monkeypatch.setattr(freezegun.api._freeze_time, "start", failing_start)
    try:
        with pytest.raises(RuntimeError, match="start failed"):
            patches.ensure_started()
    finally:
        patches.stop()  # nothing of the failed start is left for it to stop
    assert seen and seen[0] is not FREEZEGUN_SCAN
    assert freezegun.api._get_cached_module_attributes is FREEZEGUN_SCAN
    assert time.sleep is sleep
    assert not any(type(finder).__name__ == "ImportGuard" for finder in sys.meta_path)
    assert freezegun.api.freeze_factories == []


def test_a_start_that_fails_in_freezeguns_module_walk_is_undone() -> None:
    # freezegun has patched time and datetime when a module refuses its setattr: the plugin
    # stops that half-started freezer, so time is not left frozen for the rest of the session.
    import datetime

    real_time, real_datetime = time.time, datetime.datetime

    class Refuses(types.ModuleType):
        def __setattr__(self, name: str, value: Any) -> None:
            raise RuntimeError("read-only module")

    refusing = Refuses("refusing_module")
    refusing.__dict__["now"] = real_time
    sys.modules["refusing_module"] = refusing
    patches = TimePatches(VirtualClock())
    try:
        with pytest.raises(RuntimeError, match="read-only module"):
            patches.ensure_started()
    finally:
        del sys.modules["refusing_module"]
        patches.stop()
    assert freezegun.api.freeze_factories == []
    assert time.time is real_time and datetime.datetime is real_datetime
    assert freezegun.api.sys is sys


def test_a_start_walks_only_modules_that_may_have_something_to_patch() -> None:
    # After a first start, freezegun's walk sees `sys.modules` without the modules the memo
    # knows have no real-time name; `sys` is freezegun's own again afterwards, and its stop()
    # knows every module there was at the start (not only those it walked).
    memo = _ModuleScans()
    real_time = time.time
    clean = module("memo_clean_module", value=1)
    aliased = module("memo_aliased_module", now=real_time)
    sys.modules.update({clean.__name__: clean, aliased.__name__: aliased})
    walked: list[set[str]] = []

    def recording(freezer: Any) -> Any:
        start = freezer.start

        def recorded() -> Any:
            walked.append(set(freezegun.api.sys.modules))
            return start()

        freezer.start = recorded
        return freezer

    try:
        for _ in range(2):
            freezer = recording(freezegun.freeze_time("2020-01-01", real_asyncio=True))
            at_start = set(sys.modules)
            with memo.answering(freezegun.api, freezer):
                freezer.start()
            try:
                assert freezegun.api.sys is sys
                assert freezer.modules_at_start == at_start
                assert aliased.now is not real_time  # patched, through the view as before
            finally:
                freezer.stop()
            assert aliased.now is real_time
    finally:
        del sys.modules[clean.__name__], sys.modules[aliased.__name__]
    assert clean.__name__ in walked[0] and aliased.__name__ in walked[0]
    assert clean.__name__ not in walked[1] and aliased.__name__ in walked[1]
    assert len(walked[1]) < len(walked[0]) / 4


def test_freezeguns_sys_is_back_even_when_start_fails() -> None:
    freezer = freezegun.freeze_time("2020-01-01")
    with pytest.raises(RuntimeError), module_scans.answering(freezegun.api, freezer):
        assert freezegun.api.sys is not sys
        raise RuntimeError("start failed")
    assert freezegun.api.sys is sys


def reads_time(event: Any, context: Any) -> float:
    return time.time()


def test_a_second_start_asks_freezegun_about_few_modules(monkeypatch: pytest.MonkeyPatch) -> None:
    scan = CountingScan()
    monkeypatch.setattr(freezegun.api, "_get_cached_module_attributes", scan)
    asked = []
    for _ in range(3):
        invoker = Invoker(VirtualClock(start=1_000_000_000.0))
        try:
            assert invoker.deploy(reads_time).invoke({}).payload == 1_000_000_000.0
        finally:
            invoker.close()
        asked.append(len(scan.asked))
        scan.asked.clear()
    assert freezegun.api._get_cached_module_attributes is scan
    # Most modules did not change between two starts: freezegun is asked about those that did.
    assert asked[2] < len(sys.modules) / 10, asked


SESSION = '''
import datetime
import importlib
import sys
import time

import freezegun.api
import pytest

import helper_early

FREEZEGUN_SCAN = freezegun.api._get_cached_module_attributes
DAY = 86400.0
AHEAD = 10 * DAY


def handler(event, context):
    import helper_lazy  # imported by handler code (each test's environment imports it anew)
    readings = {}
    for name in event["modules"]:
        mod = sys.modules[name]
        for attribute in event["reads"].get(name, ["read", "read_dt", "read_date"]):
            readings[f"{name}.{attribute}"] = getattr(mod, attribute)()
    readings["helper_lazy.read"] = helper_lazy.read()
    return readings


def run(lambda_invoker, lambda_clock, modules, reads=None):
    lambda_clock.advance(AHEAD)
    real = time.time()
    readings = lambda_invoker.deploy(handler).invoke({"modules": modules, "reads": reads or {}}).payload
    # Handler code read simulated time (ten days ahead) through every alias...
    assert readings and all(value > real + AHEAD - DAY for value in readings.values()), readings
    # ...and the test's own code reads real time through the same aliases, freezer on.
    for name in modules:
        assert abs(sys.modules[name].read() - time.time()) < 60
    return readings


def assert_restored():
    assert datetime.datetime is freezegun.api.real_datetime
    assert freezegun.api._get_cached_module_attributes is FREEZEGUN_SCAN
    assert "helper_lazy" not in sys.modules  # the environment's own, gone with it
    for name in ("helper_early", "helper_between"):
        mod = sys.modules.get(name)
        if mod is not None:
            assert mod.time is freezegun.api.real_time, name
            assert mod.datetime is freezegun.api.real_datetime, name
            assert mod.date is freezegun.api.real_date, name


def test_1(lambda_invoker, lambda_clock):
    assert_restored()
    run(lambda_invoker, lambda_clock, ["helper_early"])


def test_2(lambda_invoker, lambda_clock):
    assert_restored()
    import helper_between  # imported between tests
    helper_early.later = time.time  # an alias made after the first test's scan
    run(lambda_invoker, lambda_clock, ["helper_early", "helper_between"],
        {"helper_early": ["read", "read_dt", "read_date", "later"]})


def test_3(lambda_invoker, lambda_clock):
    assert_restored()
    del helper_early.placeholder  # as many names as in the second test's scan, one new
    helper_early.swapped = time.time
    del sys.modules["helper_between"]
    fresh = importlib.import_module("helper_between")  # a new module object under the name
    assert fresh is sys.modules["helper_between"]
    run(lambda_invoker, lambda_clock, ["helper_early", "helper_between"],
        {"helper_early": ["read", "read_dt", "read_date", "later", "swapped"]})


def test_4():
    assert_restored()
    assert helper_early.later is time.time and helper_early.swapped is time.time
'''

HELPER = '''
from datetime import date, datetime, timezone
from time import time

placeholder = None


def read():
    return time()


def read_dt():
    return datetime.now(timezone.utc).timestamp()


def read_date():
    # The date a fake `date.today()` gives, as epoch seconds at its midnight UTC.
    return datetime(*date.today().timetuple()[:3], tzinfo=timezone.utc).timestamp() + 86399
'''


def test_handler_code_sees_simulated_time_through_every_alias_test_after_test(
        pytester: pytest.Pytester) -> None:
    pytester.makepyfile(**{
        "test_session": textwrap.dedent(SESSION),
        "helper_early": HELPER, "helper_lazy": HELPER, "helper_between": HELPER,
    })
    result = pytester.runpytest_subprocess("-p", "no:randomly", "-p", "no:cacheprovider",
                                           timeout=120)
    result.assert_outcomes(passed=4)


def test_the_memo_forgets_a_module_that_is_gone() -> None:
    import gc

    memo = _ModuleScans()
    answer = memo._answer_for(FREEZEGUN_SCAN)
    made = module("memo_short_lived", now=time.time)
    answer(made)
    assert id(made) in memo._seen
    key = id(made)
    del made
    gc.collect()
    assert key not in memo._seen


def _loops_made_by_a_start(monkeypatch: pytest.MonkeyPatch, loop_class: type) -> tuple[int, Any]:
    made = []
    init = loop_class.__init__

    def counting(self: Any, *args: Any, **kwargs: Any) -> None:
        made.append(self)
        init(self, *args, **kwargs)

    monkeypatch.setattr(loop_class, "__init__", counting)
    patches = TimePatches(VirtualClock())
    patches.ensure_started()
    try:
        patched_time = loop_class.__dict__.get("time")
    finally:
        patches.stop()
    monkeypatch.setattr(loop_class, "__init__", init)
    return len(made), patched_time


def test_a_start_under_the_default_policy_makes_no_loop_to_learn_its_class(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # freezegun makes and closes a loop at every start to learn which class to give real time;
    # under asyncio's own default policy the class is known, and no loop (no selector, no
    # socket pair) is made after the first start. freezegun still patches that class.
    import asyncio

    policy = asyncio.DefaultEventLoopPolicy()
    monkeypatch.setattr(asyncio.events, "_event_loop_policy", policy)
    loop_class = type(policy)._loop_factory  # type: ignore[attr-defined]
    original_time = loop_class.time
    _loops_made_by_a_start(monkeypatch, loop_class)
    made, patched_time = _loops_made_by_a_start(monkeypatch, loop_class)
    assert made == 0
    assert patched_time is not None and patched_time is not original_time
    assert loop_class.time is original_time


def test_a_start_under_another_policy_asks_it_for_a_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    class OwnLoop(asyncio.SelectorEventLoop):  # type: ignore[misc,valid-type]
        pass

    class OwnPolicy(asyncio.DefaultEventLoopPolicy):  # type: ignore[misc,valid-type]
        _loop_factory = OwnLoop

    monkeypatch.setattr(asyncio.events, "_event_loop_policy", OwnPolicy())
    original_time = OwnLoop.time
    for _ in range(2):
        made, patched_time = _loops_made_by_a_start(monkeypatch, OwnLoop)
        # freezegun patched the class of the policy's loops, and put its time back
        assert made == 1 and patched_time is not None and patched_time is not original_time
        assert OwnLoop.time is original_time
