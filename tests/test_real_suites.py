"""The plugin installed into suites that already exist: it changes none of their outcomes."""

from __future__ import annotations

import sys

import pytest
from conftest import PYTEST_INI

# A copy of the shape of Powertools' documented async test
# (examples/event_handler_graphql/src/assert_async_graphql_response.py): the suite defines its
# own `lambda_context` fixture, and an async test awaits the resolver with it.
POWERTOOLS_APP = '''
import asyncio

from aws_lambda_powertools.event_handler import AppSyncResolver

app = AppSyncResolver()


@app.resolver(type_name="Query", field_name="listLocations")
async def list_locations(page: int = 0, size: int = 10):
    await asyncio.sleep(0)
    return [{"id": "1", "name": "Perkins-Reed", "description": "Nice place"}]


def lambda_handler(event, context):
    return asyncio.run(app.resolve(event, context))
'''
POWERTOOLS_TEST = '''
from dataclasses import dataclass

import pytest

from powertools_graphql_app import app, lambda_handler

EVENT = {
    "typeName": "Query",
    "fieldName": "listLocations",
    "arguments": {"page": 2, "size": 1},
    "identity": None,
    "source": None,
    "request": {"headers": {}},
    "prev": None,
    "info": {"fieldName": "listLocations", "parentTypeName": "Query", "variables": {},
             "selectionSetList": ["id", "name"], "selectionSetGraphQL": "{ id name }"},
    "stash": {},
}


@pytest.fixture
def lambda_context():
    @dataclass
    class LambdaContext:
        function_name: str = "test"
        memory_limit_in_mb: int = 128
        invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:test"
        aws_request_id: str = "da658bd3-2d6f-4e7b-8ec2-937234644fdc"

    return LambdaContext()


@pytest.mark.asyncio
async def test_async_direct_resolver(lambda_context):
    result = await app(EVENT, lambda_context)
    assert result[0]["name"] == "Perkins-Reed"


def test_sync_handler(lambda_context):
    assert lambda_handler(EVENT, lambda_context)[0]["name"] == "Perkins-Reed"


@pytest.mark.asyncio
async def test_async_without_any_context():
    assert (await app(EVENT, None))[0]["id"] == "1"
'''


def _outcomes(pytester: pytest.Pytester, *args: str) -> dict[str, int]:
    result = pytester.runpytest_subprocess("-p", "no:randomly", *args, timeout=120)
    outcomes = result.parseoutcomes()
    assert "error" not in outcomes and "errors" not in outcomes, result.stdout.str()
    return outcomes


def test_a_suites_own_lambda_context_fixture_keeps_its_outcomes(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(powertools_graphql_app=POWERTOOLS_APP, test_graphql=POWERTOOLS_TEST)
    without = _outcomes(pytester, "-p", "no:lambda_async")
    with_plugin = _outcomes(pytester)
    assert without == with_plugin == {"passed": 3}


def test_own_lambda_context_with_lambda_leaks_requested_is_not_watched(pytester: pytest.Pytester) -> None:
    # The test asks for the detector too, but the context is the suite's own: no auto-watch,
    # no crash; the test's own leak (a task it leaves behind) is its business.
    pytester.makeini(PYTEST_INI)
    pytester.makepyfile(test_own="""
        import asyncio
        import pytest

        @pytest.fixture
        def lambda_context():
            return object()

        @pytest.mark.asyncio
        async def test_it(lambda_context, lambda_leaks):
            asyncio.get_running_loop().create_task(asyncio.sleep(3600))
            assert lambda_leaks.findings == []
    """)
    result = pytester.runpytest_subprocess("-p", "no:randomly", timeout=120)
    result.assert_outcomes(passed=1)


# -- freezegun and imports ------------------------------------------------------------------------
IMPORTS_AND_TIME = '''
import datetime as dt

import pydantic
import pytest


def test_pydantic_v1_module_as_a_handler_string(lambda_invoker):
    fn = lambda_invoker.deploy("uses_pydantic_v1.handler", name="v1")
    result = fn.invoke({"when": "2020-01-02"})
    assert result.function_error is None, result.payload
    assert result.payload == {"when": "2020-01-02"}


def test_a_fastapi_app_as_a_handler_string(lambda_invoker):
    result = lambda_invoker.deploy("fastapi_app.handler", name="api").invoke({})
    assert result.function_error is None, result.payload
    assert result.payload == {"routes": ["/items/{item_id}"]}


def test_a_lazy_import_inside_the_handler(lambda_invoker):
    def handler(event, context):
        import lazily_imported

        return lazily_imported.Day(day="2021-03-04").day.isoformat()

    result = lambda_invoker.deploy(handler, name="lazy").invoke({})
    assert result.function_error is None, result.payload
    assert result.payload == "2021-03-04"


def test_handler_string_modules_still_read_simulated_time(lambda_invoker):
    lambda_invoker.clock.advance(86400 * 400)
    expected = lambda_invoker.clock.now().replace(tzinfo=None)
    payload = lambda_invoker.deploy("reads_the_time.handler", name="clock").invoke({}).payload
    assert payload["datetime"] == pytest.approx(expected.timestamp(), abs=1)
    assert payload["date"] == expected.date().isoformat()


def test_a_later_pydantic_v2_model_with_a_date(lambda_invoker):
    class Model(pydantic.BaseModel):
        day: dt.date
        at: dt.datetime

    assert Model(day="2020-01-01", at="2020-01-01T00:00:00").day == dt.date(2020, 1, 1)
'''
PYDANTIC_V1_MODULE = '''
import pydantic.v1


class Event(pydantic.v1.BaseModel):
    when: pydantic.v1.types.date


def handler(event, context):
    return {"when": Event(**event).when.isoformat()}
'''
FASTAPI_MODULE = '''
from fastapi import FastAPI

app = FastAPI()


@app.get("/items/{item_id}")
async def read_item(item_id: int, q: str | None = None):
    return {"item_id": item_id, "q": q}


def handler(event, context):
    return {"routes": [route.path for route in app.routes if route.path.startswith("/items")]}
'''
LAZY_MODULE = '''
import datetime

import pydantic.v1


class Day(pydantic.v1.BaseModel):
    day: datetime.date
'''
READS_THE_TIME = '''
from datetime import date, datetime


def handler(event, context):
    return {"datetime": datetime.now().timestamp(), "date": date.today().isoformat()}
'''


def test_freezegun_never_runs_while_modules_are_imported(pytester: pytest.Pytester) -> None:
    pytester.makeini(PYTEST_INI)
    pytester.makepyfile(test_imports=IMPORTS_AND_TIME, uses_pydantic_v1=PYDANTIC_V1_MODULE,
                        fastapi_app=FASTAPI_MODULE, lazily_imported=LAZY_MODULE,
                        reads_the_time=READS_THE_TIME)
    result = pytester.runpytest_subprocess("-p", "no:randomly", timeout=180)
    result.assert_outcomes(passed=5)


# -- time-machine -----------------------------------------------------------------------------
TIME_MACHINE = '''
import asyncio
import datetime as dt
import time

import pytest
import time_machine

DESTINATION = dt.datetime(2001, 5, 5, 12, 0, tzinfo=dt.timezone.utc)


def sync_handler(event, context):
    return [dt.datetime.now(dt.timezone.utc).isoformat(), int(time.time())]


async def async_handler(event, context):
    await asyncio.sleep(1)
    return [dt.datetime.now(dt.timezone.utc).isoformat(), int(time.time())]


@pytest.mark.parametrize("handler", [sync_handler, async_handler])
def test_travel_is_seen_by_handler_code(lambda_invoker, handler):
    fn = lambda_invoker.deploy(handler)
    with time_machine.travel(DESTINATION, tick=False):
        assert fn.invoke({}).payload == [DESTINATION.isoformat(), int(DESTINATION.timestamp())]
    # Travel over: simulated time again.
    assert fn.invoke({}).payload[1] == pytest.approx(lambda_invoker.clock.time(), abs=1)


@time_machine.travel(DESTINATION, tick=False)
def test_decorated_test(lambda_invoker):
    assert lambda_invoker.deploy(sync_handler).invoke({}).payload[0] == DESTINATION.isoformat()


def test_the_time_machine_fixture(lambda_invoker, time_machine):
    time_machine.move_to(DESTINATION, tick=False)
    assert lambda_invoker.deploy(sync_handler).invoke({}).payload[0] == DESTINATION.isoformat()
'''


def test_time_machine_travel_is_seen_by_handler_code(pytester: pytest.Pytester) -> None:
    pytester.makeini(PYTEST_INI)
    pytester.makepyfile(test_travel=TIME_MACHINE)
    result = pytester.runpytest_subprocess("-p", "no:randomly", timeout=120)
    result.assert_outcomes(passed=4)


# -- test runners' and libraries' own work --------------------------------------------------------
RUNNERS_AND_LIBRARIES = '''
import asyncio

import pytest
from async_lru import alru_cache

MARK = pytest.mark.lambda_leaks(library=LIBRARY)


@pytest.fixture
def anyio_backend():
    return "asyncio"


@MARK
@pytest.mark.anyio
async def test_anyio_runner(lambda_context):
    await asyncio.sleep(0)


@MARK
@pytest.mark.asyncio(loop_scope="module")
async def test_pytest_asyncio_module_loop(lambda_context):
    await asyncio.sleep(0)


@alru_cache(ttl=60)
async def lookup(key):
    return key * 2


async def handler(event, context):
    return await lookup(event["k"])


@MARK
def test_cache_ttl_timer(lambda_invoker):
    assert lambda_invoker.deploy(handler).invoke({"k": 2}).payload == 4


@pytest.mark.anyio
async def test_the_test_bodys_own_leak_is_still_caught(lambda_context):
    asyncio.get_running_loop().call_later(30, print, "late")
'''


@pytest.mark.parametrize("library", [False, True])
def test_runner_tasks_and_library_timers_are_not_the_handlers(pytester: pytest.Pytester,
                                                              library: bool) -> None:
    pytester.makeini(PYTEST_INI)
    pytester.makepyfile(test_runners=RUNNERS_AND_LIBRARIES.replace("LIBRARY", str(library)))
    result = pytester.runpytest_subprocess("-p", "no:randomly", timeout=120)
    output = result.stdout.str()
    assert "[callback] timer print() due in" in output
    if library:
        # The documented setting reports them (anyio's runner task only where asyncio.Runner
        # cancels it: Python 3.11 and later).
        runner_reported = sys.version_info >= (3, 11)
        result.assert_outcomes(passed=4, errors=3 if runner_reported else 2)
        if runner_reported:
            assert "[cancelled-at-exit] task TestRunner._run_tests_and_fixtures()" in output
        assert "[callback] timer OrderedDict.pop() due in 60 s" in output
    else:
        result.assert_outcomes(passed=4, errors=1)
        assert "TestRunner" not in output and "OrderedDict.pop" not in output
