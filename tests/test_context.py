"""`lambda_context`, `LambdaContext` and `lambda_clock`."""

from __future__ import annotations

import re
from typing import Any

import pytest

from pytest_lambda_async import Invoker, LambdaContext, VirtualClock


def test_context_has_the_runtime_attributes_and_types(lambda_context: LambdaContext) -> None:
    ctx = lambda_context
    assert re.fullmatch(r"[0-9a-f-]{36}", ctx.aws_request_id)
    assert ctx.function_name == "test-function"
    assert ctx.function_version == "$LATEST"
    assert ctx.memory_limit_in_mb == "128"  # a str, as the runtime gives it
    assert ctx.invoked_function_arn == "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    assert ctx.log_group_name == "/aws/lambda/test-function"
    assert re.fullmatch(r"\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}", ctx.log_stream_name)
    assert ctx.tenant_id is None
    assert ctx.client_context is None
    assert ctx.identity.cognito_identity_id is None
    assert ctx.identity.cognito_identity_pool_id is None
    assert ctx.get_remaining_time_in_millis() == 3000


def test_remaining_time_follows_the_simulated_clock(
    lambda_context: LambdaContext, lambda_clock: VirtualClock
) -> None:
    lambda_clock.advance(1.25)
    assert lambda_context.get_remaining_time_in_millis() == 1750
    lambda_clock.advance(10)
    assert lambda_context.get_remaining_time_in_millis() == 0  # clamped, never negative


def test_repr_matches_the_runtime(lambda_context: LambdaContext) -> None:
    assert repr(lambda_context) == (
        f"LambdaContext([aws_request_id={lambda_context.aws_request_id},"
        f"log_group_name=/aws/lambda/test-function,"
        f"log_stream_name={lambda_context.log_stream_name},"
        "function_name=test-function,memory_limit_in_mb=128,function_version=$LATEST,"
        "invoked_function_arn=arn:aws:lambda:us-east-1:123456789012:function:test-function,"
        "client_context=None,"
        "identity=CognitoIdentity([cognito_identity_id=None,cognito_identity_pool_id=None]),"
        "tenant_id=None])"
    )


def test_log_writes_to_stdout_outside_an_invocation(
    lambda_context: LambdaContext, capsys: pytest.CaptureFixture[str]
) -> None:
    lambda_context.log("hello")
    assert capsys.readouterr().out == "hello"


@pytest.mark.lambda_function(name="orders", timeout=30, memory_size=1024, version="7",
                             region="eu-west-1", account_id="111122223333", tenant_id="t-1")
def test_marker_configures_the_context(lambda_context: LambdaContext) -> None:
    assert lambda_context.function_name == "orders"
    assert lambda_context.memory_limit_in_mb == "1024"
    assert lambda_context.function_version == "7"
    assert lambda_context.invoked_function_arn == "arn:aws:lambda:eu-west-1:111122223333:function:orders"
    assert lambda_context.tenant_id == "t-1"
    assert lambda_context.get_remaining_time_in_millis() == 30000


@pytest.mark.lambda_function(name="orders", timeout=30)
def test_marker_sets_deploy_defaults(lambda_invoker: Invoker) -> None:
    fn = lambda_invoker.deploy(lambda event, context: [context.function_name,
                                                       context.get_remaining_time_in_millis()])
    assert fn.invoke({}).payload == ["orders", 30000]


def test_module_marker_and_ini_options(pytester: pytest.Pytester) -> None:
    pytester.makeini("""
        [pytest]
        asyncio_default_fixture_loop_scope = function
        lambda_function_name = from-ini
        lambda_timeout = 20
        lambda_memory_size = 512
    """)
    pytester.makepyfile("""
        import pytest

        pytestmark = pytest.mark.lambda_function(memory_size=2048)

        def test_module_level(lambda_context):
            assert lambda_context.function_name == "from-ini"
            assert lambda_context.memory_limit_in_mb == "2048"
            assert lambda_context.get_remaining_time_in_millis() == 20000

        @pytest.mark.lambda_function(memory_size=256)
        def test_closest_marker_wins(lambda_context):
            assert lambda_context.memory_limit_in_mb == "256"
    """)
    pytester.runpytest().assert_outcomes(passed=2)


def test_bad_ini_value_is_reported(pytester: pytest.Pytester) -> None:
    pytester.makeini("""
        [pytest]
        asyncio_default_fixture_loop_scope = function
        lambda_timeout = soon
    """)
    pytester.makepyfile("def test_it(lambda_context): pass")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*lambda_timeout = 'soon' is not a valid number*"])


def test_context_satisfies_powertools_lambda_context(lambda_invoker: Invoker) -> None:
    typing = pytest.importorskip("aws_lambda_powertools.utilities.typing")
    expected = {
        name for name in dir(typing.LambdaContext)
        if not name.startswith("_")
    }
    seen: dict[str, Any] = {}

    def handler(event: Any, context: Any) -> None:
        for name in expected:
            value = getattr(context, name)
            seen[name] = value() if callable(value) else value

    lambda_invoker.deploy(handler).invoke({})
    assert set(seen) == expected
    assert seen["get_remaining_time_in_millis"] == 3000


def test_clock_now_and_advance() -> None:
    clock = VirtualClock(start=1_000_000.0)
    assert clock.time() == 1_000_000.0
    assert clock.now().timestamp() == 1_000_000.0 and clock.now().tzinfo is not None
    fired: list[float] = []
    clock.call_later(5, lambda: fired.append(clock.time()))
    clock.call_later(15, lambda: fired.append(clock.time()))
    clock.advance(10)
    assert fired == [1_000_005.0] and clock.time() == 1_000_010.0
    clock.advance(10)
    assert fired == [1_000_005.0, 1_000_015.0]
    with pytest.raises(ValueError, match="only moves forward"):
        clock.advance(-1)
