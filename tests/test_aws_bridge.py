"""The bridge follows mock_aws in every form and leaves moto exactly as it found it."""

from __future__ import annotations

import json

import boto3
import moto.s3.notifications
import pytest
from aws_support import REGION, Clients
from moto import mock_aws
from moto.awslambda.models import LambdaBackend
from moto.awslambda.models import LambdaFunction as MotoFunction
from moto.awslambda.responses import LambdaResponse
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.core.models import MockAWS
from moto.events.models import Rule
from moto.sns.models import Subscription
from moto.sqs.models import Queue

from pytest_lambda_async import aws as bridge

PATCHED = [
    (LambdaResponse, "invoke"), (LambdaResponse, "invoke_async"), (MotoFunction, "invoke"),
    (MotoFunction, "get_configuration"), (LambdaBackend, "invoke"),
    (LambdaSimpleBackend, "invoke"), (LambdaBackend, "create_function"),
    (LambdaBackend, "update_function_configuration"),
    (LambdaBackend, "put_function_event_invoke_config"),
    (LambdaBackend, "update_function_event_invoke_config"),
    (LambdaBackend, "delete_function_event_invoke_config"),
    (LambdaBackend, "put_function_concurrency"), (LambdaBackend, "delete_function_concurrency"),
    (LambdaBackend, "create_event_source_mapping"),
    (LambdaBackend, "update_event_source_mapping"), (Subscription, "publish"),
    (moto.s3.notifications, "_invoke_awslambda"), (Rule, "send_to_targets"),
    (Queue, "add_message"), (MockAWS, "_enable_patching"), (MockAWS, "_disable_patching"),
]


def snapshot() -> dict[tuple[object, str], object]:
    return {(owner, name): owner.__dict__.get(name, "<inherited>") for owner, name in PATCHED}


STOCK = snapshot()  # taken at collection, before any bridge exists


def is_stock() -> bool:
    return snapshot() == STOCK


def echo(event, context):
    return {"ran": event}


def test_leaving_mock_aws_restores_moto_exactly(lambda_invoker):
    with mock_aws():
        assert not is_stock()
        lambda_invoker.deploy(echo)
        lam = boto3.client("lambda", region_name=REGION)
        assert json.loads(lam.invoke(FunctionName="echo", Payload=b"1")["Payload"].read()) == {
            "ran": 1}
    # Only the start/stop hooks stay while the test runs; moto's own code is back.
    assert all(snapshot()[key] is STOCK[key] for key in PATCHED[:-2])
    with mock_aws():  # and a second mock_aws in the same test is bridged again
        lam = boto3.client("lambda", region_name=REGION)
        assert lam.get_function(FunctionName="echo")["Configuration"]["FunctionName"] == "echo"


def test_a_test_without_the_plugin_sees_stock_moto():
    assert is_stock()
    with mock_aws(config={"lambda": {"use_docker": False}}):
        aws = Clients()
        aws.create_function("echo", "aws_handlers.echo")
        response = aws.lam.invoke(FunctionName="echo", Payload=b'{"a": 1}')
        # moto's Docker-free Lambda echoes the payload instead of running the handler.
        assert json.loads(response["Payload"].read()) == {"a": 1}


@mock_aws
def test_the_mock_aws_decorator(lambda_invoker):
    lambda_invoker.deploy(echo)
    lam = boto3.client("lambda", region_name=REGION)
    assert lam.invoke(FunctionName="echo", InvocationType="Event")["StatusCode"] == 202
    assert [o.payload for o in lambda_invoker.run_until_idle()] == [{"ran": {}}]


def test_nested_mock_aws_keeps_the_bridge_until_the_outermost_exits(lambda_invoker):
    with mock_aws():
        lambda_invoker.deploy(echo)
        with mock_aws():
            pass
        assert not is_stock()
        lam = boto3.client("lambda", region_name=REGION)
        assert lam.invoke(FunctionName="echo", InvocationType="Event")["StatusCode"] == 202
        lambda_invoker.run_until_idle()


def test_manual_start_and_stop(lambda_invoker):
    mock = mock_aws()
    mock.start()
    try:
        lambda_invoker.deploy(echo)
        assert boto3.client("lambda", region_name=REGION).list_functions()["Functions"]
    finally:
        mock.stop()
    assert all(snapshot()[key] is STOCK[key] for key in PATCHED[:-2])


def test_the_bridge_ends_with_the_test_even_while_a_mock_is_on(pytester: pytest.Pytester):
    pytester.makeconftest("""
        import pytest
        from moto import mock_aws

        @pytest.fixture
        def aws():
            with mock_aws():
                yield
    """)
    pytester.makepyfile("""
        import boto3

        def test_uses_both(aws, lambda_invoker):
            lambda_invoker.deploy(lambda e, c: e, name="fn")
            boto3.client("lambda", region_name="us-east-1").get_function(FunctionName="fn")
    """)
    pytester.runpytest_inprocess("-p", "no:randomly").assert_outcomes(passed=1)
    assert is_stock() and bridge.active() is None


def test_a_suite_that_never_imports_moto_does_not_load_it(pytester: pytest.Pytester):
    pytester.makepyfile("""
        import sys

        def test_invoke(lambda_invoker):
            fn = lambda_invoker.deploy(lambda e, c: e, name="fn")
            assert fn.invoke(1).payload == 1
            assert "moto" not in sys.modules and "boto3" not in sys.modules
    """)
    pytester.runpytest_subprocess("-p", "no:randomly").assert_outcomes(passed=1)
