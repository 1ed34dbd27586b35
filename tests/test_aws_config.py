"""Async configuration set with boto3 (event-invoke configs, DLQs, concurrency) steers the
invoker."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from aws_support import REGION, Clients
from botocore.exceptions import ClientError
from moto import mock_aws

ARN = f"arn:aws:lambda:{REGION}:123456789012:function:"


@pytest.fixture
def aws() -> Iterator[Clients]:
    with mock_aws():
        yield Clients()


def fail_async(aws, lambda_invoker, name="fail"):
    aws.lam.invoke(FunctionName=name, InvocationType="Event", Payload=b'{"n": 1}')
    (outcome,) = lambda_invoker.run_until_idle()
    return outcome


def test_put_update_delete_event_invoke_config(aws, lambda_invoker):
    aws.create_function("fail", "aws_handlers.fail")
    _, failures = aws.queue("failures")
    aws.lam.put_function_event_invoke_config(
        FunctionName="fail", MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": failures}})
    outcome = fail_async(aws, lambda_invoker)
    assert outcome.attempts == 1

    # Update patches: the destination stays, the retries change.
    aws.lam.update_function_event_invoke_config(FunctionName="fail", MaximumRetryAttempts=1)
    config = aws.lam.get_function_event_invoke_config(FunctionName="fail")
    assert config["MaximumRetryAttempts"] == 1
    assert config["DestinationConfig"]["OnFailure"]["Destination"] == failures
    assert fail_async(aws, lambda_invoker).attempts == 2

    # Put replaces the whole configuration.
    aws.lam.put_function_event_invoke_config(FunctionName="fail", MaximumEventAgeInSeconds=90)
    outcome = fail_async(aws, lambda_invoker)
    assert (outcome.condition, outcome.attempts) == ("EventAgeExceeded", 2)
    fn = lambda_invoker.function_for_arn(ARN + "fail")
    assert fn.settings.on_failure is None

    aws.lam.delete_function_event_invoke_config(FunctionName="fail")
    assert fail_async(aws, lambda_invoker).attempts == 3
    assert fn.settings.maximum_event_age_in_seconds == 21600


def test_config_set_before_the_first_invoke_is_read_at_deploy(aws, lambda_invoker):
    aws.create_function("fail", "aws_handlers.fail", Timeout=10, MemorySize=512,
                        Environment={"Variables": {"GREETING": "hi"}})
    aws.lam.put_function_event_invoke_config(FunctionName="fail", MaximumRetryAttempts=1)
    aws.lam.put_function_concurrency(FunctionName="fail", ReservedConcurrentExecutions=5)
    assert fail_async(aws, lambda_invoker).attempts == 2
    settings = lambda_invoker.function_for_arn(ARN + "fail").settings
    assert (settings.timeout, settings.memory_size, dict(settings.environment)) == (
        10, 512, {"GREETING": "hi"})
    assert settings.reserved_concurrent_executions == 5


def test_invalid_destinations_are_refused_like_aws(aws, lambda_invoker):
    aws.create_function("fail", "aws_handlers.fail")
    with pytest.raises(ClientError) as error:
        aws.lam.put_function_event_invoke_config(
            FunctionName="fail",
            DestinationConfig={"OnSuccess": {"Destination": "arn:aws:s3:::bucket"}})
    assert error.value.response["Error"]["Code"] == "InvalidParameterValueException"


def test_dead_letter_config_on_create_and_update(aws, lambda_invoker):
    dlq_url, dlq_arn = aws.queue("dlq")
    aws.create_function("fail", "aws_handlers.fail", DeadLetterConfig={"TargetArn": dlq_arn})
    assert aws.lam.get_function_configuration(FunctionName="fail")["DeadLetterConfig"] == {
        "TargetArn": dlq_arn}
    outcome = fail_async(aws, lambda_invoker)
    (message,) = aws.receive(dlq_url)
    assert json.loads(message["Body"]) == {"n": 1}
    attributes = message["MessageAttributes"]
    assert attributes["RequestID"]["StringValue"] == outcome.request_id
    assert attributes["ErrorCode"] == {"StringValue": "200", "DataType": "Number"}
    assert attributes["ErrorMessage"]["StringValue"] == 'failed on {"n": 1}'

    other_url, other_arn = aws.queue("other-dlq")
    aws.lam.update_function_configuration(FunctionName="fail",
                                          DeadLetterConfig={"TargetArn": other_arn})
    fail_async(aws, lambda_invoker)
    assert len(aws.receive(other_url)) == 1
    aws.lam.update_function_configuration(FunctionName="fail", DeadLetterConfig={"TargetArn": ""})
    fail_async(aws, lambda_invoker)
    assert aws.receive(other_url) == [] and aws.receive(dlq_url) == []
    assert "DeadLetterConfig" not in aws.lam.get_function_configuration(FunctionName="fail")


def test_zero_reserved_concurrency_sends_events_straight_to_the_dlq(aws, lambda_invoker):
    dlq_url, dlq_arn = aws.queue("dlq")
    aws.create_function("echo", "aws_handlers.echo", DeadLetterConfig={"TargetArn": dlq_arn})
    aws.lam.put_function_concurrency(FunctionName="echo", ReservedConcurrentExecutions=0)
    outcome = fail_async(aws, lambda_invoker, "echo")
    assert (outcome.condition, outcome.attempts) == ("ZeroReservedConcurrency", 0)
    (message,) = aws.receive(dlq_url)
    assert message["MessageAttributes"]["ErrorCode"]["StringValue"] == "429"

    aws.lam.delete_function_concurrency(FunctionName="echo")
    assert fail_async(aws, lambda_invoker, "echo").condition == "Success"


def test_update_function_configuration_gives_new_environments(aws, lambda_invoker):
    aws.create_function("settings", "aws_handlers.settings",
                        Environment={"Variables": {"GREETING": "hello"}})

    def invoke():
        return json.loads(aws.lam.invoke(FunctionName="settings")["Payload"].read())

    assert invoke()["greeting"] == "hello"
    aws.lam.update_function_configuration(
        FunctionName="settings", Environment={"Variables": {"GREETING": "bonjour"}},
        MemorySize=1024, Timeout=60)
    result = invoke()
    assert (result["greeting"], result["memory"]) == ("bonjour", "1024")
    assert 59_000 < result["remaining_ms"] <= 60_000
    fn = lambda_invoker.function_for_arn(ARN + "settings")
    assert [env.invocations for env in fn.environments] == [1, 1]  # a cold start after the update


def test_update_function_configuration_changes_the_handler(aws, lambda_invoker):
    aws.create_function("swap", "aws_handlers.echo")
    assert "echo" in json.loads(aws.lam.invoke(FunctionName="swap")["Payload"].read())
    aws.lam.update_function_configuration(FunctionName="swap", Handler="aws_handlers.fail")
    assert aws.lam.invoke(FunctionName="swap")["FunctionError"] == "Unhandled"


def test_deployed_settings_show_in_moto(aws, lambda_invoker):
    _, failures = aws.queue("failures")
    lambda_invoker.deploy(lambda e, c: None, name="configured", maximum_retry_attempts=1,
                          on_failure=failures, reserved_concurrent_executions=3)
    config = aws.lam.get_function_event_invoke_config(FunctionName="configured")
    assert config["MaximumRetryAttempts"] == 1
    assert config["DestinationConfig"]["OnFailure"]["Destination"] == failures
    concurrency = aws.lam.get_function_concurrency(FunctionName="configured")
    assert concurrency["ReservedConcurrentExecutions"] == 3
