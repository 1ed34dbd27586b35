"""The plugin installed into suites that already exist: it changes none of their outcomes."""

from __future__ import annotations

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
