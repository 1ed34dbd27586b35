"""boto3 Invoke through moto runs handlers in-process, with AWS's answers for each invocation
type."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import boto3
import pytest
from aws_support import REGION, Clients
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws


@pytest.fixture
def aws() -> Iterator[Clients]:
    with mock_aws():
        yield Clients()


def test_deployed_functions_exist_in_moto(aws, lambda_invoker):
    lambda_invoker.deploy(lambda event, context: event, name="deployed", timeout=30,
                          memory_size=256, environment={"STAGE": "test"})
    config = aws.lam.get_function(FunctionName="deployed")["Configuration"]
    assert (config["Timeout"], config["MemorySize"]) == (30, 256)
    assert config["Environment"]["Variables"] == {"STAGE": "test"}
    assert [f["FunctionName"] for f in aws.lam.list_functions()["Functions"]] == ["deployed"]
    response = aws.lam.invoke(FunctionName="deployed", Payload=b'{"a": 1}')
    assert json.loads(response["Payload"].read()) == {"a": 1}


def test_functions_deployed_before_mock_aws_appear_when_it_starts(lambda_invoker):
    lambda_invoker.deploy(lambda event, context: "hi", name="early")
    with mock_aws():
        lam = boto3.client("lambda", region_name=REGION)
        assert lam.get_function(FunctionName="early")["Configuration"]["FunctionName"] == "early"
        assert json.loads(lam.invoke(FunctionName="early")["Payload"].read()) == "hi"


def test_request_response_answers_like_aws(aws, lambda_invoker):
    aws.create_function("echo", "aws_handlers.echo")
    aws.create_function("fail", "aws_handlers.fail")

    ok = aws.lam.invoke(FunctionName="echo", Payload=b'{"a": 1}', LogType="Tail")
    assert ok["StatusCode"] == 200
    assert ok["ExecutedVersion"] == "$LATEST"
    assert "FunctionError" not in ok
    assert json.loads(ok["Payload"].read()) == {"echo": {"a": 1}, "function": "echo"}
    log = base64.b64decode(ok["LogResult"]).decode()
    assert 'echo got {"a": 1}' in log and "REPORT RequestId:" in log

    failed = aws.lam.invoke(FunctionName="fail", Payload=b'{"b": 2}')
    assert (failed["StatusCode"], failed["FunctionError"]) == (200, "Unhandled")
    assert "LogResult" not in failed  # only with LogType=Tail
    error = json.loads(failed["Payload"].read())
    assert (error["errorType"], error["errorMessage"]) == ("RuntimeError", 'failed on {"b": 2}')

    # Created with boto3, deployed into the invoker on first use, with moto's settings.
    assert lambda_invoker.function_for_arn(
        f"arn:aws:lambda:{REGION}:123456789012:function:echo").settings.timeout == 3


def test_an_empty_payload_is_an_empty_object(aws, lambda_invoker):
    aws.create_function("echo", "aws_handlers.echo")
    response = aws.lam.invoke(FunctionName="echo")
    assert json.loads(response["Payload"].read())["echo"] == {}


def test_request_errors(aws, lambda_invoker):
    aws.create_function("echo", "aws_handlers.echo")
    with pytest.raises(ClientError) as missing:
        aws.lam.invoke(FunctionName="nope")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as bad_json:
        aws.lam.invoke(FunctionName="echo", Payload=b"{not json")
    assert bad_json.value.response["Error"]["Code"] == "InvalidRequestContentException"
    fn = lambda_invoker.function_for_arn(f"arn:aws:lambda:{REGION}:123456789012:function:echo")
    fn.inject_faults(throttles=1)
    no_retries = boto3.client("lambda", region_name=REGION,
                              config=Config(retries={"total_max_attempts": 1}))
    with pytest.raises(ClientError) as throttled:
        no_retries.invoke(FunctionName="echo", Payload=b"{}")
    assert throttled.value.response["Error"]["Code"] == "TooManyRequestsException"
    assert throttled.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429


def test_event_is_queued_with_retries_and_runs_when_drained(aws, lambda_invoker, lambda_clock):
    aws.create_function("fail", "aws_handlers.fail")
    response = aws.lam.invoke(FunctionName="fail", InvocationType="Event", Payload=b'{"n": 1}')
    assert response["StatusCode"] == 202
    assert response["Payload"].read() == b""
    fn = lambda_invoker.function_for_arn(f"arn:aws:lambda:{REGION}:123456789012:function:fail")
    assert fn.outcomes == [] and fn.invocations == []  # nothing ran inside invoke

    (outcome,) = lambda_invoker.run_until_idle()
    assert (outcome.condition, outcome.attempts, outcome.event) == (
        "RetriesExhausted", 3, {"n": 1})
    assert [round(a.started_at - outcome.accepted_at) for a in outcome.history] == [0, 60, 180]


def test_dry_run_checks_but_does_not_run(aws, lambda_invoker):
    ran = []
    lambda_invoker.deploy(lambda event, context: ran.append(event), name="dry")
    response = aws.lam.invoke(FunctionName="dry", InvocationType="DryRun", Payload=b"{}")
    assert response["StatusCode"] == 204
    assert ran == [] and lambda_invoker.run_until_idle() == []
    with pytest.raises(ClientError):
        aws.lam.invoke(FunctionName="missing", InvocationType="DryRun")


def test_legacy_invoke_async(aws, lambda_invoker):
    aws.create_function("echo", "aws_handlers.echo")
    response = aws.lam.invoke_async(FunctionName="echo", InvokeArgs=b'{"legacy": true}')
    assert response["Status"] == 202
    (outcome,) = lambda_invoker.run_until_idle()
    assert outcome.payload == {"echo": {"legacy": True}, "function": "echo"}
    with pytest.raises(ClientError) as too_large:
        aws.lam.invoke_async(FunctionName="echo", InvokeArgs=json.dumps("x" * 300_000).encode())
    assert too_large.value.response["Error"]["Code"] == "RequestTooLargeException"


def test_client_context_reaches_synchronous_invocations(aws, lambda_invoker):
    def handler(event, context):
        return context.client_context.custom

    lambda_invoker.deploy(handler, name="ctx")
    context = base64.b64encode(json.dumps({"custom": {"tenant": "t1"}}).encode()).decode()
    response = aws.lam.invoke(FunctionName="ctx", ClientContext=context)
    assert json.loads(response["Payload"].read()) == {"tenant": "t1"}


def test_a_handler_invokes_another_function_synchronously_with_boto3(aws, lambda_invoker):
    aws.create_function("echo", "aws_handlers.echo")
    aws.create_function("caller", "aws_handlers.call_other")
    response = aws.lam.invoke(FunctionName="caller",
                              Payload=json.dumps({"target": "echo", "payload": {"x": 1}}))
    assert "FunctionError" not in response
    assert json.loads(response["Payload"].read()) == {
        "inner": {"echo": {"x": 1}, "function": "echo"}, "region": REGION}


def test_qualifier_resolves_versions_and_aliases(aws, lambda_invoker):
    aws.create_function("echo", "aws_handlers.echo")
    version = aws.lam.publish_version(FunctionName="echo")["Version"]
    aws.lam.create_alias(FunctionName="echo", Name="live", FunctionVersion=version)
    response = aws.lam.invoke(FunctionName="echo", Qualifier="live", Payload=b"{}")
    assert response["ExecutedVersion"] == version == "1"
    with pytest.raises(ClientError):
        aws.lam.invoke(FunctionName="echo", Qualifier="nope")


def test_functions_whose_handler_is_not_importable_stay_with_moto(lambda_invoker):
    # moto's Docker-free mode echoes the payload back: that is what such a function does.
    with mock_aws(config={"lambda": {"use_docker": False}}):
        aws = Clients()
        aws.create_function("zipped", "not_on_this_path.handler")
        response = aws.lam.invoke(FunctionName="zipped", Payload=b'{"a": 1}')
        assert json.loads(response["Payload"].read()) == {"a": 1}
        assert lambda_invoker.functions == []
        aws.create_function("echo", "aws_handlers.echo")  # and an importable one runs here
        response = aws.lam.invoke(FunctionName="echo", Payload=b'{"a": 1}')
        assert json.loads(response["Payload"].read())["function"] == "echo"
